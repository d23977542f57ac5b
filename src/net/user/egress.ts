/**
 * The queue of frames on their way to the guest. The NIC's deliver() says
 * when the guest has no room; frames then wait here, bounded, until
 * resume(). Bulk senders (TCP) look at `congested` and hold their data
 * (where it is already bounded per connection) instead of filling the queue.
 */
import type { FrameSink } from '../backend.js';
import type { Counters } from '../counters.js';

/** Bounds of the queue toward the guest. */
export interface EgressLimits {
  /** Frames queued before `congested` turns true. */
  readonly highWater: number;
  /** Frames queued before new ones are dropped. */
  readonly maxFrames: number;
}

/** Default bounds: a few hundred KiB of full-size frames, 1 MiB at most. */
export const DEFAULT_EGRESS_LIMITS: EgressLimits = { highWater: 128, maxFrames: 768 };

/** Frames waiting for the guest, in order. */
export class Egress {
  /** Set by the NIC (through the backend). */
  deliver: FrameSink | null = null;
  /** Called when the queue falls back below half the high-water mark after being congested. */
  onDrain: () => void = () => {};
  private queue: Uint8Array[] = [];
  private head = 0;
  private blocked = false;
  private flushing = false;
  private wasCongested = false;

  constructor(
    private readonly counters: Counters,
    private readonly limits: EgressLimits = DEFAULT_EGRESS_LIMITS,
  ) {}

  /** Frames waiting. */
  get length(): number {
    return this.queue.length - this.head;
  }

  /** True when bulk data should wait for onDrain. */
  get congested(): boolean {
    const c = this.length >= this.limits.highWater;
    if (c) this.wasCongested = true;
    return c;
  }

  /** Hands a frame to the guest, or queues it; returns false when the queue is full and it was dropped. */
  push(frame: Uint8Array): boolean {
    if (this.length === 0 && !this.blocked && !this.flushing && this.deliver !== null) {
      if (this.deliver(frame)) {
        this.counters.add('rx-frames');
        return true;
      }
      this.blocked = true;
    }
    if (this.length >= this.limits.maxFrames) {
      this.counters.add('drop.rx-queue-full');
      return false;
    }
    this.queue.push(frame);
    if (!this.blocked && !this.flushing && this.deliver !== null) this.flush();
    return true;
  }

  /** The guest has room again (or deliver was just set): hand over what waits. */
  resume(): void {
    this.blocked = false;
    this.flush();
  }

  /** Delivers queued frames until the guest refuses one. */
  flush(): void {
    if (this.flushing) return; // deliver() called back into us; the outer loop continues
    this.flushing = true;
    try {
      while (this.head < this.queue.length && !this.blocked && this.deliver !== null) {
        if (!this.deliver(this.queue[this.head]!)) {
          this.blocked = true;
          break;
        }
        this.counters.add('rx-frames');
        this.head++;
      }
      // Compact occasionally rather than shift() per frame.
      if (this.head > 64 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
    } finally {
      this.flushing = false;
    }
    if (this.wasCongested && this.length <= this.limits.highWater >> 1) {
      this.wasCongested = false;
      this.onDrain();
    }
  }

  /** Drops everything queued (backend closing). */
  clear(): void {
    this.queue = [];
    this.head = 0;
  }

  /** Whether the NIC last said it had no room. */
  get isBlocked(): boolean {
    return this.blocked;
  }
}
