/**
 * Counters every backend keeps for inspect(): requests by kind, bytes and
 * failures. They only grow.
 */
import { inspect, type InspectNode } from '../bus/device.js';

/** Request counters shared by the backends. */
export class DiskCounters {
  reads = 0;
  writes = 0;
  flushes = 0;
  discards = 0;
  writeZeroes = 0;
  bytesRead = 0;
  bytesWritten = 0;
  /** Requests that rejected (any DiskError). */
  errors = 0;

  /** Counts a request's outcome: passes the promise through, counting a rejection. */
  track<T>(p: Promise<T>): Promise<T> {
    return p.catch((err: unknown) => {
      this.errors++;
      throw err;
    });
  }

  /** The counters as inspect children. */
  inspect(): Record<string, InspectNode> {
    return {
      reads: inspect.counter(this.reads),
      writes: inspect.counter(this.writes),
      flushes: inspect.counter(this.flushes),
      discards: inspect.counter(this.discards),
      writeZeroes: inspect.counter(this.writeZeroes),
      bytesRead: inspect.counter(this.bytesRead),
      bytesWritten: inspect.counter(this.bytesWritten),
      errors: inspect.counter(this.errors),
    };
  }
}

/** A guest-visible serial (virtio-blk GET_ID) from a file name: printable ASCII, at most 20 bytes. */
export function serialFromName(name: string): string {
  return name.replace(/[^\x21-\x7e]/g, '_').slice(-20);
}
