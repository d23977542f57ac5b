/**
 * Far control transfers between code segments at the same privilege (JMP
 * and CALL far, direct and indirect) and far returns, including RETF to an
 * outer privilege level. Call gates and task switches are not modelled:
 * such a transfer raises #GP, which no Linux path uses.
 */
import { CS, type Cpu, SS } from './cpu.js';
import { gp } from './fault.js';
import type { Instr } from './instr.js';
import { adjustSp, pop, push } from './ops-stack.js';
import { descAttr, loadCodeSegment, loadSegment, readDescriptor } from './segments.js';
import { invalidateDataSegments } from './interrupts.js';

/** The CPL a far JMP/CALL to `sel` runs at (the current one; conforming segments keep it too). */
function sameLevelTarget(cpu: Cpu, sel: number): number {
  if (cpu.realMode) return 0;
  const d = readDescriptor(cpu, sel);
  const attr = descAttr(d);
  if ((attr & 0x10) === 0) throw gp(sel & 0xfffc); // a gate or TSS: not supported
  return cpu.cpl;
}

function farOperand(cpu: Cpu, i: Instr): { sel: number; off: number } {
  if (i.op === 0xea || i.op === 0x9a) return { sel: i.imm2, off: i.imm };
  if (!i.mem) throw gp(0);
  const ea = i.ea(cpu, i);
  let off: number;
  if (i.osize === 8) {
    const lo = cpu.rd64(ea);
    off = cpu.hi * 4294967296 + (lo >>> 0);
  } else off = i.osize === 4 ? cpu.rd32(ea) >>> 0 : cpu.rd16(ea);
  return { sel: cpu.rd16(ea + i.osize), off };
}

/** JMP far (EA ptr16:16/32, FF /5 m16:16/32/64). */
export function jmpFar(cpu: Cpu, i: Instr): void {
  const { sel, off } = farOperand(cpu, i);
  loadCodeSegment(cpu, sel, sameLevelTarget(cpu, sel));
  cpu.rip = cpu.mode64 ? off : cpu.code32 ? off >>> 0 : off & 0xffff;
  cpu.stop = cpu.stop || 1;
}

/** CALL far (9A ptr, FF /3 m). */
export function callFar(cpu: Cpu, i: Instr): void {
  const { sel, off } = farOperand(cpu, i);
  const oldCs = cpu.segSel[CS]!;
  const ret = i.next;
  const cpl = sameLevelTarget(cpu, sel);
  push(cpu, i.osize, oldCs, 0);
  push(cpu, i.osize, ret | 0, Math.floor(ret / 4294967296) | 0);
  loadCodeSegment(cpu, sel, cpl);
  cpu.rip = cpu.mode64 ? off : cpu.code32 ? off >>> 0 : off & 0xffff;
  cpu.stop = cpu.stop || 1;
}

/** RETF (CB) and RETF imm16 (CA; sub 1). */
export function retFar(cpu: Cpu, i: Instr): void {
  const size = i.osize;
  const lo = pop(cpu, size);
  const off = size === 8 ? cpu.hi * 4294967296 + (lo >>> 0) : size === 4 ? lo >>> 0 : lo & 0xffff;
  const sel = pop(cpu, size) & 0xffff;
  const rpl = sel & 3;
  if (!cpu.realMode && rpl < cpu.cpl) throw gp(sel & 0xfffc);
  if (cpu.realMode || rpl === cpu.cpl) {
    loadCodeSegment(cpu, sel, cpu.realMode ? 0 : rpl);
    if (i.sub === 1) adjustSp(cpu, i.imm & 0xffff);
    cpu.rip = off;
    cpu.stop = cpu.stop || 1;
    return;
  }
  // Return to an outer privilege level: the caller's SS:rSP follow on the stack.
  if (i.sub === 1) adjustSp(cpu, i.imm & 0xffff);
  const spLo = pop(cpu, size);
  const sp = size === 8 ? cpu.hi * 4294967296 + (spLo >>> 0) : spLo >>> 0;
  const ss = pop(cpu, size) & 0xffff;
  loadCodeSegment(cpu, sel, rpl);
  loadSegment(cpu, SS, ss);
  if (cpu.mode64 || size === 8) cpu.setReg64(4, sp);
  else cpu.R[4] = sp | 0;
  if (i.sub === 1) adjustSp(cpu, i.imm & 0xffff);
  invalidateDataSegments(cpu, rpl);
  cpu.rip = off;
  cpu.stop = cpu.stop || 1;
}
