/**
 * SSE/SSE2 conversions between integers, singles and doubles (0F 2A, 2C,
 * 2D, 5A, 5B, E6). Float -> integer rounds by MXCSR.RC (or truncates for
 * the CVTT forms); NaNs and out-of-range values give the integer
 * indefinite (0x80000000...) with IE. The MMX forms (CVTPI2PS etc.) switch
 * the x87 unit to MMX state when an MMX register is an operand.
 */
import type { Cpu } from './cpu.js';
import { type FpuState, T2 } from './fpu-state.js';
import type { Instr } from './instr.js';
import { mmOff, mmWritten, mmxEnter } from './mmx.js';
import { DE, IE, isDen32, isDen64, isNaN32, isNaN64, isSNaN32, isSNaN64, RZ } from './sse-bits.js';
import { copyLanes, fpBegin, fpEnd, readGprE, sseCheck, srcX, srcX32, srcX64, writeGpr } from './sse-common.js';
import { ctx, fromInt64, roundToInt, toSingle } from './sse-round.js';

const T2I = T2 >> 2;

/** Value of a single lane with NaN -> NaN, DAZ and DE applied. */
function single(v: Int32Array, f: Float32Array, k: number): number {
  const b = v[k]!;
  if (isNaN32(b)) return NaN;
  if (isDen32(b)) {
    if (ctx.daz) return b < 0 ? -0 : 0;
    ctx.exc |= DE;
  }
  return f[k]!;
}

function double(v: Int32Array, f: Float64Array, k: number): number {
  if (isNaN64(v[k]!, v[k + 1]!)) return NaN;
  if (isDen64(v[k]!, v[k + 1]!)) {
    if (ctx.daz) return v[k + 1]! < 0 ? -0 : 0;
    ctx.exc |= DE;
  }
  return f[k >> 1]!;
}

// Float -> integer conversions raise IE, PE, and nothing for a denormal source.
function cvtSource32(v: Int32Array, f: Float32Array, k: number): number {
  const saved = ctx.exc;
  const x = single(v, f, k);
  ctx.exc = saved;
  return x;
}

function cvtSource64(v: Int32Array, f: Float64Array, k: number): number {
  const saved = ctx.exc;
  const x = double(v, f, k);
  ctx.exc = saved;
  return x;
}

/** x rounded by `mode` to int32, or the indefinite with IE. */
function toInt32(x: number, mode: number): number {
  if (x !== x) {
    ctx.exc |= IE;
    return 0x80000000 | 0;
  }
  const saved = ctx.exc;
  const r = roundToInt(x, mode);
  if (r < -2147483648 || r > 2147483647) {
    ctx.exc = saved | IE;
    return 0x80000000 | 0;
  }
  return r | 0;
}

let outHi = 0;

/** x rounded by `mode` to int64: returns the low half, high half in outHi. */
function toInt64(x: number, mode: number): number {
  if (x !== x) {
    ctx.exc |= IE;
    outHi = 0x80000000 | 0;
    return 0;
  }
  const saved = ctx.exc;
  const r = roundToInt(x, mode);
  if (r < -9223372036854775808 || r >= 9223372036854775808) {
    ctx.exc = saved | IE;
    outHi = 0x80000000 | 0;
    return 0;
  }
  const hi = Math.floor(r / 4294967296);
  outHi = hi | 0;
  return (r - hi * 4294967296) | 0;
}

/** CVTSI2SS (F3 0F 2A) / CVTSI2SD (F2 0F 2A) xmm, r/m32|64. */
export function cvtsi2s(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const lo = readGprE(cpu, i);
  const hi = cpu.hi;
  fpBegin(cpu);
  const isSingle = i.pfx === 0xf3;
  const r = i.osize === 8 ? fromInt64(lo, hi, true, isSingle) : isSingle ? toSingle(lo) : lo;
  fpEnd(cpu);
  const fp = cpu.fpu;
  if (isSingle) fp.f32[i.reg << 2] = r;
  else fp.f64[i.reg << 1] = r;
}

/** CVT(T)SS2SI (F3 0F 2C/2D) and CVT(T)SD2SI (F2 0F 2C/2D) r32/64, xmm/m; i.sub = 1 truncates. */
export function cvts2si(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const isSingle = i.pfx === 0xf3;
  const s = (isSingle ? srcX32(cpu, i) : srcX64(cpu, i)) >> 2;
  fpBegin(cpu);
  const fp = cpu.fpu;
  const x = isSingle ? cvtSource32(fp.i32, fp.f32, s) : cvtSource64(fp.i32, fp.f64, s);
  const mode = i.sub === 1 ? RZ : ctx.mode;
  const w = i.osize === 8;
  const lo = w ? toInt64(x, mode) : toInt32(x, mode);
  fpEnd(cpu);
  writeGpr(cpu, i.reg, w, lo, w ? outHi : 0);
}

/** CVTPI2PS (0F 2A) xmm, mm/m64: two int32 to the low two singles. */
export function cvtpi2ps(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = mmxSource(cpu, i);
  const v = cpu.fpu.i32;
  fpBegin(cpu);
  const a = toSingle(v[s]!);
  const b = toSingle(v[s + 1]!);
  fpEnd(cpu);
  const f = cpu.fpu.f32;
  f[i.reg << 2] = a;
  f[(i.reg << 2) + 1] = b;
}

/** CVTPI2PD (66 0F 2A) xmm, mm/m64: two int32 to two doubles (exact). */
export function cvtpi2pd(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = mmxSource(cpu, i);
  const v = cpu.fpu.i32;
  const a = v[s]!;
  const b = v[s + 1]!;
  cpu.fpu.f64[i.reg << 1] = a;
  cpu.fpu.f64[(i.reg << 1) + 1] = b;
}

// An MMX register source switches to MMX state; a memory source does not.
function mmxSource(cpu: Cpu, i: Instr): number {
  if (i.mem) return srcX64(cpu, i) >> 2;
  mmxEnter(cpu.fpu);
  return mmOff(i.rm) >> 2;
}

/** CVT(T)PS2PI (0F 2C/2D) mm, xmm/m64 and CVT(T)PD2PI (66 0F 2C/2D) mm, xmm/m128; i.sub = 1 truncates. */
export function cvtp2pi(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const pd = i.pfx === 0x66;
  const s = (pd ? srcX(cpu, i, true) : srcX64(cpu, i)) >> 2;
  const fp = cpu.fpu;
  fpBegin(cpu);
  const mode = i.sub === 1 ? RZ : ctx.mode;
  const a = toInt32(pd ? cvtSource64(fp.i32, fp.f64, s) : cvtSource32(fp.i32, fp.f32, s), mode);
  const b = toInt32(pd ? cvtSource64(fp.i32, fp.f64, s + 2) : cvtSource32(fp.i32, fp.f32, s + 1), mode);
  fpEnd(cpu);
  mmxEnter(fp);
  const d = mmOff(i.reg) >> 2;
  fp.i32[d] = a;
  fp.i32[d + 1] = b;
  mmWritten(fp, i.reg);
}

// Single -> double: exact; an SNaN is quieted with IE, a NaN keeps its payload.
function s2d(fp: FpuState, k: number, o: number): void {
  const v = fp.i32;
  const b = v[k]!;
  if (isNaN32(b)) {
    if (isSNaN32(b)) ctx.exc |= IE;
    const hi = (b & 0x80000000) | 0x7ff80000 | ((b & 0x3fffff) >>> 3);
    v[o] = b << 29;
    v[o + 1] = hi | 0;
    return;
  }
  fp.f64[o >> 1] = single(v, fp.f32, k);
}

// Double -> single: rounds by MXCSR; a NaN keeps the top of its payload.
function d2s(v: Int32Array, f64: Float64Array, k: number): number {
  const lo = v[k]!;
  const hi = v[k + 1]!;
  if (isNaN64(lo, hi)) {
    if (isSNaN64(lo, hi)) ctx.exc |= IE;
    return NaN;
  }
  return toSingle(double(v, f64, k));
}

function nanBits32(lo: number, hi: number): number {
  return (hi & 0x80000000) | 0x7fc00000 | ((hi & 0x7ffff) << 3) | (lo >>> 29);
}

/** CVTPS2PD (0F 5A) xmm, xmm/m64. */
export function cvtps2pd(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX64(cpu, i) >> 2;
  const fp = cpu.fpu;
  fpBegin(cpu);
  s2d(fp, s, T2I);
  s2d(fp, s + 1, T2I + 2);
  fpEnd(cpu);
  copyLanes(cpu, i.reg << 4, T2, 16);
}

/** CVTSS2SD (F3 0F 5A) xmm, xmm/m32. */
export function cvtss2sd(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX32(cpu, i) >> 2;
  const fp = cpu.fpu;
  fpBegin(cpu);
  s2d(fp, s, T2I);
  fpEnd(cpu);
  copyLanes(cpu, i.reg << 4, T2, 8);
}

/** CVTPD2PS (66 0F 5A) xmm, xmm/m128: the high half of the destination is zeroed. */
export function cvtpd2ps(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX(cpu, i, true) >> 2;
  const fp = cpu.fpu;
  const v = fp.i32;
  fpBegin(cpu);
  for (let k = 0; k < 2; k++) {
    const r = d2s(v, fp.f64, s + 2 * k);
    if (r !== r) v[T2I + k] = nanBits32(v[s + 2 * k]!, v[s + 2 * k + 1]!);
    else fp.f32[T2I + k] = r;
  }
  v[T2I + 2] = v[T2I + 3] = 0;
  fpEnd(cpu);
  copyLanes(cpu, i.reg << 4, T2, 16);
}

/** CVTSD2SS (F2 0F 5A) xmm, xmm/m64. */
export function cvtsd2ss(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX64(cpu, i) >> 2;
  const fp = cpu.fpu;
  const v = fp.i32;
  fpBegin(cpu);
  const r = d2s(v, fp.f64, s);
  const out = r !== r ? nanBits32(v[s]!, v[s + 1]!) : 0;
  fpEnd(cpu);
  if (r !== r) v[i.reg << 2] = out;
  else fp.f32[i.reg << 2] = r;
}

/** CVTDQ2PS (0F 5B) xmm, xmm/m128. */
export function cvtdq2ps(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX(cpu, i, true) >> 2;
  const fp = cpu.fpu;
  fpBegin(cpu);
  for (let k = 0; k < 4; k++) fp.f32[T2I + k] = toSingle(fp.i32[s + k]!);
  fpEnd(cpu);
  copyLanes(cpu, i.reg << 4, T2, 16);
}

/** CVTPS2DQ (66 0F 5B) and CVTTPS2DQ (F3 0F 5B) xmm, xmm/m128. */
export function cvtps2dq(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX(cpu, i, true) >> 2;
  const fp = cpu.fpu;
  fpBegin(cpu);
  const mode = i.pfx === 0xf3 ? RZ : ctx.mode;
  for (let k = 0; k < 4; k++) fp.i32[T2I + k] = toInt32(cvtSource32(fp.i32, fp.f32, s + k), mode);
  fpEnd(cpu);
  copyLanes(cpu, i.reg << 4, T2, 16);
}

/** CVTDQ2PD (F3 0F E6) xmm, xmm/m64. */
export function cvtdq2pd(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX64(cpu, i) >> 2;
  const fp = cpu.fpu;
  const a = fp.i32[s]!;
  const b = fp.i32[s + 1]!;
  fp.f64[i.reg << 1] = a;
  fp.f64[(i.reg << 1) + 1] = b;
}

/** CVTPD2DQ (F2 0F E6) and CVTTPD2DQ (66 0F E6) xmm, xmm/m128: the high half is zeroed. */
export function cvtpd2dq(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX(cpu, i, true) >> 2;
  const fp = cpu.fpu;
  fpBegin(cpu);
  const mode = i.pfx === 0x66 ? RZ : ctx.mode;
  fp.i32[T2I] = toInt32(cvtSource64(fp.i32, fp.f64, s), mode);
  fp.i32[T2I + 1] = toInt32(cvtSource64(fp.i32, fp.f64, s + 2), mode);
  fp.i32[T2I + 2] = fp.i32[T2I + 3] = 0;
  fpEnd(cpu);
  copyLanes(cpu, i.reg << 4, T2, 16);
}
