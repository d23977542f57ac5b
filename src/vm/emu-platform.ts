/**
 * The software CPU's platform: the interrupt controllers (8259 pair,
 * IOAPIC, one LAPIC per vCPU behind the shared LAPIC page), the APIC bus
 * that wires them, and the emulated vCPUs. Under KVM the in-kernel irqchip
 * replaces all of this.
 */
import type { VmmDevice } from '../bus/device.js';
import type { IrqSink, MsiTarget } from '../bus/irq.js';
import type { TimerQueue } from '../bus/clock.js';
import type { LogSink } from '../bus/log.js';
import { createApicBus, type ApicBus } from '../chipset/apic-bus/apic-bus.js';
import { createIoapic, type Ioapic } from '../chipset/ioapic/ioapic.js';
import { createLapicBank, type LapicBank } from '../chipset/lapic/bank.js';
import { createLapic, type Lapic } from '../chipset/lapic/lapic.js';
import { createPic, type Pic } from '../chipset/pic/pic.js';
import type { Buses } from '../hv/dispatch.js';
import { EmuVcpu } from '../hv/emu/emu-vcpu.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { CpuClock, MsrDevice } from '../x86/msr.js';
import { CodeTracker } from '../x86/code-tracker.js';
import type { SavedStateLookup } from './machine-part.js';

/** IOAPIC MMIO base and ID (the MADT says the same). */
export const IOAPIC_BASE = 0xfec0_0000;
export const LAPIC_BASE = 0xfee0_0000;

/** Everything the emulator platform consists of. */
export interface EmuPlatform {
  readonly irq: IrqSink;
  readonly msi: MsiTarget;
  readonly pic: Pic;
  readonly ioapic: Ioapic;
  readonly lapics: readonly Lapic[];
  readonly bank: LapicBank;
  readonly vcpus: readonly EmuVcpu[];
  /** Devices to register on the buses. */
  readonly devices: readonly VmmDevice[];
  /** Every device with state to snapshot: the bus devices plus the APIC bus and the LAPICs. */
  readonly stateful: readonly VmmDevice[];
}

/** What the platform needs from the machine. */
export interface EmuPlatformOptions {
  readonly cpus: number;
  readonly memory: GuestMemory;
  readonly buses: Buses;
  readonly timers: TimerQueue;
  readonly clock: CpuClock;
  readonly log?: LogSink;
  /** Restoring: each controller is built from its SavedState (the vCPUs' state is loaded by the machine). */
  readonly saved?: SavedStateLookup;
}

/** Adapts a LAPIC's MSR interface (one 64-bit number) to the CPU's (two halves). */
function lapicMsrs(lapic: Lapic): MsrDevice {
  return {
    readMsr(index) {
      const v = lapic.readMsr(index);
      if (v === undefined) return null;
      return [v % 4294967296 | 0, Math.floor(v / 4294967296) | 0];
    },
    writeMsr(index, lo, hi) {
      return lapic.writeMsr(index, (hi >>> 0) * 4294967296 + (lo >>> 0));
    },
  };
}

/** Builds the interrupt controllers and vCPUs, wired in the order the APIC bus needs. */
export function createEmuPlatform(opts: EmuPlatformOptions): EmuPlatform {
  const saved = opts.saved ?? (() => undefined);
  const bus: ApicBus = createApicBus({}, {}, saved('apic-bus'));
  const pic = createPic({}, {}, saved('pic'));
  const lapics: Lapic[] = [];
  for (let i = 0; i < opts.cpus; i++) {
    lapics.push(createLapic({ index: i, tscHz: opts.clock.tscHz, bsp: i === 0 }, { timers: opts.timers, router: bus }, saved(`lapic${i}`)));
  }
  // The MADT gives the IOAPIC the first ID after the CPUs.
  const ioapic = createIoapic({ base: IOAPIC_BASE, apicId: opts.cpus }, { router: bus }, saved('ioapic'));
  bus.connect({ lapics, ioapic, pic });
  const bank = createLapicBank({ base: LAPIC_BASE }, { lapics }, saved('lapic'));
  // One set of decoded-code marks: a store by any vCPU must reach every vCPU's blocks.
  const code = new CodeTracker(opts.memory.flat().length);
  const vcpus = lapics.map(
    (lapic, i) =>
      new EmuVcpu(i, {
        index: i,
        memory: opts.memory,
        buses: opts.buses,
        clock: opts.clock,
        cpus: opts.cpus,
        interrupts: lapic,
        msrDevice: lapicMsrs(lapic),
        code,
        ...(opts.log ? { log: opts.log } : {}),
      }),
  );
  return { irq: bus, msi: bus, pic, ioapic, lapics, bank, vcpus, devices: [pic, ioapic, bank], stateful: [bus, pic, ioapic, ...lapics, bank] };
}
