/**
 * The pvpanic device: turns a guest kernel panic into a machine crash
 * request (tsvmm exits with code 4 and says so). Linux's pvpanic-mmio
 * driver finds it through the DSDT node (QEMU0001 with an I/O resource).
 */
import type { AcpiDevice } from '../../acpi/devices.js';
import { pvpanicAml } from '../../acpi/devices.js';
import { checkSavedVersion, type DeviceFactory, type InspectNode, type IoPart, type SavedState, type VmmDevice } from '../../bus/device.js';
import type { MachineControl } from '../../bus/machine.js';
import { PVPANIC_CRASH_LOADED, PVPANIC_PANICKED, PVPANIC_PORT, PVPANIC_SUPPORTED } from './regs.js';

/** Where the device sits. */
export interface PvpanicConfig {
  readonly id?: string;
  readonly port?: number;
}

/** What it needs from the machine. */
export interface PvpanicContext {
  readonly machine: MachineControl;
}

/** Saved state, version 1. */
export interface PvpanicSavedState extends SavedState {
  readonly version: 1;
  readonly events: number;
}

/** The pvpanic port. */
export class Pvpanic implements VmmDevice, AcpiDevice {
  readonly id: string;
  readonly pio: IoPart;
  private readonly port: number;
  /** Events the guest reported, OR-ed together. */
  private events = 0;
  private panics = 0;

  constructor(config: PvpanicConfig, private readonly ctx: PvpanicContext, saved?: SavedState) {
    this.id = config.id ?? 'pvpanic';
    this.port = config.port ?? PVPANIC_PORT;
    this.pio = {
      regions: [{ name: 'pvpanic', base: this.port, size: 1 }],
      read: (_addr, size) => (size === 1 ? PVPANIC_SUPPORTED : 0xffffffff >>> (32 - 8 * size)),
      write: (_addr, _size, value) => this.event(value & 0xff),
    };
    if (saved) this.events = checkSavedVersion<PvpanicSavedState>(this.id, saved, 1).events ?? 0;
  }

  private event(v: number): void {
    this.events |= v & PVPANIC_SUPPORTED;
    if ((v & PVPANIC_PANICKED) !== 0) {
      this.panics++;
      this.ctx.machine.request({ kind: 'crash', source: 'pvpanic', message: 'kernel panic (reported through pvpanic)' });
    } else if ((v & PVPANIC_CRASH_LOADED) !== 0) {
      this.ctx.machine.request({ kind: 'crash', source: 'pvpanic', message: 'kernel panic, crash kernel loaded (pvpanic)' });
    }
  }

  aml() {
    return [pvpanicAml(this.port)];
  }

  reset(): void {
    this.events = 0;
  }

  save(): PvpanicSavedState {
    return { version: 1, events: this.events };
  }

  inspect(): InspectNode {
    return { children: { events: { value: this.events, hex: true }, panics: { value: this.panics, counter: true } } };
  }
}

/** Builds the pvpanic device, fresh or from its saved state. */
export const createPvpanic: DeviceFactory<PvpanicConfig, PvpanicContext, Pvpanic> = (config, ctx, saved) => new Pvpanic(config, ctx, saved);
