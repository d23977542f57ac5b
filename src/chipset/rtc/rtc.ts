/**
 * The PC's CMOS real-time clock (MC146818A): index port 0x70 (bit 7 = NMI
 * mask), data port 0x71, 128 bytes of CMOS RAM (256 with the extended bank
 * at 0x72/0x73), GSI 8.
 *
 * DEVNOTE: the wall clock (`now()`) is read once, when the device is built
 * or restored; from then on the RTC's seconds advance with the machine
 * Clock, so the time registers, UIP, update-ended, alarm and periodic
 * interrupts all run on one time base (deterministic under the emulator,
 * and consistent when idle time is skipped). A guest that sets the time
 * keeps its offset: a snapshot stores the RTC's time against the wall
 * clock, and a restore adds the wall time that passed meanwhile.
 *
 * Flags in register C are computed lazily from the clock when read. A Timer
 * runs only while an enabled interrupt source is armed and IRQF is clear:
 * once IRQF is set nothing changes until the guest reads register C.
 */
import { Timer, type TimerQueue } from '../../bus/clock.js';
import {
  checkSavedVersion,
  inspect,
  type AccessSize,
  type DeviceFactory,
  type InspectNode,
  type IoPart,
  type SavedState,
  type VmmDevice,
} from '../../bus/device.js';
import type { IrqLine } from '../../bus/irq.js';
import * as R from './regs.js';
import { imageEpoch, nextAlarm, nsOfTick32, periodTicks, ticks32, timeRegister } from './rtc-time.js';

/** CMOS memory-size presets for RtcConfig.cmos. */
export { cmosMemoryPresets } from './cmos-presets.js';

/** Where the RTC sits and what its CMOS RAM starts with. */
export interface RtcConfig {
  readonly id?: string;
  /** Index port (default 0x70); data is the next port. */
  readonly base?: number;
  /** Adds the second 128-byte bank at base+2 (index) / base+3 (data). */
  readonly extended?: boolean;
  /** CMOS bytes to preset on a fresh boot, by offset (see cmosMemoryPresets). */
  readonly cmos?: Readonly<Record<number, number>>;
}

/** What the RTC needs from the machine. */
export interface RtcContext {
  /** GSI 8. */
  readonly irq: IrqLine;
  /** The machine's timers; their clock drives the RTC between wall-clock reads. */
  readonly timers: TimerQueue;
  /** Wall-clock time in ms since the epoch (default Date.now). */
  readonly now?: () => number;
}

/** Saved RTC state, version 1. */
export interface RtcSavedState extends SavedState {
  readonly version: 1;
  /** All CMOS bytes (128 or 256); time registers hold the held image while updates are stopped. */
  readonly cmos: readonly number[];
  readonly index: number;
  readonly index2: number;
  readonly nmiMasked: boolean;
  readonly regA: number;
  readonly regB: number;
  /** PF, AF, UF as last computed. */
  readonly flags: number;
  /** The wall clock at save time, ms since the epoch. */
  readonly wallMs: number;
  /** The RTC's epoch second at save time. */
  readonly rtcSeconds: number;
  /** How far into that second the RTC was, in ns. */
  readonly subsecondNs: number;
}

const SAVE_VERSION = 1;

/**
 * Arms `timer` for `deadline`. DEVNOTE: TimerQueue.arm only lowers its cached
 * earliest deadline, so moving an armed timer later would leave
 * nextDeadline() early (a spurious wake-up); disarming first recomputes it.
 */
function armAt(timers: TimerQueue, timer: Timer, deadline: number): void {
  if (timer.armed && deadline > timer.deadline) timers.disarm(timer);
  timers.arm(timer, deadline);
}
const INTERRUPT_ENABLES = R.B_PIE | R.B_AIE | R.B_UIE;
const IS_TIME_REG = new Uint8Array(128);
for (const i of R.TIME_REGS) IS_TIME_REG[i] = 1;

/** The MC146818A RTC and CMOS RAM. */
export class Rtc implements VmmDevice {
  readonly id: string;
  readonly pio: IoPart;
  private readonly base: number;
  private readonly irq: IrqLine;
  private readonly timers: TimerQueue;
  private readonly now: () => number;
  private readonly timer: Timer;
  private cmos: Uint8Array;
  private index = 0;
  private index2 = 0;
  private nmi = false;
  private regA = R.A_DV_32K | 0x06;
  private regB = R.B_24H;
  private flags = 0;
  /** The RTC second that began at machine time refNs. */
  private refSec = 0;
  private refNs = 0;
  private lastSync = 0;
  private level = false;
  private interrupts = 0;
  private badTimeWrites = 0;
  private ignoredWrites = 0;

  constructor(config: RtcConfig, ctx: RtcContext, saved?: SavedState) {
    this.id = config.id ?? 'rtc';
    this.base = config.base ?? R.RTC_INDEX_PORT;
    this.irq = ctx.irq;
    this.timers = ctx.timers;
    this.now = ctx.now ?? Date.now;
    this.timer = new Timer(`${this.id}-event`, (t) => this.onTimer(t));
    this.cmos = new Uint8Array(config.extended ? 256 : 128);
    const regions = [{ name: 'rtc', base: this.base, size: 2 }];
    if (config.extended) regions.push({ name: 'cmos-bank1', base: this.base + 2, size: 2 });
    this.pio = {
      regions,
      read: (addr, size) => this.read(addr, size),
      write: (addr, size, value) => this.write(addr, size, value),
    };
    const t = this.clock();
    if (saved) {
      this.restore(saved, t);
    } else {
      for (const [k, v] of Object.entries(config.cmos ?? {})) {
        const off = Number(k);
        if (!Number.isInteger(off) || off < 0 || off >= this.cmos.length || !Number.isInteger(v) || v < 0 || v > 0xff) {
          throw new RangeError(`${this.id}: CMOS preset ${k}=${v} is outside 0..${this.cmos.length - 1} / 0..255`);
        }
        this.cmos[off] = v;
      }
      const wall = this.now();
      this.refSec = Math.floor(wall / 1000);
      this.refNs = t - Math.round((wall - this.refSec * 1000) * 1e6);
    }
    this.lastSync = t;
    this.updateLine();
    this.rearm(t);
  }

  /** Whether the guest has masked NMIs through port 0x70 bit 7 (for the integrator). */
  get nmiMasked(): boolean {
    return this.nmi;
  }

  private clock(): number {
    return this.timers.clock.nowNs();
  }

  private get running(): boolean {
    return (this.regA & R.A_DV_MASK) === R.A_DV_32K;
  }

  /** Updates are held (time registers show the image in CMOS RAM). */
  private get held(): boolean {
    return !this.running || (this.regB & R.B_SET) !== 0;
  }

  private secondAt(t: number): number {
    return this.refSec + Math.floor((t - this.refNs) / 1e9);
  }

  // An ISA device sees a wide access as consecutive byte accesses.
  private read(addr: number, size: AccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte(addr + i - this.base) << (8 * i);
    return v >>> 0;
  }

  private write(addr: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) this.writeByte(addr + i - this.base, (value >>> (8 * i)) & 0xff);
  }

  private readByte(off: number): number {
    if (off === 1) return this.readReg(this.index);
    if (off === 3 && this.cmos.length > 128) return this.cmos[128 + this.index2]!;
    // The index registers are write-only.
    return 0xff;
  }

  private writeByte(off: number, v: number): void {
    if (off === 0) {
      this.index = v & 0x7f;
      this.nmi = (v & 0x80) !== 0;
    } else if (off === 1) {
      this.writeReg(this.index, v);
    } else if (off === 2 && this.cmos.length > 128) {
      this.index2 = v & 0x7f;
    } else if (off === 3 && this.cmos.length > 128) {
      this.cmos[128 + this.index2] = v;
    }
  }

  private isTimeReg(i: number): boolean {
    return IS_TIME_REG[i] === 1;
  }

  private readReg(i: number): number {
    const t = this.clock();
    switch (i) {
      case R.REG_A: {
        const phase = (((t - this.refNs) % 1e9) + 1e9) % 1e9;
        const uip = !this.held && phase >= 1e9 - R.UIP_NS;
        return this.regA | (uip ? R.A_UIP : 0);
      }
      case R.REG_B:
        return this.regB;
      case R.REG_C: {
        this.sync(t);
        const v = this.flags | (this.irqf() ? R.C_IRQF : 0);
        this.flags = 0;
        this.updateLine();
        this.rearm(t);
        return v;
      }
      case R.REG_D:
        return R.D_VRT;
      default:
        if (this.isTimeReg(i) && !this.held) return timeRegister(i, this.secondAt(t), this.regB);
        return this.cmos[i]!;
    }
  }

  private writeReg(i: number, v: number): void {
    const t = this.clock();
    switch (i) {
      case R.REG_A:
        this.setControl(t, v & ~R.A_UIP, this.regB);
        break;
      case R.REG_B:
        // MC146818A: setting SET clears UIE.
        this.setControl(t, this.regA, v & R.B_SET ? v & ~R.B_UIE : v);
        break;
      case R.REG_C:
      case R.REG_D:
        this.ignoredWrites++;
        return;
      default:
        if (this.isTimeReg(i) && !this.held) {
          this.sync(t);
          this.snapshot(t);
          this.cmos[i] = v;
          this.commit(t);
          this.lastSync = t;
        } else {
          this.cmos[i] = v;
          return;
        }
    }
    this.updateLine();
    this.rearm(t);
  }

  /** Writes registers A and B, holding or releasing updates as SET and the divider say. */
  private setControl(t: number, a: number, b: number): void {
    this.sync(t);
    const wasHeld = this.held;
    const wasRunning = this.running;
    // The image is taken in the old data mode, as the registers would hold it.
    if (!wasHeld) this.snapshot(t);
    this.regA = a;
    this.regB = b;
    // Releasing the divider reset starts the chain: the first update comes half a second later.
    if (!wasRunning && this.running) this.refNs = t - 500_000_000;
    if (wasHeld && !this.held) this.commit(t);
    this.lastSync = t;
  }

  /** Copies the live time into the time registers' RAM bytes (updates are about to be held). */
  private snapshot(t: number): void {
    const s = this.secondAt(t);
    for (const i of R.TIME_REGS) this.cmos[i] = timeRegister(i, s, this.regB);
  }

  /** Makes the time registers' RAM bytes the live time, keeping the divider's phase. */
  private commit(t: number): void {
    const { epoch, valid } = imageEpoch(this.cmos, this.regB);
    if (!valid) this.badTimeWrites++;
    if (Number.isFinite(epoch)) this.refSec = epoch - Math.floor((t - this.refNs) / 1e9);
  }

  /** Folds the events since the last sync into the flags. */
  private sync(t: number): void {
    if (t <= this.lastSync) return;
    if (this.running) {
      const p = periodTicks(this.regA & R.A_RS_MASK);
      if (p > 0 && Math.floor(ticks32(t - this.refNs) / p) > Math.floor(ticks32(this.lastSync - this.refNs) / p)) {
        this.flags |= R.C_PF;
      }
      if (!(this.regB & R.B_SET)) {
        const s1 = this.secondAt(this.lastSync);
        const s2 = this.secondAt(t);
        if (s2 > s1) {
          this.flags |= R.C_UF;
          if (this.alarmFrom(s1 + 1) <= s2) this.flags |= R.C_AF;
        }
      }
    }
    this.lastSync = t;
    this.updateLine();
  }

  private alarmFrom(s: number): number {
    const c = this.cmos;
    return nextAlarm(s, c[R.REG_SECONDS_ALARM]!, c[R.REG_MINUTES_ALARM]!, c[R.REG_HOURS_ALARM]!, this.regB);
  }

  private irqf(): boolean {
    return (this.flags & this.regB & INTERRUPT_ENABLES) !== 0;
  }

  private updateLine(): void {
    const level = this.irqf();
    if (level === this.level) return;
    this.level = level;
    if (level) this.interrupts++;
    this.irq.set(level);
  }

  /** Arms the timer for the next enabled event, unless IRQF already holds the line. */
  private rearm(t: number): void {
    let next = Infinity;
    if (!this.irqf() && this.running) {
      const rel = t - this.refNs;
      const p = periodTicks(this.regA & R.A_RS_MASK);
      if (this.regB & R.B_PIE && p > 0) {
        next = this.refNs + nsOfTick32((Math.floor(ticks32(rel) / p) + 1) * p);
      }
      if (!(this.regB & R.B_SET)) {
        if (this.regB & R.B_UIE) next = Math.min(next, this.refNs + (Math.floor(rel / 1e9) + 1) * 1e9);
        if (this.regB & R.B_AIE) {
          const s = this.alarmFrom(this.secondAt(t) + 1);
          if (s !== Infinity) next = Math.min(next, this.refNs + (s - this.refSec) * 1e9);
        }
      }
    }
    if (next === Infinity) this.timers.disarm(this.timer);
    else armAt(this.timers, this.timer, next);
  }

  private onTimer(t: number): void {
    this.sync(t);
    this.rearm(t);
  }

  /** The RTC's current time as an ISO string, or null while updates are held (inspect, tests). */
  get time(): string | null {
    return this.held ? null : new Date(this.secondAt(this.clock()) * 1000).toISOString();
  }

  reset(): void {
    // The RESET pin clears the interrupt enables and flags; time and RAM are battery-backed.
    const t = this.clock();
    this.regB &= ~(INTERRUPT_ENABLES | R.B_SQWE);
    this.flags = 0;
    this.lastSync = t;
    this.updateLine();
    this.rearm(t);
  }

  save(): RtcSavedState {
    const t = this.clock();
    this.sync(t);
    const rel = t - this.refNs;
    return {
      version: SAVE_VERSION,
      cmos: [...this.cmos],
      index: this.index,
      index2: this.index2,
      nmiMasked: this.nmi,
      regA: this.regA,
      regB: this.regB,
      flags: this.flags,
      wallMs: this.now(),
      rtcSeconds: this.secondAt(t),
      subsecondNs: ((rel % 1e9) + 1e9) % 1e9,
    };
  }

  private restore(saved: SavedState, t: number): void {
    const s = checkSavedVersion<RtcSavedState>(this.id, saved, SAVE_VERSION);
    const byte = (v: unknown): number => (typeof v === 'number' ? v & 0xff : 0);
    const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
    if (Array.isArray(s.cmos)) s.cmos.slice(0, this.cmos.length).forEach((v, i) => (this.cmos[i] = byte(v)));
    this.index = byte(s.index) & 0x7f;
    this.index2 = byte(s.index2) & 0x7f;
    this.nmi = s.nmiMasked === true;
    this.regA = byte(s.regA) & ~R.A_UIP;
    this.regB = byte(s.regB);
    this.flags = byte(s.flags) & (R.C_PF | R.C_AF | R.C_UF);
    const elapsedNs = Math.max(0, Math.round((this.now() - num(s.wallMs)) * 1e6));
    this.refSec = Math.floor(num(s.rtcSeconds));
    this.refNs = t - Math.min(Math.max(0, num(s.subsecondNs)), 1e9 - 1) - elapsedNs;
  }

  inspect(): InspectNode {
    return inspect.tree({
      time: this.time,
      index: inspect.hex(this.index),
      nmiMasked: this.nmi,
      regA: inspect.hex(this.regA),
      regB: inspect.hex(this.regB),
      flags: inspect.hex(this.flags),
      irq: this.level,
      nextEventNs: this.timer.armed ? this.timer.deadline : null,
      interrupts: inspect.counter(this.interrupts),
      badTimeWrites: inspect.counter(this.badTimeWrites),
      ignoredWrites: inspect.counter(this.ignoredWrites),
    });
  }
}

/** Builds the RTC, fresh or from a SavedState. */
export const createRtc: DeviceFactory<RtcConfig, RtcContext, Rtc> = (config, ctx, saved) => new Rtc(config, ctx, saved);
