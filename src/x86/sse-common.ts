/**
 * What every SSE, MMX and x87 handler shares: the CR0/CR4 availability
 * checks, operand fetch into the scratch slots of FpuState, 128-bit memory
 * access that faults before writing anything, and the MXCSR exception
 * bookkeeping around floating-point work.
 */
import type { Cpu } from './cpu.js';
import { CpuFault, gp, ud, Vec } from './fault.js';
import { MXCSR_DAZ, MXCSR_FTZ, T0 } from './fpu-state.js';
import type { Instr } from './instr.js';
import { ctx } from './sse-softfloat.js';

const CR0_EM = 4;
const CR0_TS = 8;
const CR4_OSFXSR = 0x200;
const CR4_OSXMMEXCPT = 0x400;

/** #NM: device not available. */
export function nm(): CpuFault {
  return new CpuFault(Vec.NM);
}

function sseUnavailable(cpu: Cpu): never {
  if ((cpu.cr0 & CR0_EM) !== 0 || (cpu.cr4 & CR4_OSFXSR) === 0) throw ud();
  throw nm();
}

/** SSE/SSE2 availability: #UD when CR0.EM or !CR4.OSFXSR, else #NM when CR0.TS. */
export function sseCheck(cpu: Cpu): void {
  if (((cpu.cr0 & (CR0_EM | CR0_TS)) | (~cpu.cr4 & CR4_OSFXSR)) !== 0) sseUnavailable(cpu);
}

/** MMX availability: #UD when CR0.EM, #NM when CR0.TS. */
export function mmxCheck(cpu: Cpu): void {
  const c = cpu.cr0;
  if ((c & (CR0_EM | CR0_TS)) !== 0) throw (c & CR0_EM) !== 0 ? ud() : nm();
}

/** x87 (and FXSAVE/FXRSTOR) availability: #NM when CR0.EM or CR0.TS. */
export function fpuCheck(cpu: Cpu): void {
  if ((cpu.cr0 & (CR0_EM | CR0_TS)) !== 0) throw nm();
}

/** Reads 16 bytes at `ea` into the FpuState buffer at byte offset `off`. */
export function load128(cpu: Cpu, ea: number, off: number): void {
  const v = cpu.fpu.i32;
  const k = off >> 2;
  v[k] = cpu.rd64(ea);
  v[k + 1] = cpu.hi;
  v[k + 2] = cpu.rd64(ea + 8);
  v[k + 3] = cpu.hi;
}

/** Writes 16 bytes from byte offset `off` to `ea`; a fault leaves memory untouched. */
export function store128(cpu: Cpu, ea: number, off: number): void {
  const v = cpu.fpu.i32;
  const k = off >> 2;
  if ((ea & 0xfff) > 0xff0) cpu.checkWritable(ea, 16);
  cpu.wr64(ea, v[k]!, v[k + 1]!);
  cpu.wr64(ea + 8, v[k + 2]!, v[k + 3]!);
}


/** Byte offset of a 128-bit source: XMM rm, or the memory operand read into T0 (aligned when `align`). */
export function srcX(cpu: Cpu, i: Instr, align: boolean): number {
  if (!i.mem) return i.rm << 4;
  const ea = i.ea(cpu, i);
  if (align && (ea & 15) !== 0) throw gp(0);
  load128(cpu, ea, T0);
  return T0;
}

/** Byte offset of a 64-bit source in XMM form: the low half of XMM rm, or m64 read into T0. */
export function srcX64(cpu: Cpu, i: Instr): number {
  if (!i.mem) return i.rm << 4;
  const v = cpu.fpu.i32;
  v[T0 >> 2] = cpu.rd64(i.ea(cpu, i));
  v[(T0 >> 2) + 1] = cpu.hi;
  return T0;
}

/** Byte offset of a 32-bit source in XMM form: lane 0 of XMM rm, or m32 read into T0. */
export function srcX32(cpu: Cpu, i: Instr): number {
  if (!i.mem) return i.rm << 4;
  cpu.fpu.i32[T0 >> 2] = cpu.rd32(i.ea(cpu, i));
  return T0;
}

/** Copies `n` bytes (a multiple of 4) between byte offsets of the FpuState buffer. */
export function copyLanes(cpu: Cpu, to: number, from: number, n: number): void {
  const v = cpu.fpu.i32;
  const a = to >> 2;
  const b = from >> 2;
  for (let k = 0; k < n >> 2; k++) v[a + k] = v[b + k]!;
}

/** Starts floating-point work: rounding mode, FTZ and no exceptions yet. */
export function fpBegin(cpu: Cpu): void {
  const m = cpu.fpu.mxcsr;
  ctx.mode = (m >> 13) & 3;
  // FTZ only acts while underflow is masked.
  ctx.ftz = (m & (MXCSR_FTZ | 0x800)) === (MXCSR_FTZ | 0x800);
  ctx.daz = (m & MXCSR_DAZ) !== 0;
  ctx.ueTrap = (m & 0x800) === 0;
  ctx.exc = 0;
  ctx.up = false;
}

/**
 * Ends floating-point work: records the exception flags in MXCSR and
 * raises #XM (#UD without CR4.OSXMMEXCPT) for an unmasked one, before the
 * caller writes any result.
 */
export function fpEnd(cpu: Cpu): void {
  const e = ctx.exc;
  if (e === 0) return;
  const fpu = cpu.fpu;
  fpu.mxcsr |= e;
  if ((e & ~(fpu.mxcsr >> 7) & 0x3f) !== 0) {
    throw (cpu.cr4 & CR4_OSXMMEXCPT) !== 0 ? new CpuFault(Vec.XM) : ud();
  }
}

/** Reads a general register or memory operand of 32 or 64 bits (64 when REX.W); 64-bit high half in cpu.hi. */
export function readGprE(cpu: Cpu, i: Instr): number {
  const w = i.osize === 8;
  if (i.mem) {
    const ea = i.ea(cpu, i);
    if (w) return cpu.rd64(ea);
    cpu.hi = 0;
    return cpu.rd32(ea);
  }
  cpu.hi = w ? cpu.H[i.rm]! : 0;
  return cpu.R[i.rm]!;
}

/** Writes a 32-bit (zero-extending) or 64-bit result to general register `r`. */
export function writeGpr(cpu: Cpu, r: number, w: boolean, lo: number, hi: number): void {
  cpu.R[r] = lo;
  cpu.H[r] = w ? hi : 0;
}
