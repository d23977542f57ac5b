/**
 * Drives emulated vCPUs on the device thread: runs each in turn for a
 * slice, fires due timers between slices, sleeps (setTimeout) when every
 * vCPU is halted until the next timer deadline or an interrupt wakes one,
 * and yields to the event loop regularly so host I/O (the console, sockets)
 * keeps flowing while the guest computes.
 */
import type { TimerQueue } from '../bus/clock.js';
import type { LapicBank } from '../chipset/lapic/bank.js';
import type { Lapic } from '../chipset/lapic/lapic.js';
import type { EmuVcpu } from '../hv/emu/emu-vcpu.js';
import { ExitReason } from '../hv/partition.js';

/** How long the driver may compute before yielding to the event loop (ms). */
const YIELD_MS = 8;

/** Why the driver stopped (set by whoever calls stop()). */
export interface DriverStop {
  readonly code: number;
  readonly reason: string;
  readonly reboot?: boolean;
}

/** Runs a machine's emulated vCPUs until stopped. */
export class EmuDriver {
  private stopped: DriverStop | null = null;
  private wake: (() => void) | null = null;
  private readonly halted: boolean[];
  /** Wall time spent with every vCPU halted, in ms (for inspect/benchmarks). */
  idleMs = 0;
  /** Called after every slice round (tests poke devices from here). */
  onRound: (() => void) | null = null;
  private pauseRequested = false;
  private parked: (() => void) | null = null;
  private unpark: (() => void) | null = null;

  constructor(
    private readonly vcpus: readonly EmuVcpu[],
    private readonly lapics: readonly Lapic[],
    private readonly bank: LapicBank,
    private readonly timers: TimerQueue,
  ) {
    this.halted = vcpus.map(() => false);
    for (const l of lapics) l.onPending = () => this.wakeUp();
    // A timer armed earlier than the one we sleep for must cut the sleep short.
    timers.onEarlier = () => this.wakeUp();
  }

  /** Ends run() with `stop` after the current slice. */
  stop(stop: DriverStop): void {
    if (this.stopped) return;
    this.stopped = stop;
    for (const v of this.vcpus) v.kick();
    this.wakeUp();
    // A paused driver wakes up to return.
    this.pauseRequested = false;
    this.parked?.();
    this.parked = null;
    this.unpark?.();
    this.unpark = null;
  }

  /**
   * Stops running vCPUs after their current slice; resolves once none is
   * running. Timers keep their deadlines and fire (late) after resume().
   */
  pause(): Promise<void> {
    this.pauseRequested = true;
    for (const v of this.vcpus) v.kick();
    this.wakeUp();
    return new Promise((resolve) => {
      if (this.stopped) resolve();
      else this.parked = resolve;
    });
  }

  /** Lets a paused driver run again. */
  resume(): void {
    this.pauseRequested = false;
    const u = this.unpark;
    this.unpark = null;
    u?.();
  }

  /** True while paused (between pause() resolving and resume()). */
  get paused(): boolean {
    return this.pauseRequested;
  }

  private async parkIfPaused(): Promise<void> {
    while (this.pauseRequested && !this.stopped) {
      const p = this.parked;
      this.parked = null;
      p?.();
      await new Promise<void>((resolve) => {
        this.unpark = resolve;
      });
    }
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Runs until stop() is called; resolves with what stop() was given. */
  async run(): Promise<DriverStop> {
    let lastYield = performance.now();
    while (!this.stopped) {
      if (this.pauseRequested) {
        await this.parkIfPaused();
        lastYield = performance.now();
        continue;
      }
      let runnable = false;
      for (let i = 0; i < this.vcpus.length && !this.stopped; i++) {
        const lapic = this.lapics[i]!;
        if (this.halted[i] && !lapic.pending) continue;
        if (lapic.waitingForSipi && !lapic.pending) continue;
        this.bank.current = i;
        const r = this.vcpus[i]!.run();
        if (r === ExitReason.Halt) this.halted[i] = true;
        else if (r === ExitReason.Shutdown) {
          this.stop({ code: 4, reason: `vcpu${i}: ${this.vcpus[i]!.exit.message || 'triple fault'}` });
          break;
        } else {
          this.halted[i] = false;
          runnable = true;
        }
      }
      this.timers.runDue();
      this.onRound?.();
      if (this.stopped) break;
      const anyPending = this.lapics.some((l, i) => this.halted[i] && l.pending);
      if (!runnable && !anyPending) {
        await this.sleep();
        lastYield = performance.now();
      } else if (performance.now() - lastYield > YIELD_MS) {
        await new Promise<void>((r) => setImmediate(r));
        lastYield = performance.now();
      }
    }
    return this.stopped!;
  }

  /** Sleeps until the next timer deadline, an interrupt, or stop(). */
  private async sleep(): Promise<void> {
    const deadline = this.timers.nextDeadline();
    const now = this.timers.clock.nowNs();
    const ms = deadline === Infinity ? 1000 : Math.max(0, (deadline - now) / 1e6);
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, Math.ceil(ms));
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.idleMs += performance.now() - t0;
  }
}
