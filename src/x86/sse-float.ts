/**
 * SSE/SSE2 floating-point arithmetic: ADD SUB MUL DIV SQRT MIN MAX in
 * packed and scalar, single and double forms, and RCP/RSQRT. `i.sub`
 * selects the operation (OP_* of sse-round.ts, then F_MIN, F_MAX).
 *
 * Lanes are computed into scratch slot T2 and copied to the destination
 * only after fpEnd(), so an unmasked exception leaves it unchanged. NaN
 * operands never reach JavaScript arithmetic: the result NaN is built from
 * bits (first operand wins, SNaN quieted; invalid operations give the
 * default NaN), as the SDM's table 4-7 prescribes.
 */
import type { Cpu } from './cpu.js';
import { T2 } from './fpu-state.js';
import type { Instr } from './instr.js';
import { bits32, DE, f32, IE, ZE, isDen32, isDen64, isNaN32, isNaN64, isSNaN32, isSNaN64, QNAN32, QNAN64_HI } from './sse-bits.js';
import { copyLanes, fpBegin, fpEnd, sseCheck, srcX, srcX32, srcX64 } from './sse-common.js';
import { arith, ctx, OP_SQRT } from './sse-round.js';

/** Operation selectors beyond the arithmetic OP_* codes. */
export const F_MIN = 5;
export const F_MAX = 6;

const T2I = T2 >> 2;

// ---- single-precision lanes (indices are Int32 lane indices) ----------------

/** Result bits for a single-precision operation with a NaN operand (a = first source, or -1 if unary). */
function nan32(a: number, b: number, unary: boolean): number {
  if ((!unary && isSNaN32(a)) || isSNaN32(b)) ctx.exc |= IE;
  if (!unary && isNaN32(a)) return a | 0x400000;
  return b | 0x400000;
}

/** Operand value with DAZ applied; DE when `de` and the operand is a denormal. */
function val32(f: Float32Array, v: Int32Array, k: number, de = true): number {
  const b = v[k]!;
  if (isDen32(b)) {
    if (ctx.daz) return b < 0 ? -0 : 0;
    if (de) ctx.exc |= DE;
  }
  return f[k]!;
}

// An invalid operation or a division by zero in the same lane hides DE.
function arithDE(op: number, a: number, b: number, single: boolean, den: boolean): number {
  const before = ctx.exc;
  ctx.exc = 0;
  const r = arith(op, a, b, single);
  if (den && (ctx.exc & (IE | ZE)) === 0) ctx.exc |= DE;
  ctx.exc |= before;
  return r;
}

function lane32(cpu: Cpu, op: number, d: number, s: number, o: number): void {
  const fp = cpu.fpu;
  const v = fp.i32;
  const ab = v[d]!;
  const bb = v[s]!;
  const unary = op === OP_SQRT;
  if (op >= F_MIN) {
    minMax32(cpu, op, d, s, o);
    return;
  }
  if ((!unary && isNaN32(ab)) || isNaN32(bb)) {
    v[o] = nan32(ab, bb, unary);
    return;
  }
  const b = val32(fp.f32, v, s, false);
  const a = unary ? 0 : val32(fp.f32, v, d, false);
  const den = !ctx.daz && (isDen32(bb) || (!unary && isDen32(ab)));
  const r = arithDE(op, unary ? b : a, b, true, den);
  if (r !== r) v[o] = QNAN32;
  else fp.f32[o] = r;
}

function minMax32(cpu: Cpu, op: number, d: number, s: number, o: number): void {
  const fp = cpu.fpu;
  const v = fp.i32;
  const ab = v[d]!;
  const bb = v[s]!;
  if (isNaN32(ab) || isNaN32(bb)) {
    // MIN/MAX are signalling comparisons: any NaN is invalid, and the second operand is returned.
    ctx.exc |= IE;
    v[o] = ctx.daz && isDen32(bb) ? bb & 0x80000000 : bb;
    return;
  }
  const a = val32(fp.f32, v, d);
  const b = val32(fp.f32, v, s);
  const first = op === F_MIN ? a < b : a > b;
  if (first) fp.f32[o] = a;
  else if (b === 0 && isDen32(bb)) v[o] = bb & 0x80000000;
  else v[o] = bb;
}

// ---- double-precision lanes (d, s, o index the low Int32 half) ---------------

function nan64(v: Int32Array, d: number, s: number, o: number, unary: boolean): void {
  const aN = !unary && isNaN64(v[d]!, v[d + 1]!);
  if ((!unary && isSNaN64(v[d]!, v[d + 1]!)) || isSNaN64(v[s]!, v[s + 1]!)) ctx.exc |= IE;
  const k = aN ? d : s;
  v[o] = v[k]!;
  v[o + 1] = v[k + 1]! | 0x80000;
}

function val64(f: Float64Array, v: Int32Array, k: number, de = true): number {
  if (isDen64(v[k]!, v[k + 1]!)) {
    if (ctx.daz) return v[k + 1]! < 0 ? -0 : 0;
    if (de) ctx.exc |= DE;
  }
  return f[k >> 1]!;
}

function lane64(cpu: Cpu, op: number, d: number, s: number, o: number): void {
  const fp = cpu.fpu;
  const v = fp.i32;
  const unary = op === OP_SQRT;
  if (op >= F_MIN) {
    minMax64(cpu, op, d, s, o);
    return;
  }
  if ((!unary && isNaN64(v[d]!, v[d + 1]!)) || isNaN64(v[s]!, v[s + 1]!)) {
    nan64(v, d, s, o, unary);
    return;
  }
  const b = val64(fp.f64, v, s, false);
  const a = unary ? 0 : val64(fp.f64, v, d, false);
  const den = !ctx.daz && (isDen64(v[s]!, v[s + 1]!) || (!unary && isDen64(v[d]!, v[d + 1]!)));
  const r = arithDE(op, unary ? b : a, b, false, den);
  if (r !== r) {
    v[o] = 0;
    v[o + 1] = QNAN64_HI;
  } else fp.f64[o >> 1] = r;
}

function minMax64(cpu: Cpu, op: number, d: number, s: number, o: number): void {
  const fp = cpu.fpu;
  const v = fp.i32;
  if (isNaN64(v[d]!, v[d + 1]!) || isNaN64(v[s]!, v[s + 1]!)) {
    ctx.exc |= IE;
    const flush = ctx.daz && isDen64(v[s]!, v[s + 1]!);
    v[o] = flush ? 0 : v[s]!;
    v[o + 1] = flush ? v[s + 1]! & 0x80000000 : v[s + 1]!;
    return;
  }
  const a = val64(fp.f64, v, d);
  const b = val64(fp.f64, v, s);
  const first = op === F_MIN ? a < b : a > b;
  if (first) fp.f64[o >> 1] = a;
  else if (b === 0 && isDen64(v[s]!, v[s + 1]!)) {
    v[o] = 0;
    v[o + 1] = v[s + 1]! & 0x80000000;
  } else {
    v[o] = v[s]!;
    v[o + 1] = v[s + 1]!;
  }
}

// ---- handlers -----------------------------------------------------------------

/** ADDPS..MAXPS (0F 5x, no prefix). */
export function arithPS(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX(cpu, i, true) >> 2;
  const d = i.reg << 2;
  fpBegin(cpu);
  for (let k = 0; k < 4; k++) lane32(cpu, i.sub, d + k, s + k, T2I + k);
  fpEnd(cpu);
  copyLanes(cpu, i.reg << 4, T2, 16);
}

/** ADDSS..MAXSS (F3 0F 5x): lane 0 only. */
export function arithSS(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX32(cpu, i) >> 2;
  const d = i.reg << 2;
  fpBegin(cpu);
  lane32(cpu, i.sub, d, s, T2I);
  fpEnd(cpu);
  cpu.fpu.i32[d] = cpu.fpu.i32[T2I]!;
}

/** ADDPD..MAXPD (66 0F 5x). */
export function arithPD(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX(cpu, i, true) >> 2;
  const d = i.reg << 2;
  fpBegin(cpu);
  lane64(cpu, i.sub, d, s, T2I);
  lane64(cpu, i.sub, d + 2, s + 2, T2I + 2);
  fpEnd(cpu);
  copyLanes(cpu, i.reg << 4, T2, 16);
}

/** ADDSD..MAXSD (F2 0F 5x): the low double only. */
export function arithSD(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX64(cpu, i) >> 2;
  const d = i.reg << 2;
  fpBegin(cpu);
  lane64(cpu, i.sub, d, s, T2I);
  fpEnd(cpu);
  const v = cpu.fpu.i32;
  v[d] = v[T2I]!;
  v[d + 1] = v[T2I + 1]!;
}

// ---- RCP / RSQRT ----------------------------------------------------------------

// Hardware only promises 12 bits (relative error <= 1.5 * 2^-12); this gives the
// correctly rounded single, which is within that bound. No exceptions are raised.
function approx(bits: number, rsqrt: boolean): number {
  if (isNaN32(bits)) return bits | 0x400000;
  const neg = bits < 0;
  const mag = bits & 0x7fffffff;
  if ((bits & 0x7f800000) === 0) {
    // Zero and denormal inputs count as zero.
    return (neg ? 0xff800000 : 0x7f800000) | 0;
  }
  if (rsqrt && neg) return QNAN32;
  if (mag === 0x7f800000) return neg ? 0x80000000 | 0 : 0;
  const x = Math.abs(f32(bits));
  const r = Math.fround(rsqrt ? 1 / Math.sqrt(x) : 1 / x);
  // Results in the denormal range are flushed to zero.
  const out = r < 1.1754943508222875e-38 ? 0 : r;
  const ob = bits32(out);
  return neg ? ob | 0x80000000 : ob;
}

/** RCPPS/RSQRTPS (0F 53 / 0F 52); i.sub = 1 for RSQRT. */
export function approxPS(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX(cpu, i, true) >> 2;
  const v = cpu.fpu.i32;
  for (let k = 0; k < 4; k++) v[T2I + k] = approx(v[s + k]!, i.sub === 1);
  copyLanes(cpu, i.reg << 4, T2, 16);
}

/** RCPSS/RSQRTSS (F3 0F 53 / F3 0F 52). */
export function approxSS(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX32(cpu, i) >> 2;
  const v = cpu.fpu.i32;
  v[i.reg << 2] = approx(v[s]!, i.sub === 1);
}
