/**
 * The LAPIC timer: one-shot and periodic counting at the bus clock divided
 * by the DCR, and TSC-deadline mode. It never polls: a Timer on the
 * machine's TimerQueue fires at the exact expiry time, and the current
 * count is computed from the clock when read.
 *
 * DEVNOTE: the counter ticks every `divisor * 1e9 / busHz` ns from the
 * moment the initial count is written (busHz defaults to 1 GHz, so a tick is
 * `divisor` ns). The TSC is derived from the same clock,
 * TSC = floor(nowNs * tscHz / 1e9) (see tscAt), so a guest comparing TSC and
 * LAPIC timer sees them agree exactly.
 */
import { Timer, type TimerQueue } from '../../bus/clock.js';
import { TIMER_ONESHOT, TIMER_PERIODIC, TIMER_TSC_DEADLINE } from './regs.js';

/** The TSC value at machine time `nowNs` for a TSC running at `tscHz`: floor(nowNs * tscHz / 1e9). */
export function tscAt(nowNs: number, tscHz: number): number {
  // Split at whole seconds so the product stays small enough to be exact.
  const s = Math.floor(nowNs / 1e9);
  const rem = nowNs - s * 1e9;
  return s * tscHz + Math.floor((rem * tscHz) / 1e9);
}

/** The first whole nanosecond at which tscAt() reaches `tsc`. */
export function nsForTsc(tsc: number, tscHz: number): number {
  const s = Math.floor(tsc / tscHz);
  let ns = s * 1e9 + Math.ceil(((tsc - s * tscHz) * 1e9) / tscHz);
  // Past 2^53 ns (104 days) whole nanoseconds are not representable and
  // the guest's deadline is that far off anyway: keep the estimate.
  if (!Number.isSafeInteger(ns + 2)) return ns;
  // Rounding in either direction is at most a step or two; settle exactly
  // (bounded, because the deadline comes from the guest).
  for (let i = 0; i < 16 && tscAt(ns, tscHz) < tsc; i++) ns++;
  for (let i = 0; i < 16 && ns > 0 && tscAt(ns - 1, tscHz) >= tsc; i++) ns--;
  return ns;
}

/** The divisor a DCR value selects (bits 3,1:0: 000=2 ... 110=128, 111=1). */
export function dcrDivisor(dcr: number): number {
  const v = ((dcr & 8) >>> 1) | (dcr & 3);
  return 1 << ((v + 1) & 7);
}

/** Timer state in a LAPIC's SavedState. */
export interface LapicTimerState {
  readonly initialCount: number;
  readonly divideConfig: number;
  readonly tscDeadline: number;
  /** Nanoseconds since the count was loaded (relative, so a restored clock may start anywhere). */
  readonly elapsedNs: number;
}

/** One LAPIC's timer. The LAPIC owns the LVT and tells the timer its mode. */
export class LapicTimer {
  /** Timer initial count register. */
  initialCount = 0;
  /** Divide configuration register (bits 0, 1, 3). */
  divideConfig = 0;
  /** IA32_TSC_DEADLINE (0 = disarmed). */
  tscDeadline = 0;
  /** Expirations so far. */
  fired = 0;
  private mode = TIMER_ONESHOT;
  private startNs = 0;
  private readonly timer: Timer;

  constructor(
    name: string,
    private readonly timers: TimerQueue,
    private readonly busHz: number,
    private readonly tscHz: number,
    /** Called at each expiry; the LAPIC raises the LVT timer interrupt if unmasked. */
    private readonly expire: () => void,
  ) {
    this.timer = new Timer(name, (now) => this.onFire(now));
  }

  /** Nanoseconds per counter tick at the current divide value. */
  tickNs(): number {
    return (dcrDivisor(this.divideConfig) * 1e9) / this.busHz;
  }

  /** The absolute deadline of the armed Timer, or Infinity. */
  get deadlineNs(): number {
    return this.timer.deadline;
  }

  /** Power-on / INIT state: stopped, divide by 2, one-shot. */
  reset(): void {
    this.initialCount = 0;
    this.divideConfig = 0;
    this.tscDeadline = 0;
    this.mode = TIMER_ONESHOT;
    this.timers.disarm(this.timer);
  }

  /** The LVT timer mode changed: moving into or out of TSC-deadline mode disarms (SDM 11.5.4.1). */
  setMode(mode: number): void {
    const m = mode === TIMER_PERIODIC || mode === TIMER_TSC_DEADLINE ? mode : TIMER_ONESHOT;
    if (m === this.mode) return;
    const tscChange = (m === TIMER_TSC_DEADLINE) !== (this.mode === TIMER_TSC_DEADLINE);
    this.mode = m;
    if (tscChange) {
      this.initialCount = 0;
      this.tscDeadline = 0;
      this.timers.disarm(this.timer);
    } else {
      this.rearm();
    }
  }

  /** A write to the initial count register: (re)starts counting; 0 stops. Ignored in TSC-deadline mode. */
  writeInitialCount(value: number): void {
    if (this.mode === TIMER_TSC_DEADLINE) return;
    this.initialCount = value >>> 0;
    this.startNs = this.now();
    this.rearm();
  }

  /** The current count register. */
  currentCount(): number {
    if (this.mode === TIMER_TSC_DEADLINE || this.initialCount === 0) return 0;
    const t = this.elapsedTicks(this.now());
    if (this.mode === TIMER_PERIODIC) return this.initialCount - (t % this.initialCount);
    return t >= this.initialCount ? 0 : this.initialCount - t;
  }

  /** A DCR write; a running count continues from where it is at the new rate. */
  writeDivide(value: number): void {
    const dcr = value & 0xb;
    if (dcr === this.divideConfig) return;
    if (this.mode === TIMER_TSC_DEADLINE || this.initialCount === 0) {
      this.divideConfig = dcr;
      return;
    }
    const now = this.now();
    const t = this.elapsedTicks(now);
    const done = this.mode === TIMER_PERIODIC ? t % this.initialCount : Math.min(t, this.initialCount);
    this.divideConfig = dcr;
    this.startNs = now - done * this.tickNs();
    this.rearm();
  }

  /** IA32_TSC_DEADLINE as read: 0 outside TSC-deadline mode. */
  readDeadline(): number {
    return this.mode === TIMER_TSC_DEADLINE ? this.tscDeadline : 0;
  }

  /** An IA32_TSC_DEADLINE write: arms, disarms (0), or fires at once if already past. */
  writeDeadline(value: number): void {
    if (this.mode !== TIMER_TSC_DEADLINE) return;
    this.tscDeadline = value;
    if (value === 0) {
      this.timers.disarm(this.timer);
    } else if (tscAt(this.now(), this.tscHz) >= value) {
      this.timers.disarm(this.timer);
      this.tscDeadline = 0;
      this.fired++;
      this.expire();
    } else {
      this.timers.arm(this.timer, nsForTsc(value, this.tscHz));
    }
  }

  /** Timer state for the LAPIC's SavedState. */
  save(): LapicTimerState {
    return {
      initialCount: this.initialCount,
      divideConfig: this.divideConfig,
      tscDeadline: this.tscDeadline,
      elapsedNs: this.initialCount === 0 ? 0 : this.now() - this.startNs,
    };
  }

  /** Restores timer state (after the LAPIC restored the LVT, whose mode is passed in) and re-arms. */
  restore(s: LapicTimerState, mode: number): void {
    this.reset();
    this.setMode(mode);
    this.initialCount = uint(s.initialCount) >>> 0;
    this.divideConfig = uint(s.divideConfig) & 0xb;
    this.tscDeadline = this.mode === TIMER_TSC_DEADLINE ? uint(s.tscDeadline) : 0;
    this.startNs = this.now() - uint(s.elapsedNs);
    this.rearm();
  }

  private now(): number {
    return this.timers.clock.nowNs();
  }

  private elapsedTicks(now: number): number {
    return Math.floor((now - this.startNs) / this.tickNs());
  }

  // Arms the Timer for the next expiry the current state implies.
  private rearm(): void {
    if (this.mode === TIMER_TSC_DEADLINE) {
      if (this.tscDeadline === 0) this.timers.disarm(this.timer);
      else this.timers.arm(this.timer, nsForTsc(this.tscDeadline, this.tscHz));
      return;
    }
    if (this.initialCount === 0) {
      this.timers.disarm(this.timer);
      return;
    }
    const period = this.initialCount * this.tickNs();
    const now = this.now();
    if (this.mode === TIMER_PERIODIC) {
      // The next period boundary strictly after now: missed periods coalesce.
      this.timers.arm(this.timer, this.startNs + (Math.floor((now - this.startNs) / period) + 1) * period);
    } else if (this.startNs + period > now) {
      this.timers.arm(this.timer, this.startNs + period);
    } else {
      this.timers.disarm(this.timer);
    }
  }

  private onFire(now: number): void {
    if (this.mode === TIMER_TSC_DEADLINE) {
      if (this.tscDeadline === 0) return;
      if (tscAt(now, this.tscHz) < this.tscDeadline) {
        this.rearm();
        return;
      }
      this.tscDeadline = 0;
    } else {
      if (this.initialCount === 0) return;
      if (this.mode === TIMER_PERIODIC) this.rearm();
    }
    this.fired++;
    this.expire();
  }
}

function uint(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0;
}
