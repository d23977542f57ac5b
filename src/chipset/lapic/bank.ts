/**
 * The LAPIC MMIO page at 0xFEE00000. Every CPU uses the same address but
 * reaches its own LAPIC, so one device owns the page and forwards each
 * access to the LAPIC of the vCPU that is running.
 *
 * DEVNOTE: `current` is set by the software CPU's run loop before it runs a
 * vCPU; with one thread running every vCPU in turn no access can race it.
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
import type { Lapic } from './lapic.js';
import { LAPIC_BASE, LAPIC_SIZE } from './regs.js';

/** How to build the LAPIC page. */
export interface LapicBankConfig {
  /** Device id; default "lapic". */
  readonly id?: string;
  /** MMIO base; default 0xFEE00000. */
  readonly base?: number;
}

/** What the LAPIC page needs: the LAPICs, indexed by vCPU. */
export interface LapicBankContext {
  readonly lapics: readonly Lapic[];
}

/** Version 1 of the bank's saved state. */
export interface LapicBankSavedState extends SavedState {
  readonly version: 1;
  readonly current: number;
}

const SAVED_VERSION = 1;

/** The shared LAPIC MMIO page, forwarding to the current vCPU's LAPIC. */
export class LapicBank implements VmmDevice {
  readonly id: string;
  readonly mmio: IoPart;
  /** Index of the vCPU whose accesses arrive now (set by the run loop). */
  current = 0;
  /** Accesses that were not aligned 32-bit accesses of a register (ignored; reads 0). */
  badAccesses = 0;
  /** Accesses while the current LAPIC was globally disabled (reads all-ones). */
  disabledAccesses = 0;
  private readonly base: number;

  constructor(
    config: LapicBankConfig,
    private readonly ctx: LapicBankContext,
  ) {
    this.id = config.id ?? 'lapic';
    this.base = config.base ?? LAPIC_BASE;
    this.mmio = {
      regions: [{ name: 'lapic', base: this.base, size: LAPIC_SIZE }],
      read: (addr: number, size: AccessSize) => this.read(addr - this.base, size),
      write: (addr: number, size: AccessSize, value: number) => this.write(addr - this.base, size, value),
    };
  }

  /** The LAPIC of the current vCPU. */
  get lapic(): Lapic | undefined {
    return this.ctx.lapics[this.current];
  }

  private read(offset: number, size: AccessSize): number {
    const l = this.lapic;
    if (l === undefined || size !== 4 || (offset & 0xf) !== 0) {
      this.badAccesses++;
      return 0;
    }
    if (!l.hardwareEnabled) {
      // The page is not decoded at all then: nobody answers.
      this.disabledAccesses++;
      return 0xffffffff;
    }
    return l.readRegister(offset);
  }

  private write(offset: number, size: AccessSize, value: number): void {
    const l = this.lapic;
    if (l === undefined || size !== 4 || (offset & 0xf) !== 0) {
      this.badAccesses++;
      return;
    }
    if (!l.hardwareEnabled) {
      this.disabledAccesses++;
      return;
    }
    l.writeRegister(offset, value);
  }

  /** Back to vCPU 0. The LAPICs are devices of their own and reset themselves. */
  reset(): void {
    this.current = 0;
  }

  /** Only the current vCPU index; each LAPIC saves its own state. */
  save(): LapicBankSavedState {
    return { version: SAVED_VERSION, current: this.current };
  }

  /** Loads a saved state. */
  restore(saved: SavedState): void {
    const s = checkSavedVersion<LapicBankSavedState>(this.id, saved, SAVED_VERSION);
    this.current = typeof s.current === 'number' && Number.isInteger(s.current) && s.current >= 0 ? s.current : 0;
  }

  /** Current vCPU and counters. */
  inspect(): InspectNode {
    return inspect.tree({
      current: this.current,
      lapics: this.ctx.lapics.length,
      badAccesses: inspect.counter(this.badAccesses),
      disabledAccesses: inspect.counter(this.disabledAccesses),
    });
  }
}

/** Builds the LAPIC page, fresh or from its SavedState (one path for boot and restore). */
export function createLapicBank(config: LapicBankConfig, ctx: LapicBankContext, saved?: SavedState): LapicBank {
  const bank = new LapicBank(config, ctx);
  if (saved !== undefined) bank.restore(saved);
  return bank;
}
