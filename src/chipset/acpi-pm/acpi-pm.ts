/**
 * The power-management registers of a hardware-reduced ACPI machine
 * (there are no PM1 blocks): the sleep control/status pair the OS uses to
 * enter S5, and the reset register. Entering S5 asks the machine to power
 * off, writing RESET_VALUE asks it to reset; vm/ decides what that means.
 * Layout and values: regs.ts. The FADT and \_S5_ read `registers`.
 */
import type { AcpiPmRegisters } from '../../acpi/fadt.js';
import {
  type AccessSize,
  type DeviceFactory,
  type InspectNode,
  type IoPart,
  type SavedState,
  type VmmDevice,
  checkSavedVersion,
  inspect,
} from '../../bus/device.js';
import type { MachineControl } from '../../bus/machine.js';
import {
  ACPI_PM_BASE,
  ACPI_PM_SIZE,
  RESERVED,
  RESET,
  RESET_VALUE,
  SLEEP_CONTROL,
  SLEEP_STATUS,
  SLP_EN,
  SLP_TYP_MASK,
  SLP_TYP_S5,
  SLP_TYP_SHIFT,
  WAK_STS,
} from './regs.js';

/** Where the block sits. */
export interface AcpiPmConfig {
  /** First port; default 0x600. */
  readonly base?: number;
}

/** What the device needs from the machine. */
export interface AcpiPmContext {
  readonly machine: MachineControl;
}

/** Saved state, version 1. */
export interface AcpiPmSavedState extends SavedState {
  readonly version: 1;
  /** SLP_TYPx last written to the sleep control register. */
  readonly sleepType: number;
  /** WAK_STS of the sleep status register. */
  readonly wakeStatus: boolean;
}

const SAVED_VERSION = 1;

/** The ACPI sleep/reset register block. */
export class AcpiPm implements VmmDevice {
  readonly id = 'acpi-pm';
  readonly pio: IoPart;
  /** What the FADT and the DSDT's \_S5_ must say for this device. */
  readonly registers: AcpiPmRegisters;

  private sleepType = 0;
  private wakeStatus = false;
  private poweroffs = 0;
  private resets = 0;
  private ignoredSleeps = 0;
  private ignoredResetWrites = 0;
  private badAccesses = 0;

  constructor(
    private readonly base: number,
    private readonly machine: MachineControl,
    saved?: SavedState,
  ) {
    this.pio = {
      regions: [{ name: 'acpi-pm', base, size: ACPI_PM_SIZE }],
      read: (addr, size) => this.read(addr, size),
      write: (addr, size, value) => this.write(addr, size, value),
    };
    this.registers = {
      sleepControlPort: base + SLEEP_CONTROL,
      sleepStatusPort: base + SLEEP_STATUS,
      resetPort: base + RESET,
      resetValue: RESET_VALUE,
      s5SleepType: SLP_TYP_S5,
    };
    if (saved) {
      const s = checkSavedVersion<AcpiPmSavedState>(this.id, saved, SAVED_VERSION);
      this.sleepType = (Number(s.sleepType) & (SLP_TYP_MASK >>> SLP_TYP_SHIFT)) >>> 0;
      this.wakeStatus = s.wakeStatus === true;
    }
  }

  // Wider accesses are split into byte lanes, as an ISA bus does: a word
  // write at the base writes the control and status registers together.
  private read(addr: number, size: AccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte(addr + i - this.base) << (8 * i);
    return v >>> 0;
  }

  private write(addr: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) this.writeByte(addr + i - this.base, (value >>> (8 * i)) & 0xff);
  }

  private readByte(offset: number): number {
    switch (offset) {
      case SLEEP_CONTROL:
        return this.sleepType << SLP_TYP_SHIFT; // SLP_EN is write-only and reads 0
      case SLEEP_STATUS:
        return this.wakeStatus ? WAK_STS : 0;
      case RESET:
      case RESERVED:
        return 0;
      default:
        this.badAccesses++;
        return 0xff;
    }
  }

  private writeByte(offset: number, v: number): void {
    switch (offset) {
      case SLEEP_CONTROL:
        this.sleepType = (v & SLP_TYP_MASK) >>> SLP_TYP_SHIFT;
        if (v & SLP_EN) this.enterSleep();
        return;
      case SLEEP_STATUS:
        if (v & WAK_STS) this.wakeStatus = false;
        return;
      case RESET:
        if (v === RESET_VALUE) {
          this.resets++;
          this.machine.request({ kind: 'reset', source: 'acpi' });
        } else {
          this.ignoredResetWrites++;
        }
        return;
      default:
        this.badAccesses++;
    }
  }

  private enterSleep(): void {
    if (this.sleepType === SLP_TYP_S5) {
      this.poweroffs++;
      this.machine.request({ kind: 'poweroff', source: 'acpi' });
    } else {
      // Only S5 is offered in the DSDT. An OS asking for another state
      // polls WAK_STS until it is set, so report an immediate wake rather
      // than leave it spinning.
      this.ignoredSleeps++;
      this.wakeStatus = true;
    }
  }

  reset(): void {
    this.sleepType = 0;
    this.wakeStatus = false;
  }

  save(): AcpiPmSavedState {
    return { version: SAVED_VERSION, sleepType: this.sleepType, wakeStatus: this.wakeStatus };
  }

  inspect(): InspectNode {
    return inspect.tree({
      base: inspect.hex(this.base),
      sleepType: this.sleepType,
      wakeStatus: this.wakeStatus,
      poweroffs: inspect.counter(this.poweroffs),
      resets: inspect.counter(this.resets),
      ignoredSleeps: inspect.counter(this.ignoredSleeps),
      ignoredResetWrites: inspect.counter(this.ignoredResetWrites),
      badAccesses: inspect.counter(this.badAccesses),
    });
  }
}

/** Builds the block, fresh or from a SavedState. */
export const createAcpiPm: DeviceFactory<AcpiPmConfig, AcpiPmContext, AcpiPm> = (config, ctx, saved) =>
  new AcpiPm(config.base ?? ACPI_PM_BASE, ctx.machine, saved);
