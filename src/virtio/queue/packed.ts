/**
 * The packed virtqueue (virtio 1.2, 2.8): one ring of descriptors that
 * the driver makes available and the device marks used in place, with
 * wrap counters telling the two apart, plus an event suppression
 * structure each way.
 *
 * Untrusted chains are bounded as in split.ts: at most `size` descriptors
 * per chain, indirect tables of at most MAX_INDIRECT entries and never
 * nested, every buffer in RAM, no zero lengths, no readable buffer after a
 * writable one. The buffer ID comes from the chain's last descriptor
 * (2.8.6); a used element is written at the next used slot and skips as
 * many slots as the chain took.
 *
 * DEVNOTE: the device never writes its own event suppression structure:
 * the driver zeroes it (ENABLE), so it always kicks, which is what a
 * synchronous notify path wants. Interrupt suppression follows QEMU's
 * vring_packed_need_event(): across a wrap it may interrupt once too
 * often, never once too few.
 */
import type { GuestMemory } from '../../memory/guest-memory.js';
import {
  DESC_F_AVAIL,
  DESC_F_INDIRECT,
  DESC_F_NEXT,
  DESC_F_USED,
  DESC_F_WRITE,
  DESC_SIZE,
  MAX_QUEUE_SIZE,
  RING_EVENT_FLAGS_DESC,
  RING_EVENT_FLAGS_DISABLE,
} from '../regs.js';
import { type DescriptorChain, QueueError, type Segment } from './chain.js';
import type { QueueFeatures, QueueLayout, QueuePosition, VirtQueue } from './queue.js';
import { put16, put32, u16, u32 } from './le-bytes.js';
import { MAX_INDIRECT } from './split.js';

/** Bytes of an event suppression structure (off_wrap, flags). */
export const EVENT_SUPPRESSION_SIZE = 4;

/** A live packed virtqueue. */
export class PackedQueue implements VirtQueue {
  readonly size: number;
  private readonly ring: Uint8Array;
  private readonly driverEvent: Uint8Array;
  private readonly ringGpa: number;
  private nextAvail: number;
  private availWrap: number;
  private nextUsed: number;
  private usedWrap: number;
  private signalled: number;
  // Slots taken by recent pops, newest last, so unpop() can rewind.
  private readonly recent: number[] = [];
  /** Chains popped and not yet pushed. */
  outstanding = 0;

  /** Throws QueueError when the layout is unusable (size, alignment, not RAM). */
  constructor(
    readonly index: number,
    layout: QueueLayout,
    private readonly memory: GuestMemory,
    private readonly features: QueueFeatures,
    position?: QueuePosition,
  ) {
    const { size } = layout;
    if (!(size >= 1 && size <= MAX_QUEUE_SIZE) || !Number.isInteger(size)) throw new QueueError(index, `size ${size} is not 1..32768`);
    if (layout.desc % 16 !== 0 || layout.driver % 4 !== 0 || layout.device % 4 !== 0) {
      throw new QueueError(index, 'ring areas are misaligned (descriptors 16, event structures 4 bytes)');
    }
    this.size = size;
    this.ring = this.area(layout.desc, DESC_SIZE * size, 'descriptor ring');
    this.driverEvent = this.area(layout.driver, EVENT_SUPPRESSION_SIZE, 'driver event suppression');
    this.area(layout.device, EVENT_SUPPRESSION_SIZE, 'device event suppression');
    this.ringGpa = layout.desc;
    this.nextAvail = Math.min(position?.nextAvail ?? 0, size - 1);
    this.availWrap = position?.availWrap === 0 ? 0 : 1;
    this.nextUsed = Math.min(position?.nextUsed ?? 0, size - 1);
    this.usedWrap = position?.usedWrap === 0 ? 0 : 1;
    this.signalled = position?.signalled ?? -1;
  }

  private area(gpa: number, len: number, what: string): Uint8Array {
    try {
      return this.memory.view(gpa, len);
    } catch {
      throw new QueueError(this.index, `${what} at 0x${gpa.toString(16)} (+${len}) is not in guest RAM`);
    }
  }

  pop(): DescriptorChain | null {
    const flags = u16(this.ring, this.nextAvail * DESC_SIZE + 14);
    const avail = (flags & DESC_F_AVAIL) !== 0 ? 1 : 0;
    const used = (flags & DESC_F_USED) !== 0 ? 1 : 0;
    if (avail !== this.availWrap || used === this.availWrap) return null;
    const readable: Segment[] = [];
    const writable: Segment[] = [];
    const acc = { readableBytes: 0, writableBytes: 0 };
    let i = this.nextAvail;
    let wrap = this.availWrap;
    let count = 0;
    let id = 0;
    for (;;) {
      if (++count > this.size) throw new QueueError(this.index, `chain at ${this.nextAvail} is longer than the ring`);
      const o = i * DESC_SIZE;
      const addr = this.address(this.ring, o);
      const len = u32(this.ring, o + 8);
      id = u16(this.ring, o + 12);
      const f = u16(this.ring, o + 14);
      if (++i === this.size) {
        i = 0;
        wrap ^= 1;
      }
      if (f & DESC_F_INDIRECT) {
        if (!this.features.indirect) throw new QueueError(this.index, 'indirect descriptor without VIRTIO_F_INDIRECT_DESC');
        if (count !== 1 || f & DESC_F_NEXT) throw new QueueError(this.index, 'indirect descriptor inside a chain');
        this.readIndirect(addr, len, readable, writable, acc);
        break;
      }
      this.addSegment(addr, len, (f & DESC_F_WRITE) !== 0, readable, writable, acc);
      if (!(f & DESC_F_NEXT)) break;
    }
    if (id >= this.size) throw new QueueError(this.index, `buffer id ${id} is out of range`);
    this.nextAvail = i;
    this.availWrap = wrap;
    this.recent.push(count);
    if (this.recent.length > this.size) this.recent.shift();
    this.outstanding++;
    return { head: id, readable, writable, ...acc, descCount: count };
  }

  private address(b: Uint8Array, o: number): number {
    const lo = u32(b, o);
    const hi = u32(b, o + 4);
    return hi < 0x20_0000 ? hi * 2 ** 32 + lo : -1;
  }

  private readIndirect(addr: number, len: number, readable: Segment[], writable: Segment[], acc: { readableBytes: number; writableBytes: number }): void {
    if (len === 0 || len % DESC_SIZE !== 0 || len / DESC_SIZE > MAX_INDIRECT) throw new QueueError(this.index, `indirect table of ${len} bytes`);
    const table = this.area(addr, len, 'indirect table');
    for (let k = 0; k < len / DESC_SIZE; k++) {
      const o = k * DESC_SIZE;
      const f = u16(table, o + 14);
      if (f & DESC_F_INDIRECT) throw new QueueError(this.index, 'indirect table inside an indirect table');
      this.addSegment(this.address(table, o), u32(table, o + 8), (f & DESC_F_WRITE) !== 0, readable, writable, acc);
    }
  }

  private addSegment(addr: number, len: number, write: boolean, readable: Segment[], writable: Segment[], acc: { readableBytes: number; writableBytes: number }): void {
    if (len === 0) throw new QueueError(this.index, 'zero-length buffer');
    if (addr < 0 || !this.memory.isRam(addr, len)) throw new QueueError(this.index, `buffer at 0x${addr.toString(16)} (+${len}) is not in guest RAM`);
    if (write) {
      writable.push({ addr, len });
      acc.writableBytes += len;
    } else {
      if (writable.length > 0) throw new QueueError(this.index, 'device-readable buffer after a writable one');
      readable.push({ addr, len });
      acc.readableBytes += len;
    }
  }

  unpop(count: number): void {
    for (let k = 0; k < count && this.recent.length > 0 && this.outstanding > 0; k++) {
      const slots = this.recent.pop()!;
      this.nextAvail -= slots;
      if (this.nextAvail < 0) {
        this.nextAvail += this.size;
        this.availWrap ^= 1;
      }
      this.outstanding--;
    }
  }

  push(chain: DescriptorChain, written: number): void {
    const o = this.nextUsed * DESC_SIZE;
    put32(this.ring, o + 8, written >>> 0);
    put16(this.ring, o + 12, chain.head);
    // The flags publish the element: written last.
    const w = this.usedWrap ? DESC_F_AVAIL | DESC_F_USED : 0;
    put16(this.ring, o + 14, w | (written > 0 ? DESC_F_WRITE : 0));
    this.memory.markDirty(this.ringGpa + o + 8, 8);
    this.nextUsed += chain.descCount ?? 1;
    if (this.nextUsed >= this.size) {
      this.nextUsed -= this.size;
      this.usedWrap ^= 1;
    }
    this.recent.length = 0;
    if (this.outstanding > 0) this.outstanding--;
  }

  needsInterrupt(): boolean {
    const old = this.signalled;
    const now = this.nextUsed | (this.usedWrap << 15);
    this.signalled = now;
    if (old === now) return false;
    const flags = u16(this.driverEvent, 2);
    if (flags === RING_EVENT_FLAGS_DISABLE) return false;
    if (flags !== RING_EVENT_FLAGS_DESC || !this.features.eventIdx || old < 0) return true;
    const offWrap = u16(this.driverEvent, 0);
    let off = offWrap & 0x7fff;
    if (offWrap >>> 15 !== this.usedWrap) off -= this.size;
    const n = this.nextUsed;
    const o = old & 0x7fff;
    return ((n - off - 1) & 0xffff) < ((n - o) & 0xffff);
  }

  position(): QueuePosition {
    return { nextAvail: this.nextAvail, nextUsed: this.nextUsed, availWrap: this.availWrap, usedWrap: this.usedWrap, signalled: this.signalled };
  }
}
