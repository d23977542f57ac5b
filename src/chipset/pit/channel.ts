/**
 * One 8254 counter, computed lazily from the input-clock tick count instead
 * of being decremented: every question ("what is the count?", "what is OUT?",
 * "when does OUT next rise?") is a pure function of an absolute tick number.
 *
 * DEVNOTE: the count is taken as loaded at the tick of the write, where the
 * real part loads it on the next clock edge; the one-tick (0.84 us)
 * difference is below anything a guest can observe through port I/O.
 */
import { RW_LSB, RW_LSB_MSB, RW_MSB, ST_NULL_COUNT, ST_OUTPUT } from './regs.js';

/** Where a counter is in its life: no count yet, waiting for a gate trigger, or counting. */
export type CounterPhase = 'idle' | 'waiting' | 'counting';

/** A counter's saved form; tick-valued fields are relative to the tick at save time. */
export interface SavedChannel {
  readonly mode: number;
  readonly rw: number;
  readonly bcd: boolean;
  readonly reload: number;
  readonly phase: CounterPhase;
  readonly n: number;
  readonly startAgo: number;
  readonly frozen: number | null;
  readonly pendingN: number;
  readonly pendingIn: number | null;
  readonly idleValue: number;
  readonly gate: boolean;
  readonly nullIn: number | null;
  readonly writeMsbNext: boolean;
  readonly lsb: number;
  readonly readMsbNext: boolean;
  readonly latchValue: number;
  readonly latchState: number;
  readonly status: number;
}

/** Latch states: nothing latched, one byte (LSB or MSB per rw), or LSB then MSB. */
const LATCH_NONE = 0;
const LATCH_LSB = 1;
const LATCH_MSB = 2;
const LATCH_WORD = 3;

function toBcd(v: number): number {
  return (v % 10) | (Math.floor(v / 10) % 10) << 4 | (Math.floor(v / 100) % 10) << 8 | (Math.floor(v / 1000) % 10) << 12;
}

function fromBcd(v: number): number {
  return (v & 0xf) + ((v >> 4) & 0xf) * 10 + ((v >> 8) & 0xf) * 100 + ((v >> 12) & 0xf) * 1000;
}

/** One counter of the 8254 (modes 0..5, binary or BCD). */
export class PitChannel {
  mode = 0;
  rw = RW_LSB_MSB;
  bcd = false;
  /** The count register as the guest wrote it (raw, BCD if bcd). */
  reload = 0;
  phase: CounterPhase = 'idle';
  /** Effective count in use: 1..65536 (binary) or 1..10000 (BCD). */
  n = 0x10000;
  /** Tick at which the current count was loaded (or last re-triggered). */
  start = 0;
  /** Elapsed ticks at the moment the gate stopped counting, or null while counting runs. */
  frozen: number | null = null;
  /** Modes 2 and 3: a count written while counting, loaded at the next period boundary. */
  pendingN = 0;
  pendingAt = Infinity;
  /** The counting element's value shown while idle or waiting for a trigger. */
  idleValue = 0;
  /** Counter 0 and 1 have their gate tied high on a PC; counter 2's is port B bit 0. */
  gate = true;
  /** NULL COUNT reads 1 at ticks below this. */
  nullUntil = Infinity;
  private writeMsbNext = false;
  private lsb = 0;
  private readMsbNext = false;
  private latchValue = 0;
  private latchState = LATCH_NONE;
  /** A latched status byte, or -1. */
  private status = -1;
  /** Counts of 1 in modes 2/3, which the datasheet calls illegal; run as 2. */
  illegalCounts = 0;

  /** Effective count for a raw count register value (0 means the maximum). */
  private effective(raw: number): number {
    let n = this.bcd ? fromBcd(raw) : raw;
    if (n === 0) n = this.bcd ? 10000 : 0x10000;
    if (n === 1 && (this.mode === 2 || this.mode === 3)) {
      this.illegalCounts++;
      n = 2;
    }
    return n;
  }

  private nAt(t: number): number {
    return t >= this.pendingAt ? this.pendingN : this.n;
  }

  private elapsed(t: number): number {
    if (this.frozen !== null) return this.frozen;
    return t - (t >= this.pendingAt ? this.pendingAt : this.start);
  }

  /** Applies a pending mode 2/3 reload whose boundary has passed. */
  settle(t: number): void {
    if (t >= this.pendingAt) {
      this.start = this.pendingAt;
      this.n = this.pendingN;
      this.pendingAt = Infinity;
    }
  }

  /** The OUT pin at tick `t`. */
  out(t: number): boolean {
    if (this.phase === 'idle') return this.mode !== 0;
    if (this.phase === 'waiting') return true;
    const d = this.elapsed(t);
    const n = this.nAt(t);
    switch (this.mode) {
      case 0:
      case 1:
        return d >= n;
      case 2:
        return !this.gate || d % n !== n - 1;
      case 3:
        return !this.gate || d % n < (n + 1) >> 1;
      default:
        return d !== n;
    }
  }

  /** The counting element at tick `t`, as a read returns it (BCD-encoded in BCD mode). */
  value(t: number): number {
    if (this.phase !== 'counting') return this.idleValue;
    const d = this.elapsed(t);
    const n = this.nAt(t);
    const m = this.bcd ? 10000 : 0x10000;
    let v: number;
    if (this.mode === 2) {
      v = n - (d % n);
    } else if (this.mode === 3) {
      v = squareWaveCount(d % n, n);
    } else {
      v = (n - (d % m) + m) % m;
    }
    v %= m;
    return this.bcd ? toBcd(v) : v;
  }

  /** The first tick after `t` at which OUT rises, or Infinity if it never will on its own. */
  nextRise(t: number): number {
    if (this.phase !== 'counting' || this.frozen !== null) return Infinity;
    const s = t >= this.pendingAt ? this.pendingAt : this.start;
    const n = this.nAt(t);
    const d = t - s;
    switch (this.mode) {
      case 0:
      case 1:
        return d < n ? s + n : Infinity;
      case 2:
      case 3:
        return this.gate ? s + (Math.floor(d / n) + 1) * n : Infinity;
      default:
        // Modes 4/5: OUT is low for the one clock at terminal count.
        return d < n + 1 ? s + n + 1 : Infinity;
    }
  }

  /** How many rising edges of OUT fall in (from, to]; for modes 2/3 only, else 0 or 1. */
  risesBetween(from: number, to: number): number {
    if (this.phase !== 'counting' || this.frozen !== null || !this.gate || (this.mode !== 2 && this.mode !== 3)) {
      return this.nextRise(from) <= to ? 1 : 0;
    }
    const n = this.nAt(to);
    const s = to >= this.pendingAt ? this.pendingAt : this.start;
    const a = Math.max(0, Math.floor((from - s) / n));
    return Math.max(0, Math.floor((to - s) / n) - a);
  }

  /** A control word selecting this counter (not a latch command). */
  control(t: number, mode: number, rw: number, bcd: boolean): void {
    this.settle(t);
    this.idleValue = this.value(t);
    this.mode = mode > 5 ? mode - 4 : mode;
    this.rw = rw;
    this.bcd = bcd;
    this.phase = 'idle';
    this.frozen = null;
    this.pendingAt = Infinity;
    this.nullUntil = Infinity;
    this.writeMsbNext = false;
    this.readMsbNext = false;
    this.latchState = LATCH_NONE;
    this.status = -1;
  }

  /** A byte written to this counter's data port. */
  writeByte(t: number, byte: number): void {
    this.settle(t);
    if (this.rw === RW_LSB) this.complete(t, byte);
    else if (this.rw === RW_MSB) this.complete(t, byte << 8);
    else if (!this.writeMsbNext) {
      this.lsb = byte;
      this.writeMsbNext = true;
      // Mode 0: writing the first byte stops counting and drives OUT low.
      if (this.mode === 0 && this.phase === 'counting') {
        this.idleValue = this.value(t);
        this.phase = 'idle';
      }
    } else {
      this.writeMsbNext = false;
      this.complete(t, this.lsb | (byte << 8));
    }
  }

  private complete(t: number, raw: number): void {
    this.reload = raw;
    const n = this.effective(raw);
    switch (this.mode) {
      case 1:
      case 5:
        if (this.phase === 'idle') this.phase = 'waiting';
        if (this.phase === 'waiting') this.nullUntil = Infinity;
        return;
      case 2:
      case 3:
        if (this.phase === 'counting' && this.frozen === null) {
          // A new count takes effect at the end of the current period.
          const d = t - this.start;
          this.pendingN = n;
          this.pendingAt = this.start + (Math.floor(d / this.n) + 1) * this.n;
          this.nullUntil = this.pendingAt;
          return;
        }
        if (this.phase === 'counting') {
          this.n = n;
          return;
        }
        this.load(t, n);
        return;
      default:
        this.load(t, n);
    }
  }

  private load(t: number, n: number): void {
    this.phase = 'counting';
    this.n = n;
    this.start = t;
    this.pendingAt = Infinity;
    this.frozen = this.gate ? null : 0;
    this.nullUntil = t + 1;
  }

  /** The gate input changes level at tick `t`. */
  setGate(t: number, level: boolean): void {
    if (level === this.gate) return;
    this.settle(t);
    this.gate = level;
    const m = this.mode;
    if (level) {
      if (m === 1 || m === 5) {
        if (this.phase !== 'idle') this.load(t, this.effective(this.reload));
      } else if (this.phase === 'counting' && this.frozen !== null) {
        if (m === 2 || m === 3) this.load(t, this.effective(this.reload));
        else {
          this.start = t - this.frozen;
          this.frozen = null;
        }
      }
    } else if (this.phase === 'counting' && this.frozen === null && m !== 1 && m !== 5) {
      this.frozen = t - this.start;
      this.pendingAt = Infinity;
    }
  }

  /** Counter latch command: the first latch holds until it is read. */
  latch(t: number): void {
    if (this.latchState !== LATCH_NONE) return;
    this.latchValue = this.value(t);
    this.latchState = this.rw === RW_LSB ? LATCH_LSB : this.rw === RW_MSB ? LATCH_MSB : LATCH_WORD;
  }

  /** The status byte at tick `t`. */
  statusByte(t: number): number {
    const m = this.mode;
    return (
      (this.out(t) ? ST_OUTPUT : 0) |
      (t < this.nullUntil ? ST_NULL_COUNT : 0) |
      (this.rw << 4) |
      (m << 1) |
      (this.bcd ? 1 : 0)
    );
  }

  /** Read-back status latch: the first one holds until it is read. */
  latchStatus(t: number): void {
    if (this.status < 0) this.status = this.statusByte(t);
  }

  /** A byte read from this counter's data port. */
  readByte(t: number): number {
    if (this.status >= 0) {
      const s = this.status;
      this.status = -1;
      return s;
    }
    if (this.latchState !== LATCH_NONE) {
      const v = this.latchValue;
      switch (this.latchState) {
        case LATCH_WORD:
          this.latchState = LATCH_MSB;
          return v & 0xff;
        case LATCH_MSB:
          this.latchState = LATCH_NONE;
          return v >> 8;
        default:
          this.latchState = LATCH_NONE;
          return v & 0xff;
      }
    }
    const v = this.value(t);
    if (this.rw === RW_LSB) return v & 0xff;
    if (this.rw === RW_MSB) return v >> 8;
    this.readMsbNext = !this.readMsbNext;
    return this.readMsbNext ? v & 0xff : v >> 8;
  }

  /** Saved form, tick fields relative to `t`. */
  save(t: number): SavedChannel {
    return {
      mode: this.mode,
      rw: this.rw,
      bcd: this.bcd,
      reload: this.reload,
      phase: this.phase,
      n: this.n,
      startAgo: t - this.start,
      frozen: this.frozen,
      pendingN: this.pendingN,
      pendingIn: this.pendingAt === Infinity ? null : this.pendingAt - t,
      idleValue: this.idleValue,
      gate: this.gate,
      nullIn: this.nullUntil === Infinity ? null : this.nullUntil - t,
      writeMsbNext: this.writeMsbNext,
      lsb: this.lsb,
      readMsbNext: this.readMsbNext,
      latchValue: this.latchValue,
      latchState: this.latchState,
      status: this.status,
    };
  }

  /** Rebuilds a counter from its saved form at tick `t`. */
  static restore(s: SavedChannel, t: number): PitChannel {
    const c = new PitChannel();
    const int = (v: unknown, lo: number, hi: number, dflt: number): number =>
      typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? v : dflt;
    c.mode = int(s.mode, 0, 5, 0);
    c.rw = int(s.rw, 1, 3, RW_LSB_MSB);
    c.bcd = s.bcd === true;
    c.reload = int(s.reload, 0, 0xffff, 0);
    c.phase = s.phase === 'waiting' || s.phase === 'counting' ? s.phase : 'idle';
    c.n = int(s.n, 1, 0x10000, 0x10000);
    c.start = t - int(s.startAgo, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 0);
    c.frozen = s.frozen === null ? null : int(s.frozen, 0, Number.MAX_SAFE_INTEGER, 0);
    c.pendingN = int(s.pendingN, 0, 0x10000, 0);
    c.pendingAt = s.pendingIn === null ? Infinity : t + int(s.pendingIn, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 0);
    c.idleValue = int(s.idleValue, 0, 0xffff, 0);
    c.gate = s.gate !== false;
    c.nullUntil = s.nullIn === null ? Infinity : t + int(s.nullIn, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 0);
    c.writeMsbNext = s.writeMsbNext === true;
    c.lsb = int(s.lsb, 0, 0xff, 0);
    c.readMsbNext = s.readMsbNext === true;
    c.latchValue = int(s.latchValue, 0, 0xffff, 0);
    c.latchState = int(s.latchState, 0, 3, LATCH_NONE);
    c.status = int(s.status, -1, 0xff, -1);
    return c;
  }
}

/**
 * Mode 3's counting element `p` ticks into a period of `n`: it counts down by
 * two through each half; an odd count spends one more clock high than low
 * (loaded, minus one, then minus two; reloaded, minus three, then minus two).
 */
function squareWaveCount(p: number, n: number): number {
  const high = (n + 1) >> 1;
  if ((n & 1) === 0) return p < high ? n - 2 * p : n - 2 * (p - high);
  if (p < high) return p === 0 ? n : n + 1 - 2 * p;
  const q = p - high;
  return q === 0 ? n : n - 1 - 2 * q;
}
