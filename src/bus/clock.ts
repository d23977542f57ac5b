/**
 * Time for devices that depend on it (timers, the RTC, the LAPIC timer).
 *
 * DEVNOTE: devices never call setTimeout. They arm a `Timer` on the
 * machine's `TimerQueue` with an absolute deadline on the machine's `Clock`;
 * whoever drives the machine (the emulator's run loop between time slices,
 * or a host timer under KVM) calls `runDue()` and sleeps until
 * `nextDeadline()`. This keeps the emulator deterministic and lets a test
 * clock jump straight to the next deadline when every vCPU is idle.
 */

/** Monotonic machine time in nanoseconds (a double: exact for 104 days). */
export interface Clock {
  nowNs(): number;
}

/** Follows the host's monotonic clock, starting at 0 when created. */
export class HostClock implements Clock {
  private readonly origin = performance.now();
  private offset = 0;

  nowNs(): number {
    return Math.floor((performance.now() - this.origin) * 1e6) + this.offset;
  }

  /** Moves time forward (used when idle time is skipped on purpose). */
  advance(ns: number): void {
    if (ns > 0) this.offset += ns;
  }
}

/** A clock that only moves when told to: for tests. */
export class ManualClock implements Clock {
  constructor(private now = 0) {}
  nowNs(): number {
    return this.now;
  }
  /** Sets the time; it never goes backwards. */
  set(ns: number): void {
    if (ns > this.now) this.now = ns;
  }
  advance(ns: number): void {
    this.set(this.now + ns);
  }
}

/** A one-shot callback at an absolute time; re-arm it for periodic behaviour. */
export class Timer {
  /** Absolute deadline in ns, or Infinity when not armed. */
  deadline = Infinity;
  constructor(
    /** Shown in inspect output. */
    readonly name: string,
    /** Runs when the deadline has passed; `now` is the current clock value. */
    readonly fire: (now: number) => void,
  ) {}

  get armed(): boolean {
    return this.deadline !== Infinity;
  }
}

/** The machine's timers. Small (a handful per vCPU), so a plain array. */
export class TimerQueue {
  private readonly timers: Timer[] = [];
  private earliest = Infinity;
  /** Called whenever the earliest deadline moves earlier (a sleeping driver re-plans). */
  onEarlier: ((deadline: number) => void) | null = null;

  constructor(readonly clock: Clock) {}

  /** Arms (or re-arms) `timer` for absolute time `deadline` ns. */
  arm(timer: Timer, deadline: number): void {
    if (!this.timers.includes(timer)) this.timers.push(timer);
    const was = timer.deadline;
    timer.deadline = deadline;
    if (deadline < this.earliest) {
      this.earliest = deadline;
      this.onEarlier?.(deadline);
    } else if (was === this.earliest && deadline > was) {
      // The earliest timer moved later: some other timer may now be first.
      this.recompute();
    }
  }

  /** Arms `timer` `delay` ns from now. */
  armIn(timer: Timer, delay: number): void {
    this.arm(timer, this.clock.nowNs() + Math.max(0, delay));
  }

  /** Disarms `timer` (no-op if not armed). */
  disarm(timer: Timer): void {
    const was = timer.deadline;
    timer.deadline = Infinity;
    if (was === this.earliest) this.recompute();
  }

  /** The earliest armed deadline, or Infinity. */
  nextDeadline(): number {
    return this.earliest;
  }

  /** Fires every timer whose deadline has passed; returns how many fired. */
  runDue(now = this.clock.nowNs()): number {
    if (now < this.earliest) return 0;
    let fired = 0;
    // A timer may re-arm itself (or others) from fire(); loop until settled.
    for (let pass = 0; pass < 64; pass++) {
      let any = false;
      for (const t of this.timers) {
        if (t.deadline <= now) {
          t.deadline = Infinity;
          t.fire(now);
          fired++;
          any = true;
        }
      }
      if (!any) break;
    }
    this.recompute();
    return fired;
  }

  private recompute(): void {
    let e = Infinity;
    for (const t of this.timers) if (t.deadline < e) e = t.deadline;
    this.earliest = e;
  }
}
