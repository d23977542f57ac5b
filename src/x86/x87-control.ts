/**
 * x87 control instructions: FNINIT, FLDCW/FNSTCW, FNSTSW (AX and m16),
 * FNCLEX, FNSTENV/FLDENV and FNSAVE/FRSTOR (protected-mode layouts: 28
 * bytes with a 32-bit operand size, 14 with 16-bit; the pointer fields are
 * not tracked and read as zero), FFREE/FFREEP, FINCSTP/FDECSTP, FNOP and
 * the 8087/287 leftovers (FENI, FDISI, FSETPM: no-ops), FWAIT.
 */
import type { Cpu } from './cpu.js';
import type { FpuState } from './fpu-state.js';
import { regFrom80, regTo80 } from './fxsave.js';
import type { Instr } from './instr.js';
import { fpuCheck, nm } from './sse-common.js';
import { C1, phys, pop } from './x87-core.js';
import { F80, tagOf80 } from './x87-f80.js';

/** FNINIT (DB E3). */
export function fninit(cpu: Cpu, _i: Instr): void {
  fpuCheck(cpu);
  cpu.fpu.init();
}

/** FNCLEX (DB E2): clears the exception flags, SF, ES and B. */
export function fnclex(cpu: Cpu, _i: Instr): void {
  fpuCheck(cpu);
  cpu.fpu.sw &= 0x7f00;
}

/** FLDCW m16 (D9 /5). */
export function fldcw(cpu: Cpu, i: Instr): void {
  fpuCheck(cpu);
  const fp = cpu.fpu;
  fp.cw = cpu.rd16(i.ea(cpu, i)) | 0x40;
  fp.syncErrorSummary();
}

/** FNSTCW m16 (D9 /7). */
export function fnstcw(cpu: Cpu, i: Instr): void {
  fpuCheck(cpu);
  cpu.wr16(i.ea(cpu, i), cpu.fpu.cw);
}

/** FNSTSW m16 (DD /7) and FNSTSW AX (DF E0, i.sub = 1). */
export function fnstsw(cpu: Cpu, i: Instr): void {
  fpuCheck(cpu);
  const v = cpu.fpu.statusWord();
  if (i.sub === 1) cpu.set16(0, v);
  else cpu.wr16(i.ea(cpu, i), v);
}

/** The full tag word: 00 valid, 01 zero, 10 special, 11 empty, per physical register. */
export function fullTagWord(fp: FpuState): number {
  let t = 0;
  for (let p = 0; p < 8; p++) {
    let tag = 3;
    if ((fp.valid & (1 << p)) !== 0) {
      regTo80(fp, p);
      tag = tagOf80(F80.lo, F80.hi, F80.se);
    }
    t |= tag << (2 * p);
  }
  return t;
}

function storeEnv(cpu: Cpu, ea: number, o16: boolean): void {
  const fp = cpu.fpu;
  const words = [fp.cw, fp.statusWord(), fullTagWord(fp), fp.fip, 0, fp.fdp, 0];
  if (o16) {
    cpu.checkWritable(ea, 14);
    for (let k = 0; k < 7; k++) cpu.wr16(ea + 2 * k, words[k]! & 0xffff);
    return;
  }
  cpu.checkWritable(ea, 28);
  // Reserved upper halves read back as ones on hardware.
  cpu.wr32(ea, words[0]! | 0xffff0000);
  cpu.wr32(ea + 4, words[1]! | 0xffff0000);
  cpu.wr32(ea + 8, words[2]! | 0xffff0000);
  cpu.wr32(ea + 12, fp.fip);
  cpu.wr32(ea + 16, (fp.fop & 0x7ff) << 16);
  cpu.wr32(ea + 20, fp.fdp);
  cpu.wr32(ea + 24, 0xffff0000 | 0);
}

function loadEnv(cpu: Cpu, ea: number, o16: boolean): void {
  const fp = cpu.fpu;
  const step = o16 ? 2 : 4;
  const cw = cpu.rd16(ea);
  const sw = cpu.rd16(ea + step);
  const tw = cpu.rd16(ea + 2 * step);
  fp.fip = o16 ? cpu.rd16(ea + 6) : cpu.rd32(ea + 12);
  fp.fdp = o16 ? cpu.rd16(ea + 10) : cpu.rd32(ea + 20);
  fp.fop = o16 ? 0 : (cpu.rd32(ea + 16) >>> 16) & 0x7ff;
  fp.cw = cw | 0x40;
  fp.setStatusWord(sw);
  let valid = 0;
  for (let p = 0; p < 8; p++) if (((tw >> (2 * p)) & 3) !== 3) valid |= 1 << p;
  fp.valid = valid;
  fp.syncErrorSummary();
}

/** FNSTENV m14/28 (D9 /6): stores the environment, then masks all exceptions. */
export function fnstenv(cpu: Cpu, i: Instr): void {
  fpuCheck(cpu);
  storeEnv(cpu, i.ea(cpu, i), i.osize === 2);
  cpu.fpu.cw |= 0x3f;
}

/** FLDENV m14/28 (D9 /4). */
export function fldenv(cpu: Cpu, i: Instr): void {
  fpuCheck(cpu);
  loadEnv(cpu, i.ea(cpu, i), i.osize === 2);
}

/** FNSAVE m94/108 (DD /6): environment and ST(0)..ST(7) as 80-bit values, then FNINIT. */
export function fnsave(cpu: Cpu, i: Instr): void {
  fpuCheck(cpu);
  const fp = cpu.fpu;
  const ea = i.ea(cpu, i);
  const o16 = i.osize === 2;
  const regs = ea + (o16 ? 14 : 28);
  cpu.checkWritable(ea, o16 ? 94 : 108);
  storeEnv(cpu, ea, o16);
  for (let j = 0; j < 8; j++) {
    regTo80(fp, phys(fp, j));
    cpu.wr32(regs + 10 * j, F80.lo);
    cpu.wr32(regs + 10 * j + 4, F80.hi);
    cpu.wr16(regs + 10 * j + 8, F80.se);
  }
  fp.init();
}

/** FRSTOR m94/108 (DD /4). */
export function frstor(cpu: Cpu, i: Instr): void {
  fpuCheck(cpu);
  const fp = cpu.fpu;
  const ea = i.ea(cpu, i);
  const o16 = i.osize === 2;
  const regs = ea + (o16 ? 14 : 28);
  const raw = new Int32Array(24);
  for (let j = 0; j < 8; j++) {
    raw[3 * j] = cpu.rd32(regs + 10 * j);
    raw[3 * j + 1] = cpu.rd32(regs + 10 * j + 4);
    raw[3 * j + 2] = cpu.rd16(regs + 10 * j + 8);
  }
  loadEnv(cpu, ea, o16);
  for (let j = 0; j < 8; j++) regFrom80(fp, phys(fp, j), raw[3 * j]!, raw[3 * j + 1]!, raw[3 * j + 2]!);
}

/** FFREE ST(i) (DD C0+i) and FFREEP (DF C0+i, i.sub = 1): tags the register empty. */
export function ffree(cpu: Cpu, i: Instr): void {
  fpuCheck(cpu);
  const fp = cpu.fpu;
  fp.valid &= ~(1 << phys(fp, i.rm & 7));
  // C1 is undefined; hardware clears it.
  fp.sw &= ~C1;
  if (i.sub === 1) pop(fp);
}

/** FINCSTP (D9 F7, i.sub = 1) and FDECSTP (D9 F6, i.sub = -1): TOP moves, tags stay. */
export function fincDec(cpu: Cpu, i: Instr): void {
  fpuCheck(cpu);
  const fp = cpu.fpu;
  fp.top = (fp.top + i.sub) & 7;
  fp.sw &= ~C1;
}

/** FNOP (D9 D0) and FENI/FDISI/FSETPM (DB E0, E1, E4), which do nothing after the 287. */
export function fnop(cpu: Cpu, _i: Instr): void {
  fpuCheck(cpu);
}

/** FWAIT (9B): #NM when CR0.MP and CR0.TS are both set; pending-exception delivery (#MF) is not modelled. */
export function fwait(cpu: Cpu, _i: Instr): void {
  if ((cpu.cr0 & 0xa) === 0xa) throw nm();
}
