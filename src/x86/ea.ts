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

/** Addressing forms (Instr.eaKind). */
export const EA_KIND = {
  /** [disp] and RIP-relative (already folded into disp). */
  abs: 0, absSeg: 1,
  /** [base + disp] */
  b: 2, bSeg: 3,
  /** [index * scale + disp] */
  i: 4, iSeg: 5,
  /** [base + index * scale + disp] */
  bi: 6, biSeg: 7,
  /** 32-bit addressing in 64-bit mode without a segment base. */
  a32flat: 8,
  /** 32-bit addressing with the segment base (legacy modes, or FS/GS in 64-bit mode). */
  a32: 9,
  /** 16-bit addressing: offset wraps at 64 KiB, then the segment base. */
  a16: 10,
} as const;

/**
 * The linear address of a memory operand, by its addressing form.
 *
 * DEVNOTE: one function with a switch rather than one function per form:
 * every handler's `i.ea(cpu, i)` call then has a single target, so V8
 * inlines it and the (often non-Smi) address never gets boxed between the
 * EA computation and the memory access.
 */
export function effectiveAddress(cpu: Cpu, i: Instr): number {
  switch (i.eaKind) {
    case 0: return i.disp;
    case 1: return i.disp + cpu.segBase[i.seg]!;
    case 2: return b64(cpu, i);
    case 3: return b64(cpu, i) + cpu.segBase[i.seg]!;
    case 4: return i64(cpu, i);
    case 5: return i64(cpu, i) + cpu.segBase[i.seg]!;
    case 6: return bi64(cpu, i);
    case 7: return bi64(cpu, i) + cpu.segBase[i.seg]!;
    case 8: return ea32(cpu, i);
    case 9: {
      const off = ea32(cpu, i);
      return cpu.mode64 ? off + cpu.segBase[i.seg]! : (off + cpu.segBase[i.seg]!) % TWO32;
    }
    default: {
      let off = i.disp;
      if (i.base >= 0) off += cpu.R[i.base]!;
      if (i.index >= 0) off += cpu.R[i.index]!;
      return ((off & 0xffff) + cpu.segBase[i.seg]!) % TWO32;
    }
  }
}

/** The EA function every Instr uses (kept as a field for callers that hold an Instr). */
export const EA: { readonly abs: EaFn } = { abs: effectiveAddress };

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
