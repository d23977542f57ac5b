/**
 * Effective-address calculators, one per addressing form, chosen at decode
 * time so the executor never re-inspects ModRM. 64-bit forms compute with
 * doubles: canonical results are exact, and anything out of range fails
 * the TLB probe and is rejected by the page walk.
 */
import type { Cpu } from './cpu.js';
import type { EaFn, Instr } from './instr.js';

const TWO32 = 4294967296;

function r64(cpu: Cpu, r: number): number {
  return cpu.H[r]! * TWO32 + (cpu.R[r]! >>> 0);
}

/** The EA functions, keyed by form. */
export const EA: Record<string, EaFn> = {
  /** [disp] and RIP-relative (already folded into disp). */
  abs: (_cpu: Cpu, i: Instr) => i.disp,
  absSeg: (cpu: Cpu, i: Instr) => i.disp + cpu.segBase[i.seg]!,
  /** [base + disp] */
  b: (cpu: Cpu, i: Instr) => r64(cpu, i.base) + i.disp,
  bSeg: (cpu: Cpu, i: Instr) => r64(cpu, i.base) + i.disp + cpu.segBase[i.seg]!,
  /** [index * scale + disp] */
  i: (cpu: Cpu, i: Instr) => r64(cpu, i.index) * (1 << i.scale) + i.disp,
  iSeg: (cpu: Cpu, i: Instr) => r64(cpu, i.index) * (1 << i.scale) + i.disp + cpu.segBase[i.seg]!,
  /** [base + index * scale + disp] */
  bi: (cpu: Cpu, i: Instr) => r64(cpu, i.base) + r64(cpu, i.index) * (1 << i.scale) + i.disp,
  biSeg: (cpu: Cpu, i: Instr) => r64(cpu, i.base) + r64(cpu, i.index) * (1 << i.scale) + i.disp + cpu.segBase[i.seg]!,
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
  let v = i.disp;
  if (i.base >= 0) v += r64(cpu, i.base);
  if (i.index >= 0) v += r64(cpu, i.index) * (1 << i.scale);
  return v;
}
