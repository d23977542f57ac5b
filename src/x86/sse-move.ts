/**
 * SSE/SSE2/MMX data movement: MOVAPS/MOVUPS/MOVDQA/MOVDQU (and PD), MOVSS,
 * MOVSD, MOVLPS/MOVHPS/MOVLPD/MOVHPD/MOVHLPS/MOVLHPS, MOVD/MOVQ in every
 * form, the non-temporal stores (plain stores here: there is no cache to
 * bypass), MASKMOVQ/MASKMOVDQU, MOVQ2DQ/MOVDQ2Q, PINSRW/PEXTRW.
 */
import { addrMask, type Cpu, DS } from './cpu.js';
import { gp } from './fault.js';
import type { Instr } from './instr.js';
import { mmOff, mmWritten, mmxEnter, srcMM } from './mmx.js';
import { copyLanes, mmxCheck, readGprE, sseCheck, store128, writeGpr } from './sse-common.js';

/** MOVAPS/MOVUPS/MOVAPD/MOVUPD/MOVDQA/MOVDQU xmm, xmm/m128 (i.sub = 1 when aligned). */
export function movLoad128(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const d = i.reg << 2;
  const v = cpu.fpu.i32;
  if (!i.mem) {
    const s = i.rm << 2;
    v[d] = v[s]!;
    v[d + 1] = v[s + 1]!;
    v[d + 2] = v[s + 2]!;
    v[d + 3] = v[s + 3]!;
    return;
  }
  const ea = i.ea(cpu, i);
  if (i.sub === 1 && (ea & 15) !== 0) throw gp(0);
  // Both halves are read before the register changes, so a fault leaves it intact.
  const a = cpu.rd64(ea);
  const ah = cpu.hi;
  const b = cpu.rd64(ea + 8);
  v[d] = a;
  v[d + 1] = ah;
  v[d + 2] = b;
  v[d + 3] = cpu.hi;
}

/** The store forms xmm/m128, xmm (i.sub = 1 when aligned); also MOVNTPS/MOVNTPD/MOVNTDQ. */
export function movStore128(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  if (!i.mem) {
    copyLanes(cpu, i.rm << 4, i.reg << 4, 16);
    return;
  }
  const ea = i.ea(cpu, i);
  if (i.sub === 1 && (ea & 15) !== 0) throw gp(0);
  store128(cpu, ea, i.reg << 4);
}

/** MOVSS xmm, xmm/m32 (a load from memory zeroes lanes 1-3). */
export function movssLoad(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const v = cpu.fpu.i32;
  const d = i.reg << 2;
  if (!i.mem) {
    v[d] = v[i.rm << 2]!;
    return;
  }
  v[d] = cpu.rd32(i.ea(cpu, i));
  v[d + 1] = v[d + 2] = v[d + 3] = 0;
}

/** MOVSS xmm/m32, xmm. */
export function movssStore(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const v = cpu.fpu.i32;
  if (!i.mem) v[i.rm << 2] = v[i.reg << 2]!;
  else cpu.wr32(i.ea(cpu, i), v[i.reg << 2]!);
}

/** MOVSD xmm, xmm/m64 (a load from memory zeroes the high half); MOVQ xmm, xmm/m64 (F3 0F 7E) always zeroes it. */
export function movsdLoad(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const v = cpu.fpu.i32;
  const d = i.reg << 2;
  if (i.mem) {
    v[d] = cpu.rd64(i.ea(cpu, i));
    v[d + 1] = cpu.hi;
  } else {
    const s = i.rm << 2;
    v[d] = v[s]!;
    v[d + 1] = v[s + 1]!;
    if (i.sub === 0) return;
  }
  v[d + 2] = v[d + 3] = 0;
}

/** MOVSD/MOVLPS/MOVLPD/MOVQ(66 0F D6) xmm/m64, xmm: the low 64 bits (i.sub = 1: a register destination's high half is zeroed, as MOVQ does). */
export function movStoreLow64(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const v = cpu.fpu.i32;
  const s = i.reg << 2;
  if (i.mem) {
    cpu.wr64(i.ea(cpu, i), v[s]!, v[s + 1]!);
    return;
  }
  const d = i.rm << 2;
  v[d] = v[s]!;
  v[d + 1] = v[s + 1]!;
  if (i.sub === 1) v[d + 2] = v[d + 3] = 0;
}

/** MOVLPS/MOVLPD xmm, m64 (i.sub = 0) and MOVHPS/MOVHPD xmm, m64 (i.sub = 1): one half from memory. */
export function movHalfLoad(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const v = cpu.fpu.i32;
  const d = (i.reg << 2) + (i.sub << 1);
  v[d] = cpu.rd64(i.ea(cpu, i));
  v[d + 1] = cpu.hi;
}

/** MOVHPS/MOVHPD m64, xmm: the high half to memory. */
export function movHighStore(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const v = cpu.fpu.i32;
  const s = (i.reg << 2) + 2;
  cpu.wr64(i.ea(cpu, i), v[s]!, v[s + 1]!);
}

/** MOVHLPS (i.sub = 0: low half of dst = high half of src) and MOVLHPS (i.sub = 1: high = low). */
export function movHalfReg(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const v = cpu.fpu.i32;
  const d = (i.reg << 2) + (i.sub === 1 ? 2 : 0);
  const s = (i.rm << 2) + (i.sub === 1 ? 0 : 2);
  const lo = v[s]!;
  const hi = v[s + 1]!;
  v[d] = lo;
  v[d + 1] = hi;
}

/** MOVD/MOVQ xmm, r/m32|64 (66 0F 6E): zero-extends into the whole register. */
export function movdToXmm(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const lo = readGprE(cpu, i);
  const v = cpu.fpu.i32;
  const d = i.reg << 2;
  v[d] = lo;
  v[d + 1] = cpu.hi;
  v[d + 2] = v[d + 3] = 0;
}

/** MOVD/MOVQ r/m32|64, xmm (66 0F 7E). */
export function movdFromXmm(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const v = cpu.fpu.i32;
  storeGprE(cpu, i, v[i.reg << 2]!, v[(i.reg << 2) + 1]!);
}

function storeGprE(cpu: Cpu, i: Instr, lo: number, hi: number): void {
  const w = i.osize === 8;
  if (i.mem) {
    const ea = i.ea(cpu, i);
    if (w) cpu.wr64(ea, lo, hi);
    else cpu.wr32(ea, lo);
  } else writeGpr(cpu, i.rm, w, lo, hi);
}

/** MOVD/MOVQ mm, r/m32|64 (0F 6E). */
export function movdToMm(cpu: Cpu, i: Instr): void {
  mmxCheck(cpu);
  const lo = readGprE(cpu, i);
  const hi = cpu.hi;
  const fp = cpu.fpu;
  mmxEnter(fp);
  const r = i.reg & 7;
  fp.mm[2 * r] = lo;
  fp.mm[2 * r + 1] = hi;
  mmWritten(fp, r);
}

/** MOVD/MOVQ r/m32|64, mm (0F 7E). */
export function movdFromMm(cpu: Cpu, i: Instr): void {
  mmxCheck(cpu);
  const fp = cpu.fpu;
  mmxEnter(fp);
  const r = i.reg & 7;
  storeGprE(cpu, i, fp.mm[2 * r]!, fp.mm[2 * r + 1]!);
}

/** MOVQ mm, mm/m64 (0F 6F). */
export function movqToMm(cpu: Cpu, i: Instr): void {
  mmxCheck(cpu);
  const fp = cpu.fpu;
  const s = srcMM(cpu, i, 8);
  copyLanes(cpu, mmOff(i.reg), s, 8);
  mmWritten(fp, i.reg);
}

/** MOVQ mm/m64, mm (0F 7F) and MOVNTQ m64, mm (0F E7). */
export function movqFromMm(cpu: Cpu, i: Instr): void {
  mmxCheck(cpu);
  const fp = cpu.fpu;
  const r = i.reg & 7;
  if (i.mem) {
    const ea = i.ea(cpu, i);
    mmxEnter(fp);
    cpu.wr64(ea, fp.mm[2 * r]!, fp.mm[2 * r + 1]!);
    return;
  }
  mmxEnter(fp);
  copyLanes(cpu, mmOff(i.rm), mmOff(r), 8);
  mmWritten(fp, i.rm);
}

/** MOVQ2DQ xmm, mm (F3 0F D6). */
export function movq2dq(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const fp = cpu.fpu;
  mmxEnter(fp);
  const v = fp.i32;
  const d = i.reg << 2;
  const s = mmOff(i.rm) >> 2;
  v[d] = v[s]!;
  v[d + 1] = v[s + 1]!;
  v[d + 2] = v[d + 3] = 0;
}

/** MOVDQ2Q mm, xmm (F2 0F D6). */
export function movdq2q(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const fp = cpu.fpu;
  mmxEnter(fp);
  copyLanes(cpu, mmOff(i.reg), i.rm << 4, 8);
  mmWritten(fp, i.reg);
}

/** MOVNTI m32/m64, r32/r64 (0F C3): an ordinary store. */
export function movnti(cpu: Cpu, i: Instr): void {
  const ea = i.ea(cpu, i);
  if (i.osize === 8) cpu.wr64(ea, cpu.R[i.reg]!, cpu.H[i.reg]!);
  else cpu.wr32(ea, cpu.R[i.reg]!);
}

/** MASKMOVQ mm, mm (0F F7) and MASKMOVDQU xmm, xmm (66 0F F7): bytes of reg whose mask byte (rm) has its top bit set go to DS:rDI. */
export function maskmov(cpu: Cpu, i: Instr): void {
  const fp = cpu.fpu;
  let d: number;
  let m: number;
  let n: number;
  if (i.pfx === 0x66) {
    sseCheck(cpu);
    d = i.reg << 4;
    m = i.rm << 4;
    n = 16;
  } else {
    mmxCheck(cpu);
    mmxEnter(fp);
    d = mmOff(i.reg);
    m = mmOff(i.rm);
    n = 8;
  }
  const rdi = i.asize === 8 ? cpu.reg64(7) : addrMask(i.asize, cpu.R[7]!);
  const base = cpu.mode64 ? rdi : (rdi + cpu.segBase[DS]!) % 4294967296;
  const b = fp.u8;
  for (let k = 0; k < n; k++) if (b[m + k]! >= 0x80) cpu.wr8(base + k, b[d + k]!);
}

/** PINSRW xmm/mm, r32/m16, imm8 (0F C4). */
export function pinsrw(cpu: Cpu, i: Instr): void {
  const fp = cpu.fpu;
  const x = i.pfx === 0x66;
  if (x) sseCheck(cpu);
  else mmxCheck(cpu);
  const w = i.mem ? cpu.rd16(i.ea(cpu, i)) : cpu.R[i.rm]! & 0xffff;
  if (x) {
    fp.u16[(i.reg << 3) + (i.imm & 7)] = w;
    return;
  }
  mmxEnter(fp);
  fp.u16[(mmOff(i.reg) >> 1) + (i.imm & 3)] = w;
  mmWritten(fp, i.reg);
}

/** PEXTRW r32, xmm/mm, imm8 (0F C5). */
export function pextrw(cpu: Cpu, i: Instr): void {
  const fp = cpu.fpu;
  let w: number;
  if (i.pfx === 0x66) {
    sseCheck(cpu);
    w = fp.u16[(i.rm << 3) + (i.imm & 7)]!;
  } else {
    mmxCheck(cpu);
    mmxEnter(fp);
    w = fp.u16[(mmOff(i.rm) >> 1) + (i.imm & 3)]!;
  }
  writeGpr(cpu, i.reg, false, w, 0);
}
