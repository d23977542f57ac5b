/**
 * Test support: the driver side of a packed virtqueue, following Linux's
 * virtqueue_add_packed()/virtqueue_get_buf_packed(): descriptors written
 * from the next free slot with the driver's wrap counter in AVAIL/USED,
 * the head's flags stored last, used elements found by their flags.
 */
import type { GuestMemory } from '../../memory/guest-memory.js';
import { DESC_F_AVAIL, DESC_F_INDIRECT, DESC_F_NEXT, DESC_F_USED, DESC_F_WRITE } from '../regs.js';
import type { DriverBuffer, UsedEntry } from './split-driver.js';

/** A packed ring from `base`: descriptors, then the driver and device event structures. */
export class PackedDriver {
  readonly desc: number;
  readonly driverEvent: number;
  readonly deviceEvent: number;
  private nextAvail = 0;
  private availWrap = 1;
  private lastUsed = 0;
  private usedWrap = 1;
  private freeSlots: number;
  private readonly ids: number[];
  private readonly slotsOf = new Map<number, number>();
  private indirectNext: number;

  constructor(
    private readonly memory: GuestMemory,
    base: number,
    readonly size: number,
  ) {
    this.desc = base;
    this.driverEvent = base + 16 * size;
    this.deviceEvent = this.driverEvent + 4;
    this.indirectNext = Math.ceil((this.deviceEvent + 4) / 4096) * 4096;
    memory.fill(base, this.indirectNext - base, 0);
    this.freeSlots = size;
    this.ids = Array.from({ length: size }, (_, i) => i);
  }

  /** Writes slot `i` of the ring (or of a table at `table`). */
  writeDesc(table: number, i: number, addr: number, len: number, id: number, flags: number): void {
    const o = table + 16 * i;
    this.memory.writeU32(o, addr % 2 ** 32);
    this.memory.writeU32(o + 4, Math.floor(addr / 2 ** 32));
    this.memory.writeU32(o + 8, len);
    this.memory.writeU16(o + 12, id);
    this.memory.writeU16(o + 14, flags);
  }

  /** Adds a chain (the head made available last); returns its buffer id, or -1 when there is no room. */
  add(bufs: readonly DriverBuffer[], options: { indirect?: boolean } = {}): number {
    const slots = options.indirect ? 1 : bufs.length;
    if (this.freeSlots < slots || this.ids.length === 0) return -1;
    const id = this.ids.shift()!;
    this.freeSlots -= slots;
    this.slotsOf.set(id, slots);
    const ring: { addr: number; len: number; flags: number }[] = [];
    if (options.indirect) {
      const table = this.indirectNext;
      this.indirectNext += 16 * bufs.length;
      bufs.forEach((b, i) => this.writeDesc(table, i, b.addr, b.len, 0, b.write ? DESC_F_WRITE : 0));
      ring.push({ addr: table, len: 16 * bufs.length, flags: DESC_F_INDIRECT });
    } else {
      bufs.forEach((b, i) => ring.push({ addr: b.addr, len: b.len, flags: (b.write ? DESC_F_WRITE : 0) | (i + 1 < bufs.length ? DESC_F_NEXT : 0) }));
    }
    const head = this.nextAvail;
    const headWrap = this.availWrap;
    ring.forEach((d, i) => {
      const wrapBits = this.availWrap ? DESC_F_AVAIL : DESC_F_USED;
      // The head's flags go last, after the rest of the chain is in place.
      this.writeDesc(this.desc, this.nextAvail, d.addr, d.len, id, i === 0 ? 0 : d.flags | wrapBits);
      if (++this.nextAvail === this.size) {
        this.nextAvail = 0;
        this.availWrap ^= 1;
      }
    });
    this.memory.writeU16(this.desc + 16 * head + 14, ring[0]!.flags | (headWrap ? DESC_F_AVAIL : DESC_F_USED));
    return id;
  }

  /** Used elements since the last call. */
  takeUsed(): UsedEntry[] {
    const out: UsedEntry[] = [];
    for (;;) {
      const o = this.desc + 16 * this.lastUsed;
      const flags = this.memory.readU16(o + 14);
      const avail = flags & DESC_F_AVAIL ? 1 : 0;
      const used = flags & DESC_F_USED ? 1 : 0;
      if (avail !== used || used !== this.usedWrap) return out;
      const id = this.memory.readU16(o + 12);
      out.push({ id, len: this.memory.readU32(o + 8) });
      const n = this.slotsOf.get(id) ?? 1;
      this.slotsOf.delete(id);
      this.ids.push(id);
      this.freeSlots += n;
      this.lastUsed += n;
      if (this.lastUsed >= this.size) {
        this.lastUsed -= this.size;
        this.usedWrap ^= 1;
      }
    }
  }

  /** Sets the driver event suppression structure (flags ENABLE 0, DISABLE 1, DESC 2). */
  setEvent(flags: number, offWrap = 0): void {
    this.memory.writeU16(this.driverEvent, offWrap);
    this.memory.writeU16(this.driverEvent + 2, flags);
  }

  /** The off_wrap value naming the next used slot (what Linux writes to ask for the next interrupt). */
  get nextUsedOffWrap(): number {
    return this.lastUsed | (this.usedWrap << 15);
  }
}
