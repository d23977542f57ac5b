/**
 * Named counters for a network backend's inspect tree: frames dropped by
 * reason, sockets opened, bytes moved. Names are created on first use, so a
 * new drop reason needs no registration.
 */
import { inspect, type InspectNode } from '../bus/device.js';

/** A set of monotonically growing counters keyed by name. */
export class Counters {
  private readonly counts = new Map<string, number>();

  /** Adds n (default 1) to the named counter. */
  add(name: string, n = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + n);
  }

  /** The current value of a counter (0 if never counted). */
  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  /** All counters as inspect leaves, sorted by name for stable output. */
  node(): InspectNode {
    const out: Record<string, InspectNode> = {};
    for (const name of [...this.counts.keys()].sort()) out[name] = inspect.counter(this.counts.get(name)!);
    return { children: out };
  }
}
