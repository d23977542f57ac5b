/**
 * The PC devices every tsvmm machine has, wired per DESIGN.md's GSI table:
 * COM1 (0x3F8, GSI 4), CMOS/RTC (0x70, GSI 8), i8042 (0x60/0x64, GSIs 1
 * and 12), the ACPI PM registers and the GED power button (GSI 9), the
 * pvpanic port (0x505), the PIT when the platform models one, and the
 * debug-exit port on request.
 * Each contributes its DSDT node here.
 */
import type { AcpiDevice } from '../acpi/devices.js';
import { COM1, com16550Aml, i8042Aml, rtcAml } from '../acpi/devices.js';
import type { TimerQueue } from '../bus/clock.js';
import type { VmmDevice } from '../bus/device.js';
import { GsiLine, type IrqSink } from '../bus/irq.js';
import type { MachineControl } from '../bus/machine.js';
import { type AcpiPm, createAcpiPm } from '../chipset/acpi-pm/acpi-pm.js';
import { createDebugExit } from '../chipset/debug-exit/debug-exit.js';
import { createGed, type Ged } from '../chipset/ged/ged.js';
import { createI8042 } from '../chipset/i8042/i8042.js';
import { createPit, type Pit } from '../chipset/pit/pit.js';
import { createPvpanic } from '../chipset/pvpanic/pvpanic.js';
import { cmosMemoryPresets } from '../chipset/rtc/cmos-presets.js';
import { createRtc } from '../chipset/rtc/rtc.js';
import { createUart16550, type Uart16550 } from '../chipset/uart16550/uart16550.js';
import { COM_PORTS } from '../chipset/uart16550/regs.js';
import { LOW_RAM_TOP } from '../memory/layout.js';
import type { SavedStateLookup } from './machine-part.js';

/** GSI numbers of the legacy devices (DESIGN.md). */
export const GSI = { pit: 0, i8042Kbd: 1, com2: 3, com1: 4, rtc: 8, ged: 9, i8042Aux: 12 } as const;

/** What the legacy devices need. */
export interface LegacyOptions {
  readonly irq: IrqSink;
  readonly timers: TimerQueue;
  readonly machine: MachineControl;
  readonly memoryBytes: number;
  readonly cpus: number;
  /** Model the 8254 PIT (the emulator; KVM has its own). */
  readonly pit: boolean;
  readonly debugExit: boolean;
  /** Restoring: each device is built from its SavedState, by device id. */
  readonly saved?: SavedStateLookup;
}

/** The legacy devices, with handles the machine uses. */
export interface LegacyDevices {
  readonly com1: Uart16550;
  readonly acpiPm: AcpiPm;
  readonly ged: Ged;
  readonly pit: Pit | null;
  readonly all: readonly VmmDevice[];
  /** DSDT contributions. */
  readonly acpi: readonly AcpiDevice[];
}

/** Builds the legacy devices. */
export function createLegacyDevices(o: LegacyOptions): LegacyDevices {
  const line = (gsi: number) => new GsiLine(gsi, o.irq);
  const saved = o.saved ?? (() => undefined);
  const com1 = createUart16550({ id: 'com1', base: COM_PORTS.com1.base }, { irq: line(GSI.com1), timers: o.timers }, saved('com1'));
  const low = Math.min(o.memoryBytes, LOW_RAM_TOP);
  const rtc = createRtc(
    { id: 'rtc', cmos: cmosMemoryPresets(low, o.memoryBytes - low, o.cpus) },
    { irq: line(GSI.rtc), timers: o.timers },
    saved('rtc'),
  );
  const i8042 = createI8042({ id: 'i8042' }, { kbdIrq: line(GSI.i8042Kbd), auxIrq: line(GSI.i8042Aux), machine: o.machine }, saved('i8042'));
  const acpiPm = createAcpiPm({}, { machine: o.machine }, saved('acpi-pm'));
  const ged = createGed({}, { irq: line(GSI.ged) }, saved('ged'));
  const pit = o.pit ? createPit({ id: 'pit' }, { timers: o.timers, irq: line(GSI.pit) }, saved('pit')) : null;
  const pvpanic = createPvpanic({ id: 'pvpanic' }, { machine: o.machine }, saved('pvpanic'));
  const all: VmmDevice[] = [com1, rtc, i8042, acpiPm, ged, pvpanic];
  if (pit) all.push(pit);
  if (o.debugExit) all.push(createDebugExit({ id: 'debug-exit' }, { machine: o.machine }, saved('debug-exit')));
  const acpi: AcpiDevice[] = [ged, pvpanic, { aml: () => [com16550Aml(COM1), rtcAml(0x70, GSI.rtc), i8042Aml(GSI.i8042Kbd)] }];
  return { com1, acpiPm, ged, pit, all, acpi };
}
