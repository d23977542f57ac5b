/**
 * Dedicated XMM handlers for the integer instructions glibc's SSE2 string
 * and memory functions run in their inner loops (PCMPEQB, PMINUB, PMAXUB,
 * PMOVMSKB, the logic ops, PADDB/PSUBB). The generic lane-op path calls a
 * per-byte callback through a shared closure; these work on 32-bit lanes
 * with SWAR arithmetic and no indirect calls.
 */
import type { Cpu } from './cpu.js';
import type { Instr } from './instr.js';
import { sseCheck, srcX, writeGpr } from './sse-common.js';

/** PCMPEQB xmm, xmm/m128: a byte is all ones where equal. */
export function pcmpeqbX(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX(cpu, i, true) >> 2;
  const v = cpu.fpu.i32;
  const d = i.reg << 2;
  for (let k = 0; k < 4; k++) {
    const x = v[d + k]! ^ v[s + k]!;
    // High bit of each byte of t is set where the byte of x is nonzero.
    const t = ((x & 0x7f7f7f7f) + 0x7f7f7f7f) | x;
    v[d + k] = Math.imul((~t & 0x80808080) >>> 7, 0xff);
  }
}

/** PMINUB (min = true) / PMAXUB xmm, xmm/m128. */
function minMaxUB(cpu: Cpu, i: Instr, min: boolean): void {
  sseCheck(cpu);
  const s = srcX(cpu, i, true);
  const b = cpu.fpu.u8;
  const d = i.reg << 4;
  for (let k = 0; k < 16; k++) {
    const x = b[d + k]!;
    const y = b[s + k]!;
    if (min ? y < x : y > x) b[d + k] = y;
  }
}

/** PMINUB xmm, xmm/m128. */
export function pminubX(cpu: Cpu, i: Instr): void {
  minMaxUB(cpu, i, true);
}

/** PMAXUB xmm, xmm/m128. */
export function pmaxubX(cpu: Cpu, i: Instr): void {
  minMaxUB(cpu, i, false);
}

/** PAND/ANDPS/ANDPD (i.sub 0), PANDN/ANDNPS/ANDNPD (1), POR/ORPS/ORPD (2), PXOR/XORPS/XORPD (3). */
export function logicX(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX(cpu, i, true) >> 2;
  const v = cpu.fpu.i32;
  const d = i.reg << 2;
  switch (i.sub) {
    case 0: for (let k = 0; k < 4; k++) v[d + k] = v[d + k]! & v[s + k]!; break;
    case 1: for (let k = 0; k < 4; k++) v[d + k] = ~v[d + k]! & v[s + k]!; break;
    case 2: for (let k = 0; k < 4; k++) v[d + k] = v[d + k]! | v[s + k]!; break;
    default: for (let k = 0; k < 4; k++) v[d + k] = v[d + k]! ^ v[s + k]!;
  }
}

/** PADDB (i.sub 0) / PSUBB (i.sub 1) xmm, xmm/m128: bytewise without carries between bytes. */
export function addSubBX(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const s = srcX(cpu, i, true) >> 2;
  const v = cpu.fpu.i32;
  const d = i.reg << 2;
  if (i.sub === 0) {
    for (let k = 0; k < 4; k++) {
      const a = v[d + k]!;
      const b = v[s + k]!;
      v[d + k] = ((a & 0x7f7f7f7f) + (b & 0x7f7f7f7f)) ^ ((a ^ b) & 0x80808080);
    }
  } else {
    for (let k = 0; k < 4; k++) {
      const a = v[d + k]!;
      const b = v[s + k]!;
      v[d + k] = ((a | 0x80808080) - (b & 0x7f7f7f7f)) ^ ((a ^ ~b) & 0x80808080);
    }
  }
}

/** PMOVMSKB r32, xmm: the sign bit of every byte, gathered four bytes at a time. */
export function pmovmskbX(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const v = cpu.fpu.i32;
  const s = i.rm << 2;
  let m = 0;
  for (let k = 3; k >= 0; k--) m = (m << 4) | (Math.imul((v[s + k]! >>> 7) & 0x01010101, 0x01020408) >>> 24);
  writeGpr(cpu, i.reg, false, m, 0);
}
