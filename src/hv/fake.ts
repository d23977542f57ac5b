/**
 * A scripted backend for unit tests of the layers above hv/: a vCPU that
 * replays a list of exits and records how each was completed, and a
 * partition whose irqchip records every interrupt.
 */
import type { InterruptSource, MsiMessage } from '../bus/irq.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import {
  ExitReason,
  type Hypervisor,
  type IrqChip,
  type Partition,
  type PartitionConfig,
  type SystemEvent,
  type Vcpu,
  VcpuExit,
} from './partition.js';
import { type Registers, resetSpecialRegisters, type SpecialRegisters, zeroRegisters } from './registers.js';

/** One step of a fake vCPU's script. */
export type FakeStep =
  | { readonly reason: ExitReason.Io; readonly port: number; readonly size: 1 | 2 | 4; readonly write: boolean; readonly values?: readonly number[] }
  | { readonly reason: ExitReason.Mmio; readonly gpa: number; readonly size: 1 | 2 | 4 | 8; readonly write: boolean; readonly lo?: number; readonly hi?: number }
  | { readonly reason: ExitReason.Halt | ExitReason.Interrupted }
  | { readonly reason: ExitReason.Shutdown | ExitReason.InternalError | ExitReason.FailEntry; readonly message: string }
  | { readonly reason: ExitReason.SystemEvent; readonly event: SystemEvent };

/** What a read exit was answered with: the data the caller stored. */
export interface FakeCompletion {
  readonly step: number;
  readonly data: number[];
}

/** A vCPU that replays `script`, then halts forever. */
export class FakeVcpu implements Vcpu {
  readonly exit = new VcpuExit();
  /** Values the VMM stored for each read exit, in order. */
  readonly completions: FakeCompletion[] = [];
  kicks = 0;
  private step = -1;
  private regs = zeroRegisters();
  private sregs = resetSpecialRegisters();
  private readonly msrs = new Map<number, bigint>();

  constructor(
    readonly index: number,
    private readonly script: readonly FakeStep[],
    readonly interrupts?: InterruptSource,
  ) {}

  run(): ExitReason {
    this.recordCompletion();
    this.step++;
    const s = this.script[this.step];
    const e = this.exit;
    if (!s) {
      e.reason = ExitReason.Halt;
      return e.reason;
    }
    e.reason = s.reason;
    e.count = 1;
    switch (s.reason) {
      case ExitReason.Io:
        e.port = s.port;
        e.size = s.size;
        e.write = s.write;
        e.count = s.values?.length ?? 1;
        if (s.values) e.data.set(s.values);
        break;
      case ExitReason.Mmio:
        e.gpa = s.gpa;
        e.size = s.size;
        e.write = s.write;
        e.data[0] = s.lo ?? 0;
        e.data[1] = s.hi ?? 0;
        break;
      case ExitReason.SystemEvent:
        e.event = s.event;
        break;
      case ExitReason.Shutdown:
      case ExitReason.InternalError:
      case ExitReason.FailEntry:
        e.message = s.message;
        break;
    }
    return e.reason;
  }

  kick(): void {
    this.kicks++;
  }

  getRegisters(): Registers {
    return { ...this.regs };
  }
  setRegisters(regs: Registers): void {
    this.regs = { ...regs };
  }
  getSpecialRegisters(): SpecialRegisters {
    return structuredClone(this.sregs);
  }
  setSpecialRegisters(sregs: SpecialRegisters): void {
    this.sregs = structuredClone(sregs);
  }
  getMsrs(indices: readonly number[]): Map<number, bigint> {
    const out = new Map<number, bigint>();
    for (const i of indices) {
      const v = this.msrs.get(i);
      if (v !== undefined) out.set(i, v);
    }
    return out;
  }
  setMsrs(values: ReadonlyMap<number, bigint>): void {
    for (const [k, v] of values) this.msrs.set(k, v);
  }

  private recordCompletion(): void {
    const s = this.script[this.step];
    if (!s || !('write' in s) || s.write) return;
    if (s.reason === ExitReason.Io) {
      this.completions.push({ step: this.step, data: Array.from(this.exit.data.subarray(0, this.exit.count)) });
    } else if (s.reason === ExitReason.Mmio) {
      this.completions.push({ step: this.step, data: s.size === 8 ? [this.exit.data[0]!, this.exit.data[1]!] : [this.exit.data[0]!] });
    }
  }
}

/** An irqchip that records what it was asked to do. */
export class RecordingIrqChip implements IrqChip {
  readonly levels = new Map<number, boolean>();
  readonly history: Array<{ gsi: number; level: boolean }> = [];
  readonly msis: MsiMessage[] = [];

  setIrq(gsi: number, level: boolean): void {
    this.levels.set(gsi, level);
    this.history.push({ gsi, level });
  }

  signalMsi(msg: MsiMessage): void {
    this.msis.push({ ...msg });
  }
}

/** A partition whose vCPUs run the scripts given at construction. */
export class FakePartition implements Partition {
  readonly backend = 'fake';
  readonly irqchip = new RecordingIrqChip();
  readonly vcpus: FakeVcpu[] = [];
  closed = false;

  constructor(
    readonly memory: GuestMemory,
    private readonly scripts: readonly (readonly FakeStep[])[] = [],
  ) {}

  createVcpu(index: number, interrupts?: InterruptSource): FakeVcpu {
    const v = new FakeVcpu(index, this.scripts[index] ?? [], interrupts);
    this.vcpus[index] = v;
    return v;
  }

  close(): void {
    this.closed = true;
  }
}

/** A Hypervisor that always works and builds FakePartitions. */
export class FakeHypervisor implements Hypervisor {
  readonly name = 'fake';
  constructor(private readonly scripts: readonly (readonly FakeStep[])[] = []) {}
  available() {
    return { ok: true } as const;
  }
  createPartition(config: PartitionConfig): FakePartition {
    return new FakePartition(config.memory, this.scripts);
  }
}
