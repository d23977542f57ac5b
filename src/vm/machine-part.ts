/**
 * How a subsystem plugs into the machine (PCI and its devices, virtio
 * disks and NICs, ...): the machine builder hands each a MachineContext
 * and collects a MachinePart. Keeps machine.ts a short, straight builder
 * and each subsystem's wiring in its own file (DESIGN.md: no central
 * device manager).
 */
import type { AcpiDevice } from '../acpi/devices.js';
import type { Clock, TimerQueue } from '../bus/clock.js';
import type { SavedState, VmmDevice } from '../bus/device.js';
import type { IoBus } from '../bus/io-bus.js';
import type { IrqSink, MsiTarget } from '../bus/irq.js';
import type { LogSink } from '../bus/log.js';
import type { MachineControl } from '../bus/machine.js';
import type { MemoryRange } from '../loader/memmap.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { VmConfig } from './config.js';

/** What the machine offers a subsystem while it is built. */
export interface MachineContext {
  readonly config: VmConfig;
  readonly memory: GuestMemory;
  readonly pio: IoBus;
  readonly mmio: IoBus;
  /** GSI lines (wrap with GsiLine). */
  readonly irq: IrqSink;
  /** Message-signalled interrupts (PCI MSI-X). */
  readonly msi: MsiTarget;
  readonly timers: TimerQueue;
  readonly clock: Clock;
  /** Power-off, reset, crash requests. */
  readonly control: MachineControl;
  readonly log: LogSink;
  /**
   * Set when the machine is restored from a snapshot: the SavedState of
   * the device with this id, to pass to its factory (`create(config, ctx,
   * saved)`). A part that ignores it makes the restore fail, by design.
   */
  readonly savedState?: SavedStateLookup;
}

/** Finds a device's SavedState by its stable id (undefined: the snapshot has none). */
export type SavedStateLookup = (id: string) => SavedState | undefined;

/** What a subsystem adds to the machine. */
export interface MachinePart {
  /** Devices with static regions, registered on the buses with everything else. */
  readonly devices: readonly VmmDevice[];
  /** DSDT contributions. */
  readonly acpi?: readonly AcpiDevice[];
  /** Guest-physical ranges the memory map must mark reserved (e.g. the ECAM window). */
  readonly reserved?: readonly MemoryRange[];
  /** Emit an MCFG table for the ECAM window (the PCI subsystem). */
  readonly mcfg?: boolean;
  /** Runs when the machine stops: flush disks, close sockets and files. */
  close?(): Promise<void>;
}
