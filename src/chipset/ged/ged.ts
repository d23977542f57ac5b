/**
 * The Generic Event Device (ACPI0013): how a hardware-reduced machine
 * signals ACPI events without GPE blocks. The host presses the power
 * button, the device sets an event bit and asserts its level-triggered
 * GSI, the OS runs the GED's _EVT, which reads (and so acknowledges) the
 * event register and Notify()s the power button device PNP0C0C with 0x80.
 * Registers: regs.ts.
 */
import { type AmlNode, eisaId, local, ref, string } from '../../acpi/aml.js';
import { and, device, field, ifThen, method, name, notify, operationRegion, store } from '../../acpi/aml-ops.js';
import { interrupt, resourceTemplate } from '../../acpi/aml-resources.js';
import type { AcpiDevice } from '../../acpi/devices.js';
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
import type { IrqLine } from '../../bus/irq.js';
import { EVENT_POWER_BUTTON, GED_BASE, GED_SIZE, NOTIFY_POWER_BUTTON } from './regs.js';

/** Where the event register sits. */
export interface GedConfig {
  /** Port of the event register; default 0x610. */
  readonly base?: number;
}

/** What the device needs from the machine. */
export interface GedContext {
  /** Its interrupt line (GSI 9 on tsvmm machines); driven as a level. */
  readonly irq: IrqLine;
}

/** Saved state, version 1. */
export interface GedSavedState extends SavedState {
  readonly version: 1;
  /** Event bits raised and not yet read by the guest. */
  readonly pending: number;
}

const SAVED_VERSION = 1;

/** The DSDT names of the GED and the power button it notifies. */
export const GED_NAME = 'GED0';
/** See GED_NAME. */
export const POWER_BUTTON_NAME = 'PWRB';

/** The Generic Event Device and its power button. */
export class Ged implements VmmDevice, AcpiDevice {
  readonly id = 'ged';
  readonly pio: IoPart;

  private pending = 0;
  private presses = 0;
  private acknowledged = 0;
  private badAccesses = 0;

  constructor(
    private readonly base: number,
    private readonly irq: IrqLine,
    saved?: SavedState,
  ) {
    this.pio = {
      regions: [{ name: 'ged', base, size: GED_SIZE }],
      read: (addr, size) => this.read(addr, size),
      write: (addr, size) => this.write(addr, size),
    };
    if (saved) {
      const s = checkSavedVersion<GedSavedState>(this.id, saved, SAVED_VERSION);
      this.pending = Number(s.pending) >>> 0;
    }
    // The line's level is derived state: re-assert it after a restore.
    this.irq.set(this.pending !== 0);
  }

  /** Host side: the user pressed the power button. */
  pressPowerButton(): void {
    this.presses++;
    this.raise(EVENT_POWER_BUTTON);
  }

  /** Event bits the guest has not read yet. */
  get pendingEvents(): number {
    return this.pending;
  }

  private raise(bits: number): void {
    this.pending = (this.pending | bits) >>> 0;
    this.irq.set(true);
  }

  // A read returns the bytes of the register it covers and clears exactly
  // the bits it returned, so a byte read acknowledges only its byte.
  private read(addr: number, size: AccessSize): number {
    let v = 0;
    let taken = 0;
    for (let i = 0; i < size; i++) {
      const off = addr + i - this.base;
      if (off < 0 || off >= GED_SIZE) {
        this.badAccesses++;
        v |= 0xff << (8 * i);
        continue;
      }
      const byte = (this.pending >>> (8 * off)) & 0xff;
      v |= byte << (8 * i);
      taken |= byte << (8 * off);
    }
    if (taken !== 0) {
      this.acknowledged++;
      this.pending = (this.pending & ~taken) >>> 0;
      if (this.pending === 0) this.irq.set(false);
    }
    return v >>> 0;
  }

  private write(_addr: number, _size: AccessSize): void {
    // The register is read-only; the field is WriteAsZeros so AML never writes.
    this.badAccesses++;
  }

  /** The GED (with its register and _EVT) and the power button device, for \_SB. */
  aml(): AmlNode[] {
    const gevt = ref('GEVT');
    return [
      device(GED_NAME, [
        name('_HID', string('ACPI0013')),
        name('_UID', 0),
        name('_CRS', resourceTemplate([interrupt({ trigger: 'level', polarity: 'high' }, [this.irq.gsi])])),
        operationRegion('GDST', 'SystemIO', this.base, GED_SIZE),
        field('GDST', { access: 'DWordAcc', update: 'WriteAsZeros' }, [{ name: 'GEVT', bits: 32 }]),
        // Arg0 is the GSI that fired; there is only one, so it is not checked.
        method('_EVT', { args: 1, serialized: true }, [
          store(gevt, local(0)),
          ifThen(and(local(0), EVENT_POWER_BUTTON), [notify(ref(`\\_SB.${POWER_BUTTON_NAME}`), NOTIFY_POWER_BUTTON)]),
        ]),
      ]),
      device(POWER_BUTTON_NAME, [name('_HID', eisaId('PNP0C0C')), name('_UID', 0)]),
    ];
  }

  reset(): void {
    this.pending = 0;
    this.irq.set(false);
  }

  save(): GedSavedState {
    return { version: SAVED_VERSION, pending: this.pending };
  }

  inspect(): InspectNode {
    return inspect.tree({
      base: inspect.hex(this.base),
      gsi: this.irq.gsi,
      pending: inspect.hex(this.pending),
      powerButtonPresses: inspect.counter(this.presses),
      acknowledged: inspect.counter(this.acknowledged),
      badAccesses: inspect.counter(this.badAccesses),
    });
  }
}

/** Builds the GED, fresh or from a SavedState. */
export const createGed: DeviceFactory<GedConfig, GedContext, Ged> = (config, ctx, saved) =>
  new Ged(config.base ?? GED_BASE, ctx.irq, saved);
