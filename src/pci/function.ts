/**
 * One PCI function with a type 0 header: identity registers, command and
 * status, BARs that the guest sizes and moves, a capability list and,
 * optionally, MSI-X. Devices on the PCI bus (the host bridge itself,
 * virtio-pci) build on this class.
 *
 * BARs: the VMM gives each BAR an address when the machine is built (as
 * firmware would); the guest may move it. Whenever a BAR or the command
 * register's decode bits change, the BAR's region is unmapped from its
 * IoBus and mapped again at the new place (or left unmapped while decoding
 * is off, the address does not fit, or it collides with another device).
 */
import type { AccessSize, ChipsetDevice, InspectNode, IoPart, PciPart, Region } from '../bus/device.js';
import { inspect } from '../bus/device.js';
import type { IoBus } from '../bus/io-bus.js';
import type { MsiTarget } from '../bus/irq.js';
import { hex, RateLimitedLog, type LogSink, stderrSink } from '../bus/log.js';
import { ConfigSpace } from './config-space.js';
import { Msix, type MsixLayout, type MsixSaved } from './msix.js';
import * as R from './regs.js';

/** How a BAR decodes. */
export type BarKind = 'mem32' | 'mem64' | 'io';

/** One BAR: its shape and the handlers behind it (offsets are from the BAR's start). */
export interface BarDefinition {
  /** BAR slot 0..5; a 64-bit BAR also takes the next slot. */
  readonly index: number;
  readonly kind: BarKind;
  /** Bytes decoded: a power of two, at least 16 (memory) or 4 (I/O). */
  readonly size: number;
  readonly prefetchable?: boolean;
  read(offset: number, size: AccessSize): number;
  write(offset: number, size: AccessSize, value: number): void;
}

/** Identity of a function (the registers Linux matches drivers on). */
export interface PciIdentity {
  readonly vendorId: number;
  readonly deviceId: number;
  /** 24-bit class code: base class, subclass, programming interface. */
  readonly classCode: number;
  readonly revision?: number;
  readonly subsystemVendorId?: number;
  readonly subsystemId?: number;
}

/** What a function needs from the machine to map BARs and send MSIs. */
export interface PciBuses {
  readonly mmio: IoBus;
  readonly pio: IoBus;
}

/** Saved state common to every function. */
export interface PciFunctionSaved {
  /** Config space bytes as hex. */
  readonly config: string;
  readonly msix?: MsixSaved;
}

interface BarState {
  readonly def: BarDefinition;
  /** Address the VMM assigned at build time (restored on reset). */
  assigned: number;
  /** Where it is mapped now, or null. */
  mapped: { bus: IoBus; region: Region } | null;
  /** A base the bus refused; not retried until the BAR moves. */
  refused: number;
}

/** A PCI function; subclasses add BARs and capabilities in their constructor, then call finishSetup(). */
export class PciFunction implements PciPart {
  /** Config space; subclasses set up capabilities here. */
  readonly config: ConfigSpace;
  /** MSI-X, when enableMsix() was called. */
  msix: Msix | null = null;
  private readonly bars: (BarState | undefined)[] = [];
  // BAR slots in use, including the upper halves of 64-bit BARs.
  private readonly slotsTaken = new Set<number>();
  private powerOn: Uint8Array | null = null;
  private buses: PciBuses | null = null;
  private readonly log: RateLimitedLog;
  /** BAR placements the bus refused (overlap, out of range). */
  mapFailures = 0;
  // Config space came from a snapshot: build-time BAR assignment must not overwrite it.
  private restored = false;

  constructor(
    /** The ChipsetDevice BARs are mapped as (its id shows in bus conflicts and inspect). */
    readonly owner: ChipsetDevice,
    identity: PciIdentity,
    log: LogSink = stderrSink,
  ) {
    this.log = new RateLimitedLog(log);
    const c = (this.config = new ConfigSpace(R.EXT_CONFIG_SPACE_SIZE));
    c.set(R.VENDOR_ID, 2, identity.vendorId);
    c.set(R.DEVICE_ID, 2, identity.deviceId);
    c.set(R.REVISION_ID, 1, identity.revision ?? 0);
    c.set(R.CLASS_PROG, 1, identity.classCode & 0xff);
    c.set(R.CLASS_PROG + 1, 2, (identity.classCode >>> 8) & 0xffff);
    c.set(R.HEADER_TYPE, 1, R.HEADER_TYPE_NORMAL);
    c.set(R.SUBSYSTEM_VENDOR_ID, 2, identity.subsystemVendorId ?? 0);
    c.set(R.SUBSYSTEM_ID, 2, identity.subsystemId ?? 0);
    c.setWritable(
      R.COMMAND,
      2,
      R.COMMAND_IO | R.COMMAND_MEMORY | R.COMMAND_MASTER | R.COMMAND_PARITY | R.COMMAND_SERR | R.COMMAND_INTX_DISABLE,
    );
    c.setRw1c(R.STATUS, 2, R.STATUS_RW1C_MASK);
    c.setWritable(R.CACHE_LINE_SIZE, 1, 0xff);
    c.setWritable(R.INTERRUPT_LINE, 1, 0xff);
    // Interrupt pin stays 0: tsvmm's PCI devices interrupt through MSI-X only (no _PRT).
  }

  /** Declares a BAR; its address bits become writable above its size. */
  addBar(def: BarDefinition): void {
    const { index, kind, size } = def;
    const min = kind === 'io' ? 4 : 16;
    if (!Number.isInteger(index) || index < 0 || index >= R.BAR_COUNT || (kind === 'mem64' && index === R.BAR_COUNT - 1)) {
      throw new RangeError(`BAR index ${index} is not usable for a ${kind} BAR`);
    }
    if (!(size >= min) || (size & (size - 1)) !== 0 || size > 2 ** 31 || (kind === 'io' && size > 256)) {
      throw new RangeError(`BAR ${index} size ${size} is not a supported power of two`);
    }
    if (this.slotsTaken.has(index) || (kind === 'mem64' && this.slotsTaken.has(index + 1))) throw new RangeError(`BAR slot ${index} is taken`);
    const off = R.BAR0 + 4 * index;
    const low = kind === 'io' ? R.BAR_SPACE_IO : (kind === 'mem64' ? R.BAR_MEM_TYPE_64 : R.BAR_MEM_TYPE_32) | (def.prefetchable ? R.BAR_MEM_PREFETCH : 0);
    this.config.set(off, 4, low);
    // Address bits below the size are hardwired zero: that is what sizing reads back.
    this.config.setWritable(off, 4, (~(size - 1) & (kind === 'io' ? 0xfffc : ~R.BAR_MEM_FLAGS_MASK)) >>> 0);
    if (kind === 'mem64') this.config.setWritable(off + 4, 4, 0xffffffff);
    const state: BarState = { def, assigned: 0, mapped: null, refused: -1 };
    this.bars[index] = state;
    this.slotsTaken.add(index);
    if (kind === 'mem64') this.slotsTaken.add(index + 1);
  }

  /** The BARs declared so far. */
  barDefinitions(): BarDefinition[] {
    return this.bars.filter((b): b is BarState => b !== undefined).map((b) => b.def);
  }

  /** Sets MSI-X up with its table and PBA in (already declared) BARs. */
  enableMsix(layout: MsixLayout, target: MsiTarget): Msix {
    this.msix = new Msix(this.config, layout, target, () => (this.command & R.COMMAND_MASTER) !== 0);
    return this.msix;
  }

  /** Marks the current config space as the power-on state reset() returns to. Call after setup. */
  finishSetup(): void {
    this.powerOn = this.config.bytes.slice();
  }

  /** Places BAR `index` at `address` (build time, as firmware does); also its reset value. */
  assignBar(index: number, address: number): void {
    const bar = this.bars[index];
    if (!bar) throw new RangeError(`BAR ${index} is not defined`);
    if (address % bar.def.size !== 0) throw new RangeError(`BAR ${index} address ${hex(address)} is not aligned to its size`);
    bar.assigned = address;
    const off = R.BAR0 + 4 * index;
    const width = bar.def.kind === 'mem64' ? 8 : 4;
    // After a restore the guest's BAR values stand; the assignment only sets what reset returns to.
    const live = this.config.bytes.slice(off, off + width);
    this.writeBarAddress(index, address);
    this.powerOn?.set(this.config.bytes.subarray(off, off + width), off);
    if (this.restored) this.config.bytes.set(live, off);
    this.remap();
  }

  private writeBarAddress(index: number, address: number): void {
    const bar = this.bars[index]!;
    const off = R.BAR0 + 4 * index;
    const flags = this.config.get(off, 4) & (bar.def.kind === 'io' ? R.BAR_IO_FLAGS_MASK : R.BAR_MEM_FLAGS_MASK);
    this.config.set(off, 4, ((address % 2 ** 32) | flags) >>> 0);
    if (bar.def.kind === 'mem64') this.config.set(off + 4, 4, Math.floor(address / 2 ** 32) >>> 0);
  }

  /** The address BAR `index` decodes at now, per config space. */
  barAddress(index: number): number {
    const bar = this.bars[index];
    if (!bar) return 0;
    const off = R.BAR0 + 4 * index;
    const lo = this.config.get(off, 4);
    if (bar.def.kind === 'io') return lo & 0xfffc;
    const base = (lo & ~R.BAR_MEM_FLAGS_MASK) >>> 0;
    return bar.def.kind === 'mem64' ? base + this.config.get(off + 4, 4) * 2 ** 32 : base;
  }

  /** Where BAR `index` is mapped now, or null. */
  barMapping(index: number): Region | null {
    return this.bars[index]?.mapped?.region ?? null;
  }

  /** Connects the function to the buses its BARs map on (done by the host bridge). */
  attach(buses: PciBuses): void {
    this.buses = buses;
    this.remap();
  }

  /** The command register. */
  get command(): number {
    return this.config.get(R.COMMAND, 2);
  }

  /** PciPart: a guest config read. */
  configRead(offset: number, size: AccessSize): number {
    return this.config.read(offset, size);
  }

  /** PciPart: a guest config write; BAR, command and MSI-X changes take effect here. */
  configWrite(offset: number, size: AccessSize, value: number): void {
    this.config.write(offset, size, value);
    const end = offset + size;
    if ((offset < R.COMMAND + 2 && end > R.COMMAND) || (offset < R.BAR0 + 24 && end > R.BAR0)) this.remap();
    const m = this.msix;
    if (m && offset < m.capOffset + 4 && end > m.capOffset) m.controlWritten();
    this.configWritten(offset, size);
  }

  /** Subclass hook: runs after every guest config write. */
  protected configWritten(_offset: number, _size: AccessSize): void {}

  /** Re-derives every BAR's mapping from config space. */
  remap(): void {
    const cmd = this.command;
    for (let i = 0; i < this.bars.length; i++) {
      const bar = this.bars[i];
      if (!bar) continue;
      const io = bar.def.kind === 'io';
      const on = (cmd & (io ? R.COMMAND_IO : R.COMMAND_MEMORY)) !== 0;
      const bus = this.buses ? (io ? this.buses.pio : this.buses.mmio) : null;
      const base = this.barAddress(i);
      const want = on && bus !== null && base !== 0;
      const cur = bar.mapped;
      if (cur && want && cur.region.base === base && cur.bus === bus) continue;
      if (cur) {
        cur.bus.unmap(this.owner, cur.region);
        bar.mapped = null;
      }
      if (!want || !bus || bar.refused === base) continue;
      const region: Region = { name: `bar${i}`, base, size: bar.def.size };
      const def = bar.def;
      const part: IoPart = {
        regions: [region],
        read: (addr, size) => def.read(addr - base, size),
        write: (addr, size, value) => def.write(addr - base, size, value),
      };
      try {
        bus.map(this.owner, part, region);
        bar.mapped = { bus, region };
        bar.refused = -1;
      } catch (e) {
        bar.refused = base;
        // The guest may program a BAR over another device or beyond the
        // address space; the BAR then decodes nothing until it moves.
        this.mapFailures++;
        this.log.warn(`bar-${this.owner.id}`, () => `${this.owner.id}: BAR ${i} at ${hex(base)} not mapped: ${(e as Error).message}`);
      }
    }
  }

  /** Back to power-on: config space as built (BARs at their assigned addresses, decoding off). */
  resetFunction(): void {
    if (this.powerOn) this.config.bytes.set(this.powerOn);
    this.msix?.reset();
    this.remap();
  }

  /** Config space (and MSI-X) for saved state. */
  saveFunction(): PciFunctionSaved {
    return { config: this.config.toHex(), ...(this.msix ? { msix: this.msix.save() } : {}) };
  }

  /** Applies saveFunction() output and remaps BARs; returns an error message or null. */
  restoreFunction(s: PciFunctionSaved): string | null {
    if (typeof s !== 'object' || s === null) return 'PCI function state is missing';
    const before = this.config.bytes.slice();
    if (!this.config.fromHex(s.config)) return 'config space has the wrong size';
    if (this.msix) {
      const err = s.msix ? this.msix.restore(s.msix) : 'MSI-X state is missing';
      if (err) {
        this.config.bytes.set(before);
        return err;
      }
    }
    this.restored = true;
    this.remap();
    return null;
  }

  /** Identity, command, BARs and MSI-X, for inspect trees. */
  inspectFunction(): InspectNode {
    const bars: Record<string, InspectNode> = {};
    for (let i = 0; i < this.bars.length; i++) {
      const b = this.bars[i];
      if (!b) continue;
      bars[`bar${i}`] = inspect.tree({
        kind: b.def.kind,
        size: inspect.hex(b.def.size),
        address: inspect.hex(this.barAddress(i)),
        mapped: b.mapped !== null,
      });
    }
    return inspect.tree({
      vendorId: inspect.hex(this.config.get(R.VENDOR_ID, 2)),
      deviceId: inspect.hex(this.config.get(R.DEVICE_ID, 2)),
      classCode: inspect.hex(this.config.get(R.CLASS_PROG, 4) & 0xffffff),
      command: inspect.hex(this.command),
      bars: { children: bars },
      mapFailures: inspect.counter(this.mapFailures),
      ...(this.msix ? { msix: this.msix.inspect() } : {}),
    });
  }
}
