/**
 * A descriptor chain as the device sees it once its ring has been walked
 * and checked: the device-readable buffers, then the device-writable ones,
 * each a range of guest RAM. Gather/scatter copy between a chain and host
 * bytes at a byte offset, across buffer boundaries: the spec forbids a
 * device from assuming any particular framing (2.6.4).
 */
import type { GuestMemory } from '../../memory/guest-memory.js';

/** One buffer: `len` bytes of guest RAM at `addr` (checked to be RAM when the chain was read). */
export interface Segment {
  readonly addr: number;
  readonly len: number;
}

/** A chain the driver made available. */
export interface DescriptorChain {
  /** The head descriptor index: the id the used ring returns. */
  readonly head: number;
  /** Device-readable buffers, in order. */
  readonly readable: readonly Segment[];
  /** Device-writable buffers, in order (all after the readable ones). */
  readonly writable: readonly Segment[];
  /** Total bytes of the readable buffers. */
  readonly readableBytes: number;
  /** Total bytes of the writable buffers. */
  readonly writableBytes: number;
  /** Ring slots the chain took (packed rings skip this many when it is used); 1 if absent. */
  readonly descCount?: number;
}

/**
 * The driver broke the ring or a chain (a loop, an index out of range, a
 * buffer outside RAM, a nested indirect table...). The device cannot go
 * on: it sets DEVICE_NEEDS_RESET (spec 2.1.1).
 */
export class QueueError extends Error {
  constructor(
    readonly queue: number,
    message: string,
  ) {
    super(`queue ${queue}: ${message}`);
    this.name = 'QueueError';
  }
}

/** Sums segment lengths. */
export function totalBytes(segs: readonly Segment[]): number {
  let n = 0;
  for (const s of segs) n += s.len;
  return n;
}

/**
 * Copies up to `into.length` bytes of the chain's buffers, starting
 * `offset` bytes in, into `into`; returns how many were copied.
 */
export function gather(memory: GuestMemory, segs: readonly Segment[], offset: number, into: Uint8Array): number {
  let skip = offset;
  let done = 0;
  for (const s of segs) {
    if (done >= into.length) break;
    if (skip >= s.len) {
      skip -= s.len;
      continue;
    }
    const n = Math.min(s.len - skip, into.length - done);
    into.set(memory.view(s.addr + skip, n), done);
    done += n;
    skip = 0;
  }
  return done;
}

/**
 * Copies `data` into the chain's buffers starting `offset` bytes in, as far
 * as they reach; marks the pages dirty; returns how many bytes were written.
 */
export function scatter(memory: GuestMemory, segs: readonly Segment[], offset: number, data: Uint8Array): number {
  let skip = offset;
  let done = 0;
  for (const s of segs) {
    if (done >= data.length) break;
    if (skip >= s.len) {
      skip -= s.len;
      continue;
    }
    const n = Math.min(s.len - skip, data.length - done);
    memory.view(s.addr + skip, n).set(data.subarray(done, done + n));
    memory.markDirty(s.addr + skip, n);
    done += n;
    skip = 0;
  }
  return done;
}

/** The segments covering bytes [offset, offset + length) of `segs` (clipped at their end). */
export function sliceSegments(segs: readonly Segment[], offset: number, length: number): Segment[] {
  const out: Segment[] = [];
  let skip = offset;
  let left = length;
  for (const s of segs) {
    if (left <= 0) break;
    if (skip >= s.len) {
      skip -= s.len;
      continue;
    }
    const n = Math.min(s.len - skip, left);
    out.push({ addr: s.addr + skip, len: n });
    left -= n;
    skip = 0;
  }
  return out;
}
