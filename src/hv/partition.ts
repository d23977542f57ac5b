/**
 * The hypervisor contract: a Partition (one VM's memory, interrupt routing
 * and vCPUs) and its Vcpus. hv/kvm and hv/emu implement it; everything
 * above hv/ is written against these types only.
 *
 * DEVNOTE: a Vcpu reports its exit in one reused `VcpuExit` object instead
 * of returning a fresh object per exit: KVM exits happen hundreds of
 * thousands of times a second and must not allocate.
 */
import type { InterruptSource, MsiMessage } from '../bus/irq.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { Registers, SpecialRegisters } from './registers.js';

/** Why Vcpu.run() returned. */
export enum ExitReason {
  /** Port I/O: `port`, `size`, `write`, `count`, values in `data`. */
  Io = 1,
  /** MMIO: `gpa`, `size` (1, 2, 4 or 8), `write`, value in data[0] (low) and data[1] (high). */
  Mmio = 2,
  /** HLT with interrupts unable to wake the vCPU inside the backend. */
  Halt = 3,
  /** Triple fault or an equivalent unrecoverable CPU state; `message` says why. */
  Shutdown = 4,
  /** The platform asked for power-off, reset or crash; see `event`. */
  SystemEvent = 5,
  /** The backend could not run the guest (emulation failure, ...); `message` says why. */
  InternalError = 6,
  /** VM entry failed (invalid guest state); `message` says why. */
  FailEntry = 7,
  /** Kicked from another thread, or the emulator's time slice ended. Not an error. */
  Interrupted = 8,
}

/** Platform events carried by ExitReason.SystemEvent. */
export type SystemEvent = 'shutdown' | 'reset' | 'crash';

/** The details of the last exit. Only the fields of `reason` are meaningful. */
export class VcpuExit {
  reason: ExitReason = ExitReason.Interrupted;
  port = 0;
  gpa = 0;
  size: 1 | 2 | 4 | 8 = 1;
  write = false;
  /** Repeat count of a string I/O instruction (ins/outs); 1 otherwise. */
  count = 1;
  /**
   * Values: for OUT and MMIO writes, what the guest wrote; for IN and MMIO
   * reads, the caller stores the result here before the next run().
   * I/O uses data[0..count); 8-byte MMIO uses data[0] (low) and data[1] (high).
   */
  readonly data = new Uint32Array(1024);
  event: SystemEvent = 'shutdown';
  message = '';
}

/** One virtual CPU. Not thread-safe except kick(). */
export interface Vcpu {
  readonly index: number;
  /** Details of the exit that the last run() returned. */
  readonly exit: VcpuExit;
  /**
   * Runs the guest until it needs the VMM. For an I/O or MMIO read, store
   * the result in exit.data before calling run() again; the backend
   * completes the instruction first.
   */
  run(): ExitReason;
  /** Makes a run() in progress (or the next one) return Interrupted soon. Callable from any thread. */
  kick(): void;
  getRegisters(): Registers;
  setRegisters(regs: Registers): void;
  getSpecialRegisters(): SpecialRegisters;
  setSpecialRegisters(sregs: SpecialRegisters): void;
  /** Reads MSRs by index; unknown ones are absent from the result. */
  getMsrs(indices: readonly number[]): Map<number, bigint>;
  setMsrs(values: ReadonlyMap<number, bigint>): void;
}

/** Interrupt controller functions a backend may implement itself (KVM's in-kernel irqchip). */
export interface IrqChip {
  /** Drives a GSI line (IOAPIC pin, and PIC pin for GSIs 0-15). */
  setIrq(gsi: number, level: boolean): void;
  /** Injects one MSI. */
  signalMsi(msg: MsiMessage): void;
}

/** What a Partition needs from the machine to be built. */
export interface PartitionConfig {
  readonly memory: GuestMemory;
  readonly cpus: number;
}

/** One VM as the hypervisor sees it. */
export interface Partition {
  /** "kvm", "emu" or "fake". */
  readonly backend: string;
  readonly memory: GuestMemory;
  /**
   * The backend's own interrupt controllers, or null when the machine must
   * model them (the emulator: vm/ wires chipset/'s LAPIC, IOAPIC, PIC).
   */
  readonly irqchip: IrqChip | null;
  /** Creates vCPU `index` (0 = the bootstrap processor). */
  createVcpu(index: number, interrupts?: InterruptSource): Vcpu;
  /** Releases vCPUs and host resources; guest memory belongs to the caller. */
  close(): void;
}

/** Whether a backend can run on this machine, and why not. */
export type Availability = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** A CPU backend: checks the host and creates partitions. */
export interface Hypervisor {
  readonly name: string;
  available(): Availability;
  createPartition(config: PartitionConfig): Partition;
}
