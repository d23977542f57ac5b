/**
 * SSE/SSE2 floating-point comparisons: CMPPS/CMPPD/CMPSS/CMPSD with the
 * eight imm8 predicates (all-ones / all-zeros lane masks) and
 * COMISS/COMISD/UCOMISS/UCOMISD (ZF, PF, CF). The "signalling" predicates
 * (LT, LE, NLT, NLE) and COMIS raise IE for any NaN, the quiet ones only
 * for an SNaN.
 */
import type { Cpu } from './cpu.js';
import { ARITH, CF, OP_NONE, PF, ZF } from './flags.js';
import { T2 } from './fpu-state.js';
import type { Instr } from './instr.js';
import { DE, IE, isDen32, isDen64, isNaN32, isNaN64, isSNaN32, isSNaN64 } from './sse-bits.js';
import { copyLanes, fpBegin, fpEnd, sseCheck, srcX, srcX32, srcX64 } from './sse-common.js';
import { ctx } from './sse-round.js';

const T2I = T2 >> 2;

// Predicate result for unordered operands, and which predicates signal on QNaN.
const UNORD_RESULT = [false, false, false, true, true, true, true, false];
const SIGNALS = [false, true, true, false, false, true, true, false];

function ordered(pred: number, a: number, b: number): boolean {
  switch (pred) {
    case 0: return a === b;
    case 1: return a < b;
    case 2: return a <= b;
    case 3: return false;
    case 4: return a !== b;
    case 5: return !(a < b);
    case 6: return !(a <= b);
    default: return true;
  }
}

function cmp32(cpu: Cpu, pred: number, d: number, s: number): boolean {
  const fp = cpu.fpu;
  const v = fp.i32;
  const ab = v[d]!;
  const bb = v[s]!;
  if (isNaN32(ab) || isNaN32(bb)) {
    if (SIGNALS[pred] || isSNaN32(ab) || isSNaN32(bb)) ctx.exc |= IE;
    return UNORD_RESULT[pred]!;
  }
  let a = fp.f32[d]!;
  let b = fp.f32[s]!;
  if (isDen32(ab) || isDen32(bb)) {
    if (ctx.daz) {
      if (isDen32(ab)) a = 0;
      if (isDen32(bb)) b = 0;
    } else ctx.exc |= DE;
  }
  return ordered(pred, a, b);
}

function cmp64(cpu: Cpu, pred: number, d: number, s: number): boolean {
  const fp = cpu.fpu;
  const v = fp.i32;
  const aN = isNaN64(v[d]!, v[d + 1]!);
  const bN = isNaN64(v[s]!, v[s + 1]!);
  if (aN || bN) {
    if (SIGNALS[pred] || isSNaN64(v[d]!, v[d + 1]!) || isSNaN64(v[s]!, v[s + 1]!)) ctx.exc |= IE;
    return UNORD_RESULT[pred]!;
  }
  let a = fp.f64[d >> 1]!;
  let b = fp.f64[s >> 1]!;
  const aD = isDen64(v[d]!, v[d + 1]!);
  const bD = isDen64(v[s]!, v[s + 1]!);
  if (aD || bD) {
    if (ctx.daz) {
      if (aD) a = 0;
      if (bD) b = 0;
    } else ctx.exc |= DE;
  }
  return ordered(pred, a, b);
}

/** CMPPS xmm, xmm/m128, imm8. */
export function cmpPS(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX(cpu, i, true) >> 2;
  const d = i.reg << 2;
  const pred = i.imm & 7;
  const v = cpu.fpu.i32;
  fpBegin(cpu);
  for (let k = 0; k < 4; k++) v[T2I + k] = cmp32(cpu, pred, d + k, s + k) ? -1 : 0;
  fpEnd(cpu);
  copyLanes(cpu, i.reg << 4, T2, 16);
}

/** CMPSS xmm, xmm/m32, imm8. */
export function cmpSS(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX32(cpu, i) >> 2;
  const d = i.reg << 2;
  fpBegin(cpu);
  const r = cmp32(cpu, i.imm & 7, d, s) ? -1 : 0;
  fpEnd(cpu);
  cpu.fpu.i32[d] = r;
}

/** CMPPD xmm, xmm/m128, imm8. */
export function cmpPD(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX(cpu, i, true) >> 2;
  const d = i.reg << 2;
  const pred = i.imm & 7;
  const v = cpu.fpu.i32;
  fpBegin(cpu);
  for (let k = 0; k < 4; k += 2) v[T2I + k] = v[T2I + k + 1] = cmp64(cpu, pred, d + k, s + k) ? -1 : 0;
  fpEnd(cpu);
  copyLanes(cpu, i.reg << 4, T2, 16);
}

/** CMPSD xmm, xmm/m64, imm8 (the SSE2 one, F2 0F C2). */
export function cmpSD(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX64(cpu, i) >> 2;
  const d = i.reg << 2;
  fpBegin(cpu);
  const r = cmp64(cpu, i.imm & 7, d, s) ? -1 : 0;
  fpEnd(cpu);
  cpu.fpu.i32[d] = cpu.fpu.i32[d + 1] = r;
}

// COMIS/UCOMIS write all six arithmetic flags, so the lazy flags need no materialising first.
function setCompareFlags(cpu: Cpu, unordered: boolean, lt: boolean, eq: boolean): void {
  const f = unordered ? ZF | PF | CF : lt ? CF : eq ? ZF : 0;
  cpu.fOp = OP_NONE;
  cpu.flags = (cpu.flags & ~ARITH) | f;
}

/** COMISS/UCOMISS (0F 2F / 0F 2E); i.sub = 1 for COMISS (signals on QNaN). */
export function comiss(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX32(cpu, i) >> 2;
  const d = i.reg << 2;
  const fp = cpu.fpu;
  const v = fp.i32;
  const ab = v[d]!;
  const bb = v[s]!;
  fpBegin(cpu);
  if (isNaN32(ab) || isNaN32(bb)) {
    if (i.sub === 1 || isSNaN32(ab) || isSNaN32(bb)) ctx.exc |= IE;
    fpEnd(cpu);
    setCompareFlags(cpu, true, false, false);
    return;
  }
  let a = fp.f32[d]!;
  let b = fp.f32[s]!;
  if (isDen32(ab) || isDen32(bb)) {
    if (ctx.daz) {
      if (isDen32(ab)) a = 0;
      if (isDen32(bb)) b = 0;
    } else ctx.exc |= DE;
  }
  fpEnd(cpu);
  setCompareFlags(cpu, false, a < b, a === b);
}

/** COMISD/UCOMISD (66 0F 2F / 66 0F 2E); i.sub = 1 for COMISD. */
export function comisd(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX64(cpu, i) >> 2;
  const d = i.reg << 2;
  const fp = cpu.fpu;
  const v = fp.i32;
  fpBegin(cpu);
  if (isNaN64(v[d]!, v[d + 1]!) || isNaN64(v[s]!, v[s + 1]!)) {
    if (i.sub === 1 || isSNaN64(v[d]!, v[d + 1]!) || isSNaN64(v[s]!, v[s + 1]!)) ctx.exc |= IE;
    fpEnd(cpu);
    setCompareFlags(cpu, true, false, false);
    return;
  }
  let a = fp.f64[d >> 1]!;
  let b = fp.f64[s >> 1]!;
  const aD = isDen64(v[d]!, v[d + 1]!);
  const bD = isDen64(v[s]!, v[s + 1]!);
  if (aD || bD) {
    if (ctx.daz) {
      if (aD) a = 0;
      if (bD) b = 0;
    } else ctx.exc |= DE;
  }
  fpEnd(cpu);
  setCompareFlags(cpu, false, a < b, a === b);
}
