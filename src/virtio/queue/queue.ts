/**
 * What a device model sees of one virtqueue, whatever its layout (split
 * or packed): take the next available chain, give chains back as used,
 * and ask whether the driver wants an interrupt for them.
 */
import type { DescriptorChain } from './chain.js';

/** Where the driver put a queue and how it set it up. */
export interface QueueLayout {
  /** Entries (a power of two for split queues). */
  readonly size: number;
  /** Guest-physical addresses of the descriptor area, driver area and device area. */
  readonly desc: number;
  readonly driver: number;
  readonly device: number;
}

/** Negotiated features that change how a queue behaves. */
export interface QueueFeatures {
  readonly eventIdx: boolean;
  readonly indirect: boolean;
}

/** Ring positions that survive a snapshot (the rest lives in guest memory). */
export interface QueuePosition {
  /** Split: next avail index to read. Packed: next descriptor slot to read. */
  readonly nextAvail: number;
  /** Split: next used index to write. Packed: next descriptor slot to write. */
  readonly nextUsed: number;
  /** Packed only: the driver and device wrap counters (1 or 0). */
  readonly availWrap?: number;
  readonly usedWrap?: number;
  /** Used index at the last interrupt decision (EVENT_IDX), or -1. */
  readonly signalled: number;
}

/** One live virtqueue. */
export interface VirtQueue {
  readonly index: number;
  readonly size: number;
  /**
   * The next available chain, or null when the driver has made none
   * available. Throws QueueError when the ring or the chain is broken.
   */
  pop(): DescriptorChain | null;
  /** Puts back the last `count` chains pop() returned that were not pushed (a receive that did not fit). */
  unpop(count: number): void;
  /** Returns a chain to the driver with `written` bytes written into its writable buffers. */
  push(chain: DescriptorChain, written: number): void;
  /**
   * Whether the driver wants an interrupt for the chains pushed since the
   * last call (EVENT_IDX's used_event, or the NO_INTERRUPT flag).
   */
  needsInterrupt(): boolean;
  /** Ring positions for saved state. */
  position(): QueuePosition;
  /** Chains popped and not yet pushed (for inspect). */
  readonly outstanding: number;
}
