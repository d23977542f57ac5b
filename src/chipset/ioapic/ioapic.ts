/**
 * The I/O APIC: 24 interrupt pins, each turned into an APIC bus message by
 * its redirection entry. Edge pins deliver on a rising edge; level pins
 * deliver while asserted and not waiting for an EOI (remote IRR).
 *
 * DEVNOTE: pin levels are logical (true = asserted) and the polarity bit is
 * only stored, as KVM's and QEMU's IOAPICs do: devices never need to know
 * whether the ACPI tables call their line active-low.
 * DEVNOTE: an edge that arrives while its pin is masked is latched and
 * delivered on unmask (KVM and QEMU behave so); the 82093AA would lose it.
 */
import {
  type AccessSize,
  checkSavedVersion,
  inspect,
  type InspectNode,
  type IoPart,
  type SavedState,
  type VmmDevice,
} from '../../bus/device.js';
import type { ApicRouter } from '../apic-bus/message.js';
import { DM_FIXED, DM_LOWEST_PRIORITY } from '../apic-bus/regs.js';
import * as R from './regs.js';

/** How to build the IOAPIC. */
export interface IoapicConfig {
  /** Device id; default "ioapic". */
  readonly id?: string;
  /** MMIO base; default 0xFEC00000. */
  readonly base?: number;
  /** Power-on IOAPIC ID (bits 27:24 of IOAPICID); the MADT must say the same. Default 0. */
  readonly apicId?: number;
}

/** What the IOAPIC needs from the machine. */
export interface IoapicContext {
  /** Where redirected interrupts go (the APIC bus). */
  readonly router: ApicRouter;
}

/** Version 1 of the IOAPIC's saved state. */
export interface IoapicSavedState extends SavedState {
  readonly version: 1;
  readonly ioregsel: number;
  readonly apicId: number;
  /** Low dwords of the 24 redirection entries (remote IRR included). */
  readonly redirLo: readonly number[];
  /** High dwords of the 24 redirection entries. */
  readonly redirHi: readonly number[];
  /** Input levels, bit n = pin n asserted. */
  readonly pinLevels: number;
  /** Requests not yet delivered, bit n = pin n. */
  readonly irr: number;
}

const SAVED_VERSION = 1;
const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffffffff] as const;

/** The 82093AA-style I/O APIC (version 0x20, with the EOI register). */
export class Ioapic implements VmmDevice {
  readonly id: string;
  readonly mmio: IoPart;
  private readonly base: number;
  private readonly powerOnId: number;
  private ioregsel = 0;
  private apicId = 0;
  private readonly redirLo = new Uint32Array(R.IOAPIC_PINS);
  private readonly redirHi = new Uint32Array(R.IOAPIC_PINS);
  private pinLevels = 0;
  private irr = 0;
  /** Messages sent to the APIC bus. */
  delivered = 0;
  /** Accesses with the wrong width or offset, and reads of unknown registers. */
  badAccesses = 0;
  /** setPin calls for pins that do not exist. */
  badPins = 0;

  constructor(
    config: IoapicConfig,
    private readonly ctx: IoapicContext,
  ) {
    this.id = config.id ?? 'ioapic';
    this.base = config.base ?? R.IOAPIC_BASE;
    this.powerOnId = (config.apicId ?? 0) & 0xf;
    this.mmio = {
      regions: [{ name: 'ioapic', base: this.base, size: R.IOAPIC_SIZE }],
      read: (addr: number, size: AccessSize) => this.mmioRead(addr - this.base, size),
      write: (addr: number, size: AccessSize, value: number) => this.mmioWrite(addr - this.base, size, value),
    };
    this.reset();
  }

  /** Power-on state: every entry masked, edge, vector 0. Pin levels are wires and survive. */
  reset(): void {
    this.ioregsel = 0;
    this.apicId = this.powerOnId;
    this.redirLo.fill(R.RTE_MASKED);
    this.redirHi.fill(0);
    this.irr = 0;
  }

  /** Drives input `pin` (0-23); true = asserted. */
  setPin(pin: number, level: boolean): void {
    if (!Number.isInteger(pin) || pin < 0 || pin >= R.IOAPIC_PINS) {
      this.badPins++;
      return;
    }
    const bit = 1 << pin;
    const was = (this.pinLevels & bit) !== 0;
    this.pinLevels = level ? this.pinLevels | bit : this.pinLevels & ~bit;
    if (this.redirLo[pin]! & R.RTE_TRIGGER_LEVEL) {
      this.irr = level ? this.irr | bit : this.irr & ~bit;
    } else if (level && !was) {
      this.irr |= bit;
    }
    this.service(pin);
  }

  /** An EOI for `vector` (LAPIC broadcast or the EOI register): clears remote IRR, re-delivers. */
  eoi(vector: number): void {
    for (let pin = 0; pin < R.IOAPIC_PINS; pin++) {
      const lo = this.redirLo[pin]!;
      if (lo & R.RTE_REMOTE_IRR && (lo & R.RTE_VECTOR) === vector) {
        this.redirLo[pin] = lo & ~R.RTE_REMOTE_IRR;
        this.service(pin);
      }
    }
  }

  /** The IOAPIC ID register's current ID (for tests and inspect). */
  get currentApicId(): number {
    return this.apicId;
  }

  /** Reads indirect register `index` as the guest would through IOWIN. */
  readRegister(index: number): number {
    switch (index) {
      case R.IOAPICID:
      case R.IOAPICARB:
        return (this.apicId << R.ID_SHIFT) >>> 0;
      case R.IOAPICVER:
        return R.IOAPIC_VERSION;
    }
    const n = (index - R.IOREDTBL_BASE) >> 1;
    if (index >= R.IOREDTBL_BASE && n < R.IOAPIC_PINS) {
      return index & 1 ? this.redirHi[n]! : this.redirLo[n]!;
    }
    this.badAccesses++;
    return 0xffffffff;
  }

  /** Writes indirect register `index` as the guest would through IOWIN. */
  writeRegister(index: number, value: number): void {
    if (index === R.IOAPICID) {
      this.apicId = (value >>> R.ID_SHIFT) & 0xf;
      return;
    }
    const n = (index - R.IOREDTBL_BASE) >> 1;
    if (index < R.IOREDTBL_BASE || n >= R.IOAPIC_PINS) {
      // IOAPICVER and IOAPICARB are read-only; the rest do not exist.
      this.badAccesses++;
      return;
    }
    if (index & 1) {
      this.redirHi[n] = value & R.RTE_HI_WRITABLE;
      return;
    }
    const old = this.redirLo[n]!;
    let lo = (value & R.RTE_LO_WRITABLE) | (old & R.RTE_REMOTE_IRR);
    const bit = 1 << n;
    if ((old ^ lo) & R.RTE_TRIGGER_LEVEL) {
      if (lo & R.RTE_TRIGGER_LEVEL) {
        this.irr = (this.irr & ~bit) | (this.pinLevels & bit);
      } else {
        // An edge pin never waits for an EOI; drop what the level state left.
        lo &= ~R.RTE_REMOTE_IRR;
        this.irr &= ~bit;
      }
    }
    this.redirLo[n] = lo >>> 0;
    this.service(n);
  }

  // Delivers pin's request if its entry lets it through.
  private service(pin: number): void {
    const bit = 1 << pin;
    if (!(this.irr & bit)) return;
    const lo = this.redirLo[pin]!;
    if (lo & R.RTE_MASKED) return;
    const mode = (lo >>> R.RTE_DELIVERY_SHIFT) & 7;
    const level = (lo & R.RTE_TRIGGER_LEVEL) !== 0;
    if (level) {
      if (lo & R.RTE_REMOTE_IRR) return;
      // Only fixed and lowest-priority messages are EOI'd; for the others a
      // remote IRR would never clear.
      if (mode === DM_FIXED || mode === DM_LOWEST_PRIORITY) this.redirLo[pin] = lo | R.RTE_REMOTE_IRR;
    } else {
      this.irr &= ~bit;
    }
    this.delivered++;
    this.ctx.router.deliver({
      vector: lo & R.RTE_VECTOR,
      deliveryMode: mode,
      destMode: lo & R.RTE_DEST_LOGICAL ? 'logical' : 'physical',
      dest: this.redirHi[pin]! >>> R.RTE_DEST_SHIFT,
      trigger: level ? 'level' : 'edge',
      level: true,
    });
  }

  private mmioRead(offset: number, size: AccessSize): number {
    if (offset === R.IOREGSEL) return this.ioregsel & ALL_ONES[size];
    if (offset === R.IOWIN && size === 4) return this.readRegister(this.ioregsel);
    this.badAccesses++;
    return ALL_ONES[size];
  }

  private mmioWrite(offset: number, size: AccessSize, value: number): void {
    if (offset === R.IOREGSEL) {
      this.ioregsel = value & 0xff;
    } else if (offset === R.IOWIN && size === 4) {
      this.writeRegister(this.ioregsel, value >>> 0);
    } else if (offset === R.IOEOI) {
      this.eoi(value & 0xff);
    } else {
      this.badAccesses++;
    }
  }

  /** Registers, pin levels and pending requests. */
  save(): IoapicSavedState {
    return {
      version: SAVED_VERSION,
      ioregsel: this.ioregsel,
      apicId: this.apicId,
      redirLo: Array.from(this.redirLo),
      redirHi: Array.from(this.redirHi),
      pinLevels: this.pinLevels,
      irr: this.irr,
    };
  }

  /** Loads a saved state. Nothing is delivered: what was in flight is in the LAPICs' state. */
  restore(saved: SavedState): void {
    const s = checkSavedVersion<IoapicSavedState>(this.id, saved, SAVED_VERSION);
    this.ioregsel = num(s.ioregsel) & 0xff;
    this.apicId = num(s.apicId) & 0xf;
    const pinMask = (1 << R.IOAPIC_PINS) - 1;
    for (let i = 0; i < R.IOAPIC_PINS; i++) {
      this.redirLo[i] = num(s.redirLo?.[i]) & (R.RTE_LO_WRITABLE | R.RTE_REMOTE_IRR);
      this.redirHi[i] = num(s.redirHi?.[i]) & R.RTE_HI_WRITABLE;
    }
    this.pinLevels = num(s.pinLevels) & pinMask;
    this.irr = num(s.irr) & pinMask;
  }

  /** Registers (one child per pin) and counters. */
  inspect(): InspectNode {
    const pins: Record<string, InspectNode> = {};
    for (let i = 0; i < R.IOAPIC_PINS; i++) {
      const lo = this.redirLo[i]!;
      pins[String(i)] = inspect.tree({
        vector: inspect.hex(lo & R.RTE_VECTOR),
        deliveryMode: (lo >>> R.RTE_DELIVERY_SHIFT) & 7,
        destMode: lo & R.RTE_DEST_LOGICAL ? 'logical' : 'physical',
        dest: inspect.hex(this.redirHi[i]! >>> R.RTE_DEST_SHIFT),
        trigger: lo & R.RTE_TRIGGER_LEVEL ? 'level' : 'edge',
        masked: (lo & R.RTE_MASKED) !== 0,
        remoteIrr: (lo & R.RTE_REMOTE_IRR) !== 0,
        asserted: (this.pinLevels & (1 << i)) !== 0,
        requested: (this.irr & (1 << i)) !== 0,
      });
    }
    return inspect.tree({
      apicId: this.apicId,
      ioregsel: inspect.hex(this.ioregsel),
      pins: { children: pins },
      delivered: inspect.counter(this.delivered),
      badAccesses: inspect.counter(this.badAccesses),
      badPins: inspect.counter(this.badPins),
    });
  }
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isInteger(v) ? v : 0;
}

/** Builds the IOAPIC, fresh or from its SavedState (one path for boot and restore). */
export function createIoapic(config: IoapicConfig, ctx: IoapicContext, saved?: SavedState): Ioapic {
  const ioapic = new Ioapic(config, ctx);
  if (saved !== undefined) ioapic.restore(saved);
  return ioapic;
}
