/**
 * The split virtqueue (virtio 1.2, 2.7): a descriptor table, the driver's
 * available ring and the device's used ring, each in guest RAM.
 *
 * Every chain is untrusted. Walking one is bounded: at most `size`
 * descriptors in the table, at most MAX_INDIRECT in an indirect table,
 * every `next` in range, no indirect table inside another, no buffer
 * outside RAM, no zero-length buffer, no readable buffer after a writable
 * one. Anything else is a QueueError and the device needs a reset; the
 * walk never loops and never reads outside what was checked.
 *
 * DEVNOTE: the three ring areas are checked to be RAM once, when the queue
 * goes live, and kept as views; chains' buffers are checked as they are
 * read. Ring fields are read byte-wise (little-endian) rather than through
 * DataView objects: no allocation per access.
 */
import type { GuestMemory } from '../../memory/guest-memory.js';
import { AVAIL_F_NO_INTERRUPT, DESC_F_INDIRECT, DESC_F_NEXT, DESC_F_WRITE, DESC_SIZE, MAX_QUEUE_SIZE } from '../regs.js';
import { type DescriptorChain, QueueError, type Segment } from './chain.js';
import type { QueueFeatures, QueueLayout, QueuePosition, VirtQueue } from './queue.js';
import { put16, put32, u16, u32 } from './le-bytes.js';

/** Most entries an indirect table may hold (as QEMU's VIRTQUEUE_MAX_SIZE). */
export const MAX_INDIRECT = 1024;

/** Bytes of each split-ring area for a queue of `size` entries (with the EVENT_IDX fields). */
export function splitRingSizes(size: number): { desc: number; avail: number; used: number } {
  return { desc: DESC_SIZE * size, avail: 6 + 2 * size, used: 6 + 8 * size };
}

/** A live split virtqueue. */
export class SplitQueue implements VirtQueue {
  readonly size: number;
  private readonly usedGpa: number;
  private readonly descView: Uint8Array;
  private readonly availView: Uint8Array;
  private readonly usedView: Uint8Array;
  private nextAvail: number;
  private usedIdx: number;
  private signalled: number;
  /** Chains popped and not yet pushed. */
  outstanding = 0;

  /** Throws QueueError when the layout is unusable (not a power of two, misaligned, not RAM). */
  constructor(
    readonly index: number,
    layout: QueueLayout,
    private readonly memory: GuestMemory,
    private readonly features: QueueFeatures,
    position?: QueuePosition,
  ) {
    const { size } = layout;
    if (!(size >= 1 && size <= MAX_QUEUE_SIZE) || (size & (size - 1)) !== 0) throw new QueueError(index, `size ${size} is not a power of two up to 32768`);
    if (layout.desc % 16 !== 0 || layout.driver % 2 !== 0 || layout.device % 4 !== 0) {
      throw new QueueError(index, 'ring areas are misaligned (descriptors 16, available 2, used 4 bytes)');
    }
    this.size = size;
    const s = splitRingSizes(size);
    this.descView = this.area(layout.desc, s.desc, 'descriptor table');
    this.availView = this.area(layout.driver, s.avail, 'available ring');
    this.usedView = this.area(layout.device, s.used, 'used ring');
    this.usedGpa = layout.device;
    this.nextAvail = (position?.nextAvail ?? 0) & 0xffff;
    this.usedIdx = (position?.nextUsed ?? 0) & 0xffff;
    this.signalled = position?.signalled ?? -1;
    if (features.eventIdx) this.setAvailEvent();
  }

  private area(gpa: number, len: number, what: string): Uint8Array {
    try {
      return this.memory.view(gpa, len);
    } catch {
      throw new QueueError(this.index, `${what} at 0x${gpa.toString(16)} (+${len}) is not in guest RAM`);
    }
  }

  /** Asks the driver to notify once it adds past what has been read (EVENT_IDX avail_event). */
  private setAvailEvent(): void {
    const off = 4 + 8 * this.size;
    put16(this.usedView, off, this.nextAvail);
    this.memory.markDirty(this.usedGpa + off, 2);
  }

  pop(): DescriptorChain | null {
    let availIdx = u16(this.availView, 2);
    if (availIdx === this.nextAvail) {
      if (!this.features.eventIdx) return null;
      // Publish how far we read, then look again: the driver may have added meanwhile.
      this.setAvailEvent();
      availIdx = u16(this.availView, 2);
      if (availIdx === this.nextAvail) return null;
    }
    const pending = (availIdx - this.nextAvail) & 0xffff;
    if (pending > this.size) throw new QueueError(this.index, `available index moved ${pending} entries ahead of a ${this.size}-entry queue`);
    const head = u16(this.availView, 4 + 2 * (this.nextAvail & (this.size - 1)));
    const chain = this.readChain(head);
    this.nextAvail = (this.nextAvail + 1) & 0xffff;
    this.outstanding++;
    return chain;
  }

  unpop(count: number): void {
    const n = Math.min(count, this.outstanding);
    this.nextAvail = (this.nextAvail - n) & 0xffff;
    this.outstanding -= n;
  }

  /** Walks the chain starting at descriptor `head`; throws QueueError if it is malformed. */
  readChain(head: number): DescriptorChain {
    if (head >= this.size) throw new QueueError(this.index, `head descriptor ${head} is out of range`);
    const readable: Segment[] = [];
    const writable: Segment[] = [];
    let readableBytes = 0;
    let writableBytes = 0;
    let table = this.descView;
    let tableLen = this.size;
    let i = head;
    let steps = 0;
    let indirect = false;
    for (;;) {
      if (++steps > tableLen) throw new QueueError(this.index, `chain at ${head} is longer than its table (a loop?)`);
      const o = i * DESC_SIZE;
      const lo = u32(table, o);
      const hi = u32(table, o + 4);
      const len = u32(table, o + 8);
      const flags = u16(table, o + 12);
      const next = u16(table, o + 14);
      // Above 2^53 an address is not even a safe integer: certainly not RAM.
      const addr = hi < 0x20_0000 ? hi * 2 ** 32 + lo : -1;
      if (flags & DESC_F_INDIRECT) {
        if (!this.features.indirect) throw new QueueError(this.index, 'indirect descriptor without VIRTIO_F_INDIRECT_DESC');
        if (indirect) throw new QueueError(this.index, 'indirect table inside an indirect table');
        if (flags & DESC_F_NEXT) throw new QueueError(this.index, 'indirect descriptor with NEXT set');
        if (len === 0 || len % DESC_SIZE !== 0 || len / DESC_SIZE > MAX_INDIRECT) {
          throw new QueueError(this.index, `indirect table of ${len} bytes`);
        }
        table = this.area(addr, len, 'indirect table');
        tableLen = len / DESC_SIZE;
        indirect = true;
        i = 0;
        steps = 0;
        continue;
      }
      if (len === 0) throw new QueueError(this.index, `zero-length buffer in chain at ${head}`);
      if (addr < 0 || !this.memory.isRam(addr, len)) {
        throw new QueueError(this.index, `buffer at 0x${addr.toString(16)} (+${len}) is not in guest RAM`);
      }
      if (flags & DESC_F_WRITE) {
        writable.push({ addr, len });
        writableBytes += len;
      } else {
        if (writable.length > 0) throw new QueueError(this.index, `device-readable buffer after a writable one in chain at ${head}`);
        readable.push({ addr, len });
        readableBytes += len;
      }
      if (!(flags & DESC_F_NEXT)) break;
      if (next >= tableLen) throw new QueueError(this.index, `next descriptor ${next} is out of range`);
      i = next;
    }
    return { head, readable, writable, readableBytes, writableBytes };
  }

  push(chain: DescriptorChain, written: number): void {
    const slot = this.usedIdx & (this.size - 1);
    const off = 4 + 8 * slot;
    put32(this.usedView, off, chain.head);
    put32(this.usedView, off + 4, written >>> 0);
    this.memory.markDirty(this.usedGpa + off, 8);
    // The element is in place before the index that publishes it moves.
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    put16(this.usedView, 2, this.usedIdx);
    this.memory.markDirty(this.usedGpa + 2, 2);
    if (this.outstanding > 0) this.outstanding--;
  }

  needsInterrupt(): boolean {
    const old = this.signalled;
    const now = this.usedIdx;
    this.signalled = now;
    if (old === now) return false;
    if (!this.features.eventIdx) return (u16(this.availView, 0) & AVAIL_F_NO_INTERRUPT) === 0;
    if (old < 0) return true;
    // vring_need_event(): interrupt if used_event lies in (old, now].
    const usedEvent = u16(this.availView, 4 + 2 * this.size);
    return ((now - usedEvent - 1) & 0xffff) < ((now - old) & 0xffff);
  }

  position(): QueuePosition {
    return { nextAvail: this.nextAvail, nextUsed: this.usedIdx, signalled: this.signalled };
  }
}
