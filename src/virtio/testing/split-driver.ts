/**
 * Test support: the driver side of a split virtqueue, written the way
 * Linux's virtio_ring.c drives one: a free list of descriptors, chains
 * (direct or through an indirect table) published in the available ring,
 * used entries collected from the used ring, and EVENT_IDX's used_event.
 */
import type { GuestMemory } from '../../memory/guest-memory.js';
import { DESC_F_INDIRECT, DESC_F_NEXT, DESC_F_WRITE } from '../regs.js';
import { splitRingSizes } from '../queue/split.js';

/** One buffer the driver adds. */
export interface DriverBuffer {
  readonly addr: number;
  readonly len: number;
  /** Device-writable. */
  readonly write: boolean;
}

/** A used ring entry. */
export interface UsedEntry {
  readonly id: number;
  readonly len: number;
}

/** A split ring laid out from `base` in guest memory: descriptors, avail, used (4 KiB aligned). */
export class SplitDriver {
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
  /** First byte after the rings: a scratch area for indirect tables. */
  readonly end: number;
  private free: number[];
  private availIdx = 0;
  private lastUsed = 0;
  private indirectNext: number;
  private readonly chainLength = new Map<number, number>();

  constructor(
    private readonly memory: GuestMemory,
    base: number,
    readonly size: number,
  ) {
    const s = splitRingSizes(size);
    const align = (n: number) => Math.ceil(n / 4096) * 4096;
    this.desc = base;
    this.avail = base + s.desc;
    this.used = align(this.avail + s.avail);
    this.end = align(this.used + s.used);
    this.indirectNext = this.end;
    memory.fill(base, this.end - base, 0);
    this.free = Array.from({ length: size }, (_, i) => i);
  }

  /** Writes descriptor `i` of the table at `table`. */
  writeDesc(table: number, i: number, addr: number, len: number, flags: number, next: number): void {
    const o = table + 16 * i;
    this.memory.writeU32(o, addr % 2 ** 32);
    this.memory.writeU32(o + 4, Math.floor(addr / 2 ** 32));
    this.memory.writeU32(o + 8, len);
    this.memory.writeU16(o + 12, flags);
    this.memory.writeU16(o + 14, next);
  }

  /** Adds a chain and publishes it; returns its head, or -1 when the ring is full. */
  add(bufs: readonly DriverBuffer[], options: { indirect?: boolean; publish?: boolean } = {}): number {
    if (options.indirect) {
      if (this.free.length < 1) return -1;
      const table = this.indirectNext;
      this.indirectNext += 16 * bufs.length;
      bufs.forEach((b, i) => this.writeDesc(table, i, b.addr, b.len, (b.write ? DESC_F_WRITE : 0) | (i + 1 < bufs.length ? DESC_F_NEXT : 0), i + 1));
      const head = this.free.shift()!;
      this.writeDesc(this.desc, head, table, 16 * bufs.length, DESC_F_INDIRECT, 0);
      this.chainLength.set(head, 1);
      this.publish(head, options.publish);
      return head;
    }
    if (this.free.length < bufs.length) return -1;
    const ids = this.free.splice(0, bufs.length);
    bufs.forEach((b, i) => this.writeDesc(this.desc, ids[i]!, b.addr, b.len, (b.write ? DESC_F_WRITE : 0) | (i + 1 < bufs.length ? DESC_F_NEXT : 0), ids[i + 1] ?? 0));
    this.chainLength.set(ids[0]!, bufs.length);
    this.publish(ids[0]!, options.publish);
    return ids[0]!;
  }

  private publish(head: number, publish = true): void {
    this.memory.writeU16(this.avail + 4 + 2 * (this.availIdx % this.size), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    if (publish) this.memory.writeU16(this.avail + 2, this.availIdx);
  }

  /** Publishes everything added so far (avail.idx). */
  flush(): void {
    this.memory.writeU16(this.avail + 2, this.availIdx);
  }

  /** Takes the used entries the device wrote since the last call, freeing their descriptors. */
  takeUsed(): UsedEntry[] {
    const out: UsedEntry[] = [];
    const idx = this.memory.readU16(this.used + 2);
    while (this.lastUsed !== idx) {
      const o = this.used + 4 + 8 * (this.lastUsed % this.size);
      const e = { id: this.memory.readU32(o), len: this.memory.readU32(o + 4) };
      out.push(e);
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
      const n = this.chainLength.get(e.id) ?? 1;
      this.chainLength.delete(e.id);
      // Direct chains return their descriptors in link order; the walk follows `next`.
      let d = e.id;
      for (let i = 0; i < n; i++) {
        this.free.push(d);
        d = this.memory.readU16(this.desc + 16 * d + 14);
      }
    }
    return out;
  }

  /** Sets avail.flags (NO_INTERRUPT). */
  setAvailFlags(flags: number): void {
    this.memory.writeU16(this.avail, flags);
  }

  /** Sets used_event (EVENT_IDX): interrupt when the used index passes it. */
  setUsedEvent(v: number): void {
    this.memory.writeU16(this.avail + 4 + 2 * this.size, v & 0xffff);
  }

  /** The device's avail_event (EVENT_IDX). */
  get availEvent(): number {
    return this.memory.readU16(this.used + 4 + 8 * this.size);
  }

  /** The used index the device published. */
  get usedIdx(): number {
    return this.memory.readU16(this.used + 2);
  }

  /** Descriptors not in use. */
  get freeCount(): number {
    return this.free.length;
  }
}
