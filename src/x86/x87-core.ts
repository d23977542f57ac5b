/**
 * The x87 register stack and status bookkeeping shared by the x87
 * handlers: TOP and the tags, stack overflow/underflow with their masked
 * responses (the indefinite value, C1, SF, IE), condition codes, NaN
 * propagation, and arithmetic rounded by the control word's RC and PC.
 *
 * Internally doubles (see fpu-state.ts): PC = 64 rounds to 53 bits like
 * PC = 53. Unmasked exceptions set ES and B in the status word but #MF is
 * not delivered (the result is the masked response); Linux masks them all.
 */
import type { Cpu } from './cpu.js';
import type { FpuState } from './fpu-state.js';
import { rawToDoubles } from './mmx.js';
import { f64, hi64, IE, isSNaN64, lo64, PE } from './sse-bits.js';
import { fpuCheck } from './sse-common.js';
import { arith, ctx, OP_ADD, OP_SQRT, OP_SUB } from './sse-round.js';
import { slowArith } from './sse-softfloat.js';

/** Status word bits. */
export const SW_SF = 0x40;
export const SW_ES = 0x80;
export const C0 = 0x100;
export const C1 = 0x200;
export const C2 = 0x400;
export const C3 = 0x4000;
export const SW_B = 0x8000;

/** The x87 QNaN floating-point indefinite as a double (sign set). */
export const INDEFINITE = f64(0, 0xfff80000 | 0);

/** Starts an x87 instruction that uses register values: #NM checks, doubles in every register, RC. */
export function x87Begin(cpu: Cpu): FpuState {
  fpuCheck(cpu);
  const fp = cpu.fpu;
  if (fp.raw !== 0) rawToDoubles(fp);
  ctx.mode = (fp.cw >> 10) & 3;
  ctx.exc = 0;
  ctx.up = false;
  ctx.ftz = false;
  ctx.daz = false;
  ctx.ueTrap = false;
  return fp;
}

/** Ends an x87 instruction: exception flags into the status word, ES/B for unmasked ones. */
export function x87End(fp: FpuState): void {
  const e = ctx.exc & 0x3f;
  if (e === 0) return;
  fp.sw |= e;
  if ((e & ~fp.cw & 0x3f) !== 0) fp.sw |= SW_ES | SW_B;
}

/** Physical register of ST(i). */
export function phys(fp: FpuState, i: number): number {
  return (fp.top + i) & 7;
}

/** True when ST(i) is empty. */
export function isEmpty(fp: FpuState, i: number): boolean {
  return (fp.valid & (1 << ((fp.top + i) & 7))) === 0;
}

/** The value of ST(i). */
export function getST(fp: FpuState, i: number): number {
  return fp.st[(fp.top + i) & 7]!;
}

/** Sets ST(i) and tags it valid. */
export function setST(fp: FpuState, i: number, v: number): void {
  const p = (fp.top + i) & 7;
  fp.st[p] = v;
  fp.valid |= 1 << p;
}

/** Sets or clears condition bits in `mask` (C0..C3) to `bits`. */
export function setCC(fp: FpuState, mask: number, bits: number): void {
  fp.sw = (fp.sw & ~mask) | (bits & mask);
}

/** Stack underflow (an empty register was read): IE, SF, C1 = 0. */
export function underflow(fp: FpuState): void {
  ctx.exc |= IE;
  fp.sw = (fp.sw | SW_SF) & ~C1;
}

/** Pushes v; on stack overflow pushes the indefinite with IE, SF and C1 = 1. */
export function push(fp: FpuState, v: number): void {
  const p = (fp.top - 1) & 7;
  fp.top = p;
  if ((fp.valid & (1 << p)) !== 0) {
    ctx.exc |= IE;
    fp.sw |= SW_SF | C1;
    fp.st[p] = INDEFINITE;
    return;
  }
  fp.st[p] = v;
  fp.valid |= 1 << p;
}

/** Pops ST(0) (tags it empty). */
export function pop(fp: FpuState): void {
  fp.valid &= ~(1 << fp.top);
  fp.top = (fp.top + 1) & 7;
}

/** The NaN result of an operation with a NaN operand: SNaN raises IE; the larger significand wins; quieted. */
export function nanResult(a: number, b: number): number {
  let aLo = 0;
  let aHi = 0;
  let bLo = 0;
  let bHi = 0;
  const aN = a !== a;
  const bN = b !== b;
  let aS = false;
  let bS = false;
  if (aN) {
    aLo = lo64(a);
    aHi = hi64();
    aS = isSNaN64(aLo, aHi);
  }
  if (bN) {
    bLo = lo64(b);
    bHi = hi64();
    bS = isSNaN64(bLo, bHi);
  }
  if (aS || bS) ctx.exc |= IE;
  let useA = aN;
  if (aN && bN) {
    if (aS !== bS) useA = !aS;
    else {
      // The larger significand wins; on a tie, the positive one.
      const am = aHi & 0x7ffff;
      const bm = bHi & 0x7ffff;
      if (am !== bm) useA = am > bm;
      else if (aLo !== bLo) useA = aLo >>> 0 > bLo >>> 0;
      else useA = aHi >= 0 || bHi < 0;
    }
  }
  return useA ? f64(aLo, aHi | 0x80000) : f64(bLo, bHi | 0x80000);
}

/** a op b (OP_* of sse-round.ts) rounded by RC and PC; NaNs propagate, invalid gives the indefinite; sets C1 = rounded up. */
export function x87Arith(fp: FpuState, op: number, a: number, b: number): number {
  if (a !== a || b !== b) {
    setCC(fp, C1, 0);
    return nanResult(a, b);
  }
  let r: number;
  const sqrt = op === OP_SQRT;
  // Sums with one zero operand still round the other to 24 bits.
  const sum = op === OP_ADD || op === OP_SUB;
  const plain = isFinite(a) && isFinite(b) && (sqrt ? a > 0 : sum ? a !== 0 || b !== 0 : a !== 0 && b !== 0);
  if (plain && ((fp.cw >> 8) & 3) === 0) {
    // PC = 24: round to single precision (with the single exponent range: a limitation).
    r = slowArith(op, a, b, true);
  } else r = arith(op, a, b, false);
  setCC(fp, C1, ctx.up && (ctx.exc & PE) !== 0 ? C1 : 0);
  return r !== r ? INDEFINITE : r;
}

/** Condition bits for a comparison: > 000, < C0, = C3, unordered C3|C2|C0. */
export function compareBits(a: number, b: number): number {
  if (a !== a || b !== b) return C3 | C2 | C0;
  return a > b ? 0 : a < b ? C0 : C3;
}
