/**
 * x87 operations on ST(0) (and ST(1)) beyond the four basic ones: FSQRT,
 * FPREM, FPREM1, FRNDINT, FSCALE, FXTRACT, and the transcendentals F2XM1,
 * FYL2X, FYL2XP1, FPTAN, FPATAN, FSIN, FCOS, FSINCOS. The transcendentals
 * use Math (close to, not bit-identical with, the hardware results); the
 * others are exact.
 */
import type { Cpu } from './cpu.js';
import type { FpuState } from './fpu-state.js';
import type { Instr } from './instr.js';
import { hiBits, IE, PE, ZE } from './sse-bits.js';
import { arith, ctx, OP_MUL, OP_SQRT, roundToInt } from './sse-round.js';
import {
  C0, C1, C2, C3, getST, INDEFINITE, isEmpty, nanResult, pop, push, setCC, setST, underflow, x87Arith, x87Begin, x87End,
} from './x87-core.js';
import { scale2 } from './x87-f80.js';

// Reads ST(0) (and ST(1) when `two`); on underflow stores the indefinite into `dest` and returns false.
function operands(fp: FpuState, two: boolean, dest: number): boolean {
  if (isEmpty(fp, 0) || (two && isEmpty(fp, 1))) {
    underflow(fp);
    setST(fp, dest, INDEFINITE);
    return false;
  }
  return true;
}

/** Unbiased binary exponent of a finite nonzero double (denormals included). */
function exponentOf(v: number): number {
  const e = (hiBits(v) >>> 20) & 0x7ff;
  if (e !== 0) return e - 1023;
  return ((hiBits(v * 2 ** 64) >>> 20) & 0x7ff) - 1023 - 64;
}

/** FSQRT (D9 FA). */
export function fsqrt(cpu: Cpu, _i: Instr): void {
  const fp = x87Begin(cpu);
  if (operands(fp, false, 0)) setST(fp, 0, x87Arith(fp, OP_SQRT, getST(fp, 0), 0));
  x87End(fp);
}

/** FRNDINT (D9 FC): ST(0) rounded to an integer by RC. */
export function frndint(cpu: Cpu, _i: Instr): void {
  const fp = x87Begin(cpu);
  setCC(fp, C1, 0);
  if (operands(fp, false, 0)) {
    const x = getST(fp, 0);
    if (x !== x) setST(fp, 0, nanResult(x, 0));
    else if (isFinite(x)) {
      setST(fp, 0, roundToInt(x, ctx.mode));
      setCC(fp, C1, ctx.up ? C1 : 0);
    }
  }
  x87End(fp);
}

/** FPREM (D9 F8, i.sub = 0: truncated quotient) and FPREM1 (D9 F5, i.sub = 1: IEEE remainder). */
export function fprem(cpu: Cpu, i: Instr): void {
  const fp = x87Begin(cpu);
  if (!operands(fp, true, 0)) {
    x87End(fp);
    return;
  }
  const x = getST(fp, 0);
  const y = getST(fp, 1);
  if (x !== x || y !== y) {
    setST(fp, 0, nanResult(x, y));
    setCC(fp, C1 | C2, 0);
  } else if (!isFinite(x) || y === 0) {
    ctx.exc |= IE;
    setST(fp, 0, INDEFINITE);
    setCC(fp, C1 | C2, 0);
  } else if (!isFinite(y) || x === 0) {
    setCC(fp, C0 | C1 | C2 | C3, 0);
  } else {
    const d = exponentOf(x) - exponentOf(y);
    if (d >= 64) {
      // Partial remainder, as hardware does it: reduce by y * 2^(d - n) with n in 32..63.
      const n = (d & 31) | 32;
      const r = x % scale2(Math.abs(y), d - n);
      setST(fp, 0, r === 0 ? (x < 0 ? -0 : 0) : r);
      setCC(fp, C0 | C1 | C2 | C3, C2);
    } else {
      const ay = Math.abs(y);
      let r = x % y;
      const y8 = ay * 8;
      let q = Math.round((Math.abs(x) % y8 - Math.abs(r)) / ay);
      if (i.sub === 1) {
        const ar = Math.abs(r);
        const twice = ar * 2;
        if (twice > ay || (twice === ay && (q & 1) === 1)) {
          r = r > 0 ? r - ay : r + ay;
          q++;
        }
      }
      if (r === 0) r = x < 0 ? -0 : 0;
      setST(fp, 0, r);
      setCC(fp, C0 | C1 | C2 | C3, ((q & 4) !== 0 ? C0 : 0) | ((q & 2) !== 0 ? C3 : 0) | ((q & 1) !== 0 ? C1 : 0));
    }
  }
  x87End(fp);
}

/** FSCALE (D9 FD): ST(0) * 2^trunc(ST(1)). */
export function fscale(cpu: Cpu, _i: Instr): void {
  const fp = x87Begin(cpu);
  if (operands(fp, true, 0)) {
    const x = getST(fp, 0);
    const y = getST(fp, 1);
    setCC(fp, C1, 0);
    if (x !== x || y !== y) setST(fp, 0, nanResult(x, y));
    else if (!isFinite(y)) {
      const r = y > 0 ? (x === 0 ? NaN : x * Infinity) : isFinite(x) ? x * 0 : NaN;
      if (r !== r) ctx.exc |= IE;
      setST(fp, 0, r !== r ? INDEFINITE : r);
    } else {
      let n = Math.trunc(y);
      n = n > 4200 ? 4200 : n < -4200 ? -4200 : n;
      let r = x;
      while (n !== 0 && isFinite(r) && r !== 0) {
        const step = n > 1000 ? 1000 : n < -1000 ? -1000 : n;
        r = arith(OP_MUL, r, 2 ** step, false);
        n -= step;
      }
      setST(fp, 0, r);
      if (ctx.up) setCC(fp, C1, C1);
    }
  }
  x87End(fp);
}

// Instructions that replace ST(0) and push: on stack overflow both become the indefinite.
function pushOverflow(fp: FpuState): boolean {
  if (isEmpty(fp, 7) || isEmpty(fp, 0)) return false;
  setST(fp, 0, INDEFINITE);
  push(fp, INDEFINITE);
  return true;
}

/** FXTRACT (D9 F4): ST(0) becomes its exponent, then its significand is pushed. */
export function fxtract(cpu: Cpu, _i: Instr): void {
  const fp = x87Begin(cpu);
  setCC(fp, C1, 0);
  if (pushOverflow(fp)) {
    x87End(fp);
    return;
  }
  if (!operands(fp, false, 0)) {
    push(fp, INDEFINITE);
    x87End(fp);
    return;
  }
  const x = getST(fp, 0);
  let e: number;
  let m: number;
  if (x !== x) {
    e = m = nanResult(x, 0);
  } else if (x === 0) {
    ctx.exc |= ZE;
    e = -Infinity;
    m = x;
  } else if (!isFinite(x)) {
    e = Infinity;
    m = x;
  } else {
    e = exponentOf(x);
    m = scale2(x, -e);
  }
  setST(fp, 0, e);
  push(fp, m);
  x87End(fp);
}

// ---- transcendentals -------------------------------------------------------------

const TWO63 = 2 ** 63;

// One-operand result: NaN propagates, `f` gives the value (NaN = invalid).
function unary(fp: FpuState, f: (x: number) => number): void {
  const x = getST(fp, 0);
  if (x !== x) {
    setST(fp, 0, nanResult(x, 0));
    return;
  }
  const r = f(x);
  if (r !== r) {
    ctx.exc |= IE;
    setST(fp, 0, INDEFINITE);
    return;
  }
  if (r !== x) ctx.exc |= PE;
  setST(fp, 0, r);
}

/** F2XM1 (D9 F0): 2^ST(0) - 1. */
export function f2xm1(cpu: Cpu, _i: Instr): void {
  const fp = x87Begin(cpu);
  if (operands(fp, false, 0)) unary(fp, (x) => (x === -Infinity ? -1 : x === 0 ? x : Math.expm1(x * Math.LN2)));
  x87End(fp);
}

/** FSIN (D9 FE, i.sub = 0) and FCOS (D9 FF, i.sub = 1); |x| >= 2^63 sets C2 and leaves ST(0). */
export function fsinCos(cpu: Cpu, i: Instr): void {
  const fp = x87Begin(cpu);
  if (operands(fp, false, 0)) {
    const x = getST(fp, 0);
    if (Math.abs(x) >= TWO63 && isFinite(x)) setCC(fp, C2, C2);
    else {
      setCC(fp, C2, 0);
      unary(fp, (v) => (i.sub === 0 ? (v === 0 ? v : Math.sin(v)) : Math.cos(v)));
    }
  }
  x87End(fp);
}

/** FPTAN (D9 F2, i.sub = 0: tangent, then 1.0 pushed) and FSINCOS (D9 FB, i.sub = 1: sine, then cosine pushed). */
export function fptanSincos(cpu: Cpu, i: Instr): void {
  const fp = x87Begin(cpu);
  setCC(fp, C1 | C2, 0);
  if (pushOverflow(fp)) {
    x87End(fp);
    return;
  }
  if (!operands(fp, false, 0)) {
    push(fp, INDEFINITE);
    x87End(fp);
    return;
  }
  const x = getST(fp, 0);
  if (Math.abs(x) >= TWO63 && isFinite(x)) {
    setCC(fp, C2, C2);
    x87End(fp);
    return;
  }
  setCC(fp, C2, 0);
  if (x !== x || !isFinite(x)) {
    const r = x !== x ? nanResult(x, 0) : INDEFINITE;
    if (x === x) ctx.exc |= IE;
    setST(fp, 0, r);
    push(fp, r);
  } else if (i.sub === 0) {
    setST(fp, 0, x === 0 ? x : Math.tan(x));
    if (x !== 0) ctx.exc |= PE;
    push(fp, 1);
  } else {
    setST(fp, 0, x === 0 ? x : Math.sin(x));
    ctx.exc |= PE;
    push(fp, Math.cos(x));
  }
  x87End(fp);
}

/** FYL2X (D9 F1, i.sub = 0: ST(1) * log2(ST(0))), FYL2XP1 (D9 F9, i.sub = 1: ST(1) * log2(ST(0) + 1)), FPATAN (D9 F3, i.sub = 2: atan2(ST(1), ST(0))); then pop. */
export function binaryTrans(cpu: Cpu, i: Instr): void {
  const fp = x87Begin(cpu);
  if (operands(fp, true, 1)) {
    const x = getST(fp, 0);
    const y = getST(fp, 1);
    let r: number;
    if (x !== x || y !== y) r = nanResult(y, x);
    else {
      if (i.sub === 2) r = Math.atan2(y, x);
      else {
        const l = i.sub === 0 ? Math.log2(x) : Math.log1p(x) / Math.LN2;
        if (l === -Infinity && y !== 0 && isFinite(y)) ctx.exc |= ZE;
        r = y * l;
      }
      if (r !== r) {
        ctx.exc |= IE;
        r = INDEFINITE;
      } else if (r !== 0 && isFinite(r)) ctx.exc |= PE;
    }
    setST(fp, 1, r);
  }
  pop(fp);
  x87End(fp);
}
