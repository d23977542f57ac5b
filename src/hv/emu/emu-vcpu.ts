/**
 * The software CPU as a Vcpu: runs the executor in slices on the device
 * thread, with devices called synchronously through the buses. Exits are
 * the same as KVM's: Halt (HLT with nothing to wake it), Shutdown (triple
 * fault), Interrupted (slice over or kicked).
 */
import type { InterruptSource } from '../../bus/irq.js';
import { noInterrupts } from '../../bus/irq.js';
import { RateLimitedLog, stderrSink, type LogSink } from '../../bus/log.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import { Cpu } from '../../x86/cpu.js';
import { Executor, RunResult } from '../../x86/exec.js';
import type { Instr } from '../../x86/instr.js';
import type { CpuClock, MsrDevice } from '../../x86/msr.js';
import type { Buses } from '../dispatch.js';
import { ExitReason, type Vcpu, VcpuExit } from '../partition.js';
import { type Registers, resetSpecialRegisters, type SpecialRegisters, zeroRegisters } from '../registers.js';
import type { CodeTracker } from '../../x86/code-tracker.js';
import { getCpuRegisters, getCpuSpecialRegisters, setCpuRegisters, setCpuSpecialRegisters } from './registers.js';
import { rdmsr, wrmsr } from '../../x86/msr.js';

/** Options for one emulated vCPU. */
export interface EmuVcpuOptions {
  readonly index: number;
  readonly memory: GuestMemory;
  readonly buses: Buses;
  readonly clock: CpuClock;
  readonly cpus: number;
  readonly interrupts?: InterruptSource;
  /** The LAPIC's MSRs. */
  readonly msrDevice?: MsrDevice;
  /** Instructions per run() slice. */
  readonly slice?: number;
  readonly log?: LogSink;
  /** Decoded-code marks shared by all vCPUs of the machine (SMP). */
  readonly code?: CodeTracker;
}

/** A vCPU backed by the software CPU. */
export class EmuVcpu implements Vcpu {
  readonly exit = new VcpuExit();
  readonly cpu: Cpu;
  readonly executor: Executor;
  private readonly slice: number;
  private kicked = false;
  private readonly log: RateLimitedLog;
  private readonly interrupts: InterruptSource;
  /**
   * In the wait-for-SIPI state (application processors at power-on and
   * after INIT): the vCPU runs nothing until a start-up IPI arrives.
   */
  waitingForSipi: boolean;

  constructor(readonly index: number, opts: EmuVcpuOptions) {
    this.cpu = new Cpu(opts.memory, opts.buses.pio, opts.buses.mmio, opts.clock, opts.code);
    this.cpu.apicId = opts.index;
    this.cpu.cpuCount = opts.cpus;
    this.cpu.msrDevice = opts.msrDevice ?? null;
    this.executor = new Executor(this.cpu);
    this.interrupts = opts.interrupts ?? noInterrupts;
    this.executor.interrupts = this.interrupts;
    // Shorter slices with several vCPUs so they interleave (and spinlocks hand over).
    this.slice = opts.slice ?? (opts.cpus > 1 ? 50_000 : 200_000);
    this.waitingForSipi = opts.index > 0;
    if (this.waitingForSipi) this.resetToInit();
    this.log = new RateLimitedLog(opts.log ?? stderrSink, 1);
    this.cpu.onInvalidOpcode = (i) => this.logInvalid(i);
  }

  run(): ExitReason {
    const e = this.exit;
    if (this.kicked) {
      this.kicked = false;
      e.reason = ExitReason.Interrupted;
      return e.reason;
    }
    const src = this.interrupts;
    if (src.pending || this.waitingForSipi) {
      if (src.takeInit()) {
        this.resetToInit();
        this.waitingForSipi = true;
      }
      if (this.waitingForSipi) {
        const vector = src.takeSipi();
        if (vector < 0) {
          e.reason = ExitReason.Halt;
          return e.reason;
        }
        this.startAt(vector);
      }
    }
    const r = this.executor.run(this.slice);
    switch (r) {
      case RunResult.Halted:
        e.reason = ExitReason.Halt;
        break;
      case RunResult.Shutdown:
        e.reason = ExitReason.Shutdown;
        e.message = this.executor.shutdownReason;
        break;
      default:
        e.reason = ExitReason.Interrupted;
    }
    return e.reason;
  }

  /** The state INIT leaves a CPU in (SDM vol. 3, table 9-1): real mode at F000:FFF0. */
  private resetToInit(): void {
    const regs = zeroRegisters();
    regs.rip = 0xfff0n;
    regs.rdx = 0x600n; // processor signature: family 6
    setCpuRegisters(this.cpu, regs);
    setCpuSpecialRegisters(this.cpu, resetSpecialRegisters());
    this.cpu.fpu.init();
    this.cpu.halted = false;
    this.cpu.shadow = false;
    this.executor.flush();
  }

  /** A start-up IPI: real mode at vector:0000 (CS = vector << 8). */
  private startAt(vector: number): void {
    const sregs = resetSpecialRegisters();
    sregs.cs.selector = (vector & 0xff) << 8;
    sregs.cs.base = BigInt((vector & 0xff) << 12);
    setCpuSpecialRegisters(this.cpu, sregs);
    this.cpu.rip = 0;
    this.cpu.halted = false;
    this.waitingForSipi = false;
    this.executor.flush();
  }

  kick(): void {
    this.kicked = true;
    this.cpu.stop = 2;
  }

  getRegisters(): Registers {
    return getCpuRegisters(this.cpu);
  }
  setRegisters(regs: Registers): void {
    setCpuRegisters(this.cpu, regs);
  }
  getSpecialRegisters(): SpecialRegisters {
    return getCpuSpecialRegisters(this.cpu);
  }
  setSpecialRegisters(sregs: SpecialRegisters): void {
    setCpuSpecialRegisters(this.cpu, sregs);
    this.executor.flush();
  }
  getMsrs(indices: readonly number[]): Map<number, bigint> {
    const out = new Map<number, bigint>();
    for (const i of indices) {
      try {
        const lo = rdmsr(this.cpu, i);
        out.set(i, (BigInt(this.cpu.hi >>> 0) << 32n) | BigInt(lo >>> 0));
      } catch {
        // unknown MSR: absent from the result
      }
    }
    return out;
  }
  setMsrs(values: ReadonlyMap<number, bigint>): void {
    for (const [i, v] of values) wrmsr(this.cpu, i, Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0);
  }

  private logInvalid(i: Instr): void {
    // One line per distinct opcode: the first occurrence, with its bytes.
    const key = `ud-${i.op.toString(16)}-${i.pfx}`;
    this.log.warn(key, () => {
      const base = this.cpu.mode64 ? 0 : this.cpu.segBase[1]!;
      const bytes: string[] = [];
      try {
        for (let k = 0; k < Math.min(Math.max(i.len, 1), 15); k++) bytes.push(this.cpu.rd8(base + i.rip + k).toString(16).padStart(2, '0'));
      } catch {
        bytes.push('??');
      }
      return `vcpu${this.index}: unimplemented instruction at 0x${i.rip.toString(16)}: ${bytes.join(' ')} (#UD raised in the guest)`;
    });
  }
}
