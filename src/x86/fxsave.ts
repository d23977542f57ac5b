/**
 * FXSAVE/FXRSTOR (0F AE /0, /1, with REX.W the 64-bit pointer format) and
 * LDMXCSR/STMXCSR (0F AE /2, /3). The 512-byte image follows Intel SDM
 * vol. 1 table 10-2: FCW, FSW, abridged FTW, FOP, FIP/FDP (64-bit form
 * with REX.W, else offset + selector), MXCSR, MXCSR_MASK, ST0-ST7 as
 * 80-bit values in 16-byte slots, XMM0-XMM15 (XMM0-7 outside 64-bit
 * mode); bytes 416-511 are left alone. FIP/FDP/FOP are not tracked and
 * read as zero.
 */
import type { Cpu } from './cpu.js';
import { gp } from './fault.js';
import { type FpuState, MXCSR_MASK } from './fpu-state.js';
import type { Instr } from './instr.js';
import { fpuCheck, sseCheck } from './sse-common.js';
import { F80, toF80 } from './x87-f80.js';

/** Size of the image FXSAVE writes (the rest of the 512 bytes is reserved). */
const IMAGE_BYTES = 416;

const scratch = new Uint8Array(512);
const sv = new DataView(scratch.buffer);

/** Writes the FXSAVE image of `fp` into `out` (at least 416 bytes); `xmmRegs` is 16 in 64-bit mode, else 8. */
export function fxsaveImage(fp: FpuState, out: Uint8Array, rexW: boolean, xmmRegs: number): void {
  const d = new DataView(out.buffer, out.byteOffset, out.byteLength);
  d.setUint16(0, fp.cw, true);
  d.setUint16(2, fp.statusWord(), true);
  d.setUint8(4, fp.abridgedTag());
  d.setUint8(5, 0);
  d.setUint16(6, fp.fop, true);
  if (rexW) {
    d.setFloat64(8, 0, true);
    d.setUint32(8, fp.fip >>> 0, true);
    d.setFloat64(16, 0, true);
    d.setUint32(16, fp.fdp >>> 0, true);
  } else {
    d.setUint32(8, fp.fip >>> 0, true);
    d.setUint32(12, 0, true);
    d.setUint32(16, fp.fdp >>> 0, true);
    d.setUint32(20, 0, true);
  }
  d.setUint32(24, fp.mxcsr >>> 0, true);
  d.setUint32(28, MXCSR_MASK, true);
  for (let j = 0; j < 8; j++) {
    const p = (fp.top + j) & 7;
    const o = 32 + 16 * j;
    regTo80(fp, p);
    d.setInt32(o, F80.lo, true);
    d.setInt32(o + 4, F80.hi, true);
    d.setUint16(o + 8, F80.se, true);
    d.setUint16(o + 10, 0, true);
    d.setUint32(o + 12, 0, true);
  }
  const x = fp.xmm;
  for (let r = 0; r < xmmRegs; r++) {
    for (let k = 0; k < 4; k++) d.setInt32(160 + 16 * r + 4 * k, x[4 * r + k]!, true);
  }
}

/** Puts physical register p's 80-bit pattern in F80 (from the raw MMX view or the double). */
export function regTo80(fp: FpuState, p: number): void {
  if ((fp.raw & (1 << p)) !== 0) {
    F80.lo = fp.mm[2 * p]!;
    F80.hi = fp.mm[2 * p + 1]!;
    F80.se = fp.exp[p]!;
  } else toF80(fp.stBits[2 * p]!, fp.stBits[2 * p + 1]!);
}

/** Sets physical register p to an 80-bit pattern (kept raw until x87 arithmetic needs a double). */
export function regFrom80(fp: FpuState, p: number, lo: number, hi: number, se: number): void {
  fp.mm[2 * p] = lo;
  fp.mm[2 * p + 1] = hi;
  fp.exp[p] = se;
  fp.raw |= 1 << p;
}

/** Loads `fp` from an FXSAVE image (MXCSR must already be validated). */
export function fxrstorImage(fp: FpuState, img: Uint8Array, _rexW: boolean, xmmRegs: number): void {
  const d = new DataView(img.buffer, img.byteOffset, img.byteLength);
  fp.cw = d.getUint16(0, true);
  fp.setStatusWord(d.getUint16(2, true));
  fp.syncErrorSummary();
  fp.valid = d.getUint8(4);
  fp.fop = d.getUint16(6, true) & 0x7ff;
  fp.fip = d.getUint32(8, true);
  fp.fdp = d.getUint32(16, true);
  fp.mxcsr = d.getUint32(24, true);
  for (let j = 0; j < 8; j++) {
    const o = 32 + 16 * j;
    regFrom80(fp, (fp.top + j) & 7, d.getInt32(o, true), d.getInt32(o + 4, true), d.getUint16(o + 8, true));
  }
  const x = fp.xmm;
  for (let r = 0; r < xmmRegs; r++) {
    for (let k = 0; k < 4; k++) x[4 * r + k] = d.getInt32(160 + 16 * r + 4 * k, true);
  }
}

/** FXSAVE m512 (0F AE /0). */
export function fxsave(cpu: Cpu, i: Instr): void {
  fpuCheck(cpu);
  const ea = i.ea(cpu, i);
  if ((ea & 15) !== 0) throw gp(0);
  cpu.checkWritable(ea, IMAGE_BYTES);
  fxsaveImage(cpu.fpu, scratch, i.osize === 8, cpu.mode64 ? 16 : 8);
  const n = cpu.mode64 ? IMAGE_BYTES : 288;
  for (let k = 0; k < n; k += 8) cpu.wr64(ea + k, sv.getInt32(k, true), sv.getInt32(k + 4, true));
}

/** FXRSTOR m512 (0F AE /1): #GP for reserved MXCSR bits. */
export function fxrstor(cpu: Cpu, i: Instr): void {
  fpuCheck(cpu);
  const ea = i.ea(cpu, i);
  if ((ea & 15) !== 0) throw gp(0);
  const n = cpu.mode64 ? IMAGE_BYTES : 288;
  for (let k = 0; k < n; k += 8) {
    sv.setInt32(k, cpu.rd64(ea + k), true);
    sv.setInt32(k + 4, cpu.hi, true);
  }
  if ((sv.getUint32(24, true) & ~MXCSR_MASK) !== 0) throw gp(0);
  fxrstorImage(cpu.fpu, scratch, i.osize === 8, cpu.mode64 ? 16 : 8);
}

/** LDMXCSR m32 (0F AE /2): #GP for reserved bits. */
export function ldmxcsr(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const v = cpu.rd32(i.ea(cpu, i));
  if ((v & ~MXCSR_MASK) !== 0) throw gp(0);
  cpu.fpu.mxcsr = v;
}

/** STMXCSR m32 (0F AE /3). */
export function stmxcsr(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  cpu.wr32(i.ea(cpu, i), cpu.fpu.mxcsr);
}
