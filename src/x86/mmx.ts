/**
 * MMX state: the switch between the x87 view of R0..R7 (doubles) and the
 * MMX view (64-bit integers in FpuState.mm), EMMS, and the MMX operand
 * form of the SIMD integer operations. See fpu-state.ts for how the two
 * views are kept consistent.
 */
import type { Cpu } from './cpu.js';
import { type FpuState, MM_OFF, T0 } from './fpu-state.js';
import type { Handler, Instr } from './instr.js';
import { mmxCheck } from './sse-common.js';
import { D80, F80, fromF80, toF80 } from './x87-f80.js';

/** A SIMD operation on the FpuState buffer: destination and source byte offsets, width in bytes (8 or 16). */
export type LaneOp = (fp: FpuState, d: number, s: number, n: number, i: Instr) => void;

/** Byte offset of MMX register r (REX bits ignored, as MMX has eight registers). */
export function mmOff(r: number): number {
  return MM_OFF + ((r & 7) << 3);
}

/** Enters MMX state: every register as its 80-bit pattern, TOP = 0, all tags valid. */
export function mmxEnter(fp: FpuState): void {
  if (fp.raw !== 0xff) {
    const b = fp.stBits;
    const mm = fp.mm;
    for (let p = 0; p < 8; p++) {
      if ((fp.raw & (1 << p)) !== 0) continue;
      toF80(b[2 * p]!, b[2 * p + 1]!);
      mm[2 * p] = F80.lo;
      mm[2 * p + 1] = F80.hi;
      fp.exp[p] = F80.se;
    }
    fp.raw = 0xff;
  }
  fp.top = 0;
  fp.valid = 0xff;
}

/** Turns registers holding 80-bit patterns back into doubles before x87 arithmetic uses them. */
export function rawToDoubles(fp: FpuState): void {
  const b = fp.stBits;
  const mm = fp.mm;
  for (let p = 0; p < 8; p++) {
    if ((fp.raw & (1 << p)) === 0) continue;
    fromF80(mm[2 * p]!, mm[2 * p + 1]!, fp.exp[p]!);
    b[2 * p] = D80.lo;
    b[2 * p + 1] = D80.hi;
  }
  fp.raw = 0;
}

/** Records an MMX write to register r: exponent field all ones, as hardware stores. */
export function mmWritten(fp: FpuState, r: number): void {
  fp.exp[r & 7] = 0xffff;
}

/** Reads the MMX source operand (register, or `bytes` of memory into T0) and enters MMX state; returns its offset. */
export function srcMM(cpu: Cpu, i: Instr, bytes: number): number {
  const fp = cpu.fpu;
  if (i.mem) {
    const ea = i.ea(cpu, i);
    const v = fp.i32;
    if (bytes === 8) {
      v[T0 >> 2] = cpu.rd64(ea);
      v[(T0 >> 2) + 1] = cpu.hi;
    } else {
      v[T0 >> 2] = cpu.rd32(ea);
      v[(T0 >> 2) + 1] = 0;
    }
    mmxEnter(fp);
    return T0;
  }
  mmxEnter(fp);
  return mmOff(i.rm);
}

/** The MMX form (mm, mm/m64) of a SIMD integer operation; `bytes` is the memory operand size. */
export function mmxForm(op: LaneOp, bytes = 8): Handler {
  return (cpu: Cpu, i: Instr): void => {
    mmxCheck(cpu);
    const fp = cpu.fpu;
    const s = srcMM(cpu, i, bytes);
    op(fp, mmOff(i.reg), s, 8, i);
    fp.exp[i.reg & 7] = 0xffff;
  };
}

/** EMMS (0F 77): marks every x87 register empty; like every MMX instruction it also sets TOP to 0. */
export function emms(cpu: Cpu, _i: Instr): void {
  mmxCheck(cpu);
  cpu.fpu.valid = 0;
  cpu.fpu.top = 0;
}
