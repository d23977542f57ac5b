/**
 * Effective-address calculators, one per addressing form, chosen at decode
 * time so the executor never re-inspects ModRM. 64-bit forms add the low
 * and high 32-bit halves separately, so the result is the exact sum modulo
 * 2^64 (as a signed double) even when a register holds a value beyond 2^53
 * and the sum wraps; anything non-canonical fails the TLB probe and is
 * rejected by the page walk.
 */
import type { Cpu } from './cpu.js';
import type { EaFn, Instr } from './instr.js';

const TWO32 = 4294967296;

// lo: a sum of unsigned low halves and the displacement (any double integer
// below 2^53 in magnitude); hi: the matching sum of high halves. The carry
// out of lo moves into hi, which then wraps to 32 bits.
function join(lo: number, hi: number): number {
  return ((hi + Math.floor(lo / TWO32)) | 0) * TWO32 + (lo >>> 0);
}

function b64(cpu: Cpu, i: Instr): number {
  return join((cpu.R[i.base]! >>> 0) + i.disp, cpu.H[i.base]!);
}

function i64(cpu: Cpu, i: Instr): number {
  const s = 1 << i.scale;
  return join((cpu.R[i.index]! >>> 0) * s + i.disp, cpu.H[i.index]! * s);
}

function bi64(cpu: Cpu, i: Instr): number {
  const s = 1 << i.scale;
  return join((cpu.R[i.base]! >>> 0) + (cpu.R[i.index]! >>> 0) * s + i.disp, cpu.H[i.base]! + cpu.H[i.index]! * s);
}

/** The EA functions, keyed by form. */
export const EA: Record<string, EaFn> = {
  /** [disp] and RIP-relative (already folded into disp). */
  abs: (_cpu: Cpu, i: Instr) => i.disp,
  absSeg: (cpu: Cpu, i: Instr) => i.disp + cpu.segBase[i.seg]!,
  /** [base + disp] */
  b: b64,
  bSeg: (cpu: Cpu, i: Instr) => b64(cpu, i) + cpu.segBase[i.seg]!,
  /** [index * scale + disp] */
  i: i64,
  iSeg: (cpu: Cpu, i: Instr) => i64(cpu, i) + cpu.segBase[i.seg]!,
  /** [base + index * scale + disp] */
  bi: bi64,
  biSeg: (cpu: Cpu, i: Instr) => bi64(cpu, i) + cpu.segBase[i.seg]!,
  /** 32-bit addressing in 64-bit mode without a segment base. */
  a32flat: (cpu: Cpu, i: Instr) => ea32(cpu, i),
  /** 32-bit addressing with the segment base (legacy modes, or FS/GS in 64-bit mode). */
  a32: (cpu: Cpu, i: Instr) => {
    const off = ea32(cpu, i);
    return cpu.mode64 ? off + cpu.segBase[i.seg]! : (off + cpu.segBase[i.seg]!) % TWO32;
  },
  /** 16-bit addressing: offset wraps at 64 KiB, then the segment base. */
  a16: (cpu: Cpu, i: Instr) => {
    let off = i.disp;
    if (i.base >= 0) off += cpu.R[i.base]!;
    if (i.index >= 0) off += cpu.R[i.index]!;
    return ((off & 0xffff) + cpu.segBase[i.seg]!) % TWO32;
  },
};

function ea32(cpu: Cpu, i: Instr): number {
  let off = i.disp;
  if (i.base >= 0) off += cpu.R[i.base]!;
  if (i.index >= 0) off += cpu.R[i.index]! * (1 << i.scale);
  return off >>> 0;
}

/** The offset part of an EA without any segment base (LEA). */
export function eaOffset(cpu: Cpu, i: Instr): number {
  if (i.asize === 2) {
    let off = i.disp;
    if (i.base >= 0) off += cpu.R[i.base]!;
    if (i.index >= 0) off += cpu.R[i.index]!;
    return off & 0xffff;
  }
  if (i.asize === 4) return ea32(cpu, i);
  if (i.base >= 0) return i.index >= 0 ? bi64(cpu, i) : b64(cpu, i);
  return i.index >= 0 ? i64(cpu, i) : i.disp;
}
