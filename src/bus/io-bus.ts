/**
 * An address space (port I/O or MMIO) that routes accesses to devices.
 *
 * DEVNOTE: lookups are a binary search over sorted, non-overlapping ranges
 * plus a one-entry cache of the last hit, because a guest usually hammers
 * one device (the UART, the LAPIC) many times in a row. Devices register
 * all at once so every conflict is reported together (OpenVMM's chipset
 * builder); regions that move later (PCI BARs) use map/unmap.
 */
import type { AccessSize, ChipsetDevice, InspectNode, IoPart, Region } from './device.js';
import { hex, RateLimitedLog, stderrSink, type LogSink } from './log.js';

/** One mapped range: [base, end) owned by `device`. */
interface Mapping {
  readonly base: number;
  readonly end: number;
  readonly region: Region;
  readonly device: ChipsetDevice;
  readonly part: IoPart;
}

/** One overlap between two devices' regions. */
export interface RegionConflict {
  readonly space: string;
  readonly a: { device: string; region: Region };
  readonly b: { device: string; region: Region };
}

/** Thrown when regions overlap; lists every conflict found. */
export class RegionConflictError extends Error {
  constructor(readonly conflicts: readonly RegionConflict[]) {
    super(
      `${conflicts.length} overlapping region${conflicts.length === 1 ? '' : 's'}: ` +
        conflicts.map(describeConflict).join('; '),
    );
    this.name = 'RegionConflictError';
  }
}

function describeRange(r: Region): string {
  return `${hex(r.base)}-${hex(r.base + r.size - 1)}`;
}

function describeConflict(c: RegionConflict): string {
  return (
    `${c.space} ${c.a.device}/${c.a.region.name} ${describeRange(c.a.region)} overlaps ` +
    `${c.b.device}/${c.b.region.name} ${describeRange(c.b.region)}`
  );
}

const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffffffff] as const;

/** A port-I/O or MMIO address space. */
export class IoBus {
  private maps: Mapping[] = [];
  private last: Mapping | null = null;
  private readonly log: RateLimitedLog;
  /** Reads nobody claimed (answered with all-ones). */
  unclaimedReads = 0;
  /** Writes nobody claimed (dropped). */
  unclaimedWrites = 0;
  /** Exceptions thrown by device handlers (a device bug; answered as unclaimed). */
  deviceErrors = 0;

  /**
   * @param space "pio" or "mmio": selects which part of a device registers here.
   * @param limit one past the highest address (0x10000 for ports).
   */
  /**
   * @param logUnclaimed log unclaimed accesses (rate-limited); a guest probing
   *   for absent hardware makes many, so machines turn this on only for debugging.
   */
  constructor(
    readonly space: 'pio' | 'mmio',
    private readonly limit = space === 'pio' ? 0x10000 : 2 ** 52,
    sink: LogSink = stderrSink,
    private readonly logUnclaimed = true,
  ) {
    this.log = new RateLimitedLog(sink);
  }

  /**
   * Registers the static regions of every device that has a part for this
   * space. Nothing is added unless all of them fit; otherwise one error
   * lists every overlap (with existing mappings and among the new ones).
   */
  register(devices: readonly ChipsetDevice[]): void {
    const incoming: Mapping[] = [];
    for (const device of devices) {
      const part = device[this.space];
      if (!part) continue;
      for (const region of part.regions) incoming.push(this.mapping(device, part, region));
    }
    const merged = [...this.maps, ...incoming].sort((x, y) => x.base - y.base);
    const conflicts: RegionConflict[] = [];
    for (let i = 0; i < merged.length; i++) {
      for (let j = i + 1; j < merged.length && merged[j]!.base < merged[i]!.end; j++) {
        const a = merged[i]!;
        const b = merged[j]!;
        conflicts.push({
          space: this.space,
          a: { device: a.device.id, region: a.region },
          b: { device: b.device.id, region: b.region },
        });
      }
    }
    if (conflicts.length > 0) throw new RegionConflictError(conflicts);
    this.maps = merged;
    this.last = null;
  }

  /** Maps one region that moves at run time (e.g. a PCI BAR). */
  map(device: ChipsetDevice, part: IoPart, region: Region): void {
    const m = this.mapping(device, part, region);
    const conflicts = this.maps
      .filter((o) => o.base < m.end && m.base < o.end)
      .map((o) => ({
        space: this.space,
        a: { device: o.device.id, region: o.region },
        b: { device: device.id, region },
      }));
    if (conflicts.length > 0) throw new RegionConflictError(conflicts);
    this.maps.push(m);
    this.maps.sort((x, y) => x.base - y.base);
    this.last = null;
  }

  /** Removes a region added by map(); returns whether it was there. */
  unmap(device: ChipsetDevice, region: Region): boolean {
    const i = this.maps.findIndex((m) => m.device === device && m.region === region);
    if (i < 0) return false;
    this.maps.splice(i, 1);
    this.last = null;
    return true;
  }

  /** The device claiming `addr`, if any. */
  deviceAt(addr: number): ChipsetDevice | undefined {
    return this.find(addr)?.device;
  }

  /** Reads 1, 2 or 4 bytes; all-ones when nobody claims the address. */
  read(addr: number, size: AccessSize): number {
    const m = this.find(addr);
    if (m === null || addr + size > m.end) return this.readSlow(m, addr, size);
    try {
      return m.part.read(addr, size);
    } catch (e) {
      this.deviceFault(m, 'read', addr, size, e);
      return ALL_ONES[size];
    }
  }

  /** Writes 1, 2 or 4 bytes; counted and dropped when nobody claims the address. */
  write(addr: number, size: AccessSize, value: number): void {
    const m = this.find(addr);
    if (m === null || addr + size > m.end) {
      this.writeSlow(m, addr, size, value);
      return;
    }
    try {
      m.part.write(addr, size, value);
    } catch (e) {
      this.deviceFault(m, 'write', addr, size, e);
    }
  }

  /** An 8-byte read as two 4-byte reads, low half first; results in out[0] (low), out[1] (high). */
  read64(addr: number, out: { [i: number]: number }): void {
    out[0] = this.read(addr, 4);
    out[1] = this.read(addr + 4, 4);
  }

  /** An 8-byte write as two 4-byte writes, low half first. */
  write64(addr: number, lo: number, hi: number): void {
    this.write(addr, 4, lo);
    this.write(addr + 4, 4, hi);
  }

  /** Counters and the address map, for inspect. */
  inspect(): InspectNode {
    const map: Record<string, InspectNode> = {};
    for (const m of this.maps) {
      map[`${describeRange(m.region)}`] = { value: `${m.device.id}/${m.region.name}` };
    }
    return {
      children: {
        unclaimedReads: { value: this.unclaimedReads, counter: true },
        unclaimedWrites: { value: this.unclaimedWrites, counter: true },
        deviceErrors: { value: this.deviceErrors, counter: true },
        map: { children: map },
      },
    };
  }

  private mapping(device: ChipsetDevice, part: IoPart, region: Region): Mapping {
    const { base, size } = region;
    if (!Number.isSafeInteger(base) || !Number.isSafeInteger(size) || base < 0 || size <= 0 || base + size > this.limit) {
      throw new RangeError(
        `${this.space} region ${device.id}/${region.name} (base ${hex(base)}, size ${hex(size)}) is outside the address space`,
      );
    }
    return { base, end: base + size, region, device, part };
  }

  private find(addr: number): Mapping | null {
    const last = this.last;
    if (last !== null && addr >= last.base && addr < last.end) return last;
    const maps = this.maps;
    let lo = 0;
    let hi = maps.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = maps[mid]!;
      if (addr < m.base) hi = mid - 1;
      else if (addr >= m.end) lo = mid + 1;
      else {
        this.last = m;
        return m;
      }
    }
    return null;
  }

  // An access nobody claims, or one that runs past the end of its region:
  // split into bytes so each byte goes to whoever owns it.
  private readSlow(m: Mapping | null, addr: number, size: AccessSize): number {
    if (m === null && !this.anyClaimed(addr, size)) {
      this.unclaimedReads++;
      if (this.logUnclaimed) this.log.warn(`${this.space}-read`, () => `unclaimed ${this.space} read at ${hex(addr)} (${size} bytes)`);
      return ALL_ONES[size];
    }
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.read(addr + i, 1) << (8 * i);
    return v >>> 0;
  }

  private writeSlow(m: Mapping | null, addr: number, size: AccessSize, value: number): void {
    if (m === null && !this.anyClaimed(addr, size)) {
      this.unclaimedWrites++;
      if (this.logUnclaimed) this.log.warn(`${this.space}-write`, () => `unclaimed ${this.space} write at ${hex(addr)} = ${hex(value >>> 0)}`);
      return;
    }
    for (let i = 0; i < size; i++) this.write(addr + i, 1, (value >>> (8 * i)) & 0xff);
  }

  private anyClaimed(addr: number, size: number): boolean {
    for (let i = 1; i < size; i++) if (this.find(addr + i) !== null) return true;
    return false;
  }

  private deviceFault(m: Mapping, op: string, addr: number, size: number, e: unknown): void {
    this.deviceErrors++;
    this.log.warn(`fault-${m.device.id}`, () => {
      const why = e instanceof Error ? e.message : String(e);
      return `device ${m.device.id} failed a ${size}-byte ${this.space} ${op} at ${hex(addr)}: ${why}`;
    });
  }
}
