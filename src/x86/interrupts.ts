/**
 * Interrupt and exception delivery through the IVT (real mode) or IDT
 * (protected and long mode), with privilege changes, the TSS stack switch
 * and the IST; IRET; escalation to #DF and triple fault (Intel SDM vol. 3,
 * ch. 6).
 */
import { ATTR, CS, type Cpu, SS, TR } from './cpu.js';
import { CpuFault, gp, hasErrorCode, np, Vec } from './fault.js';
import { AC, NT, RF, VM } from './system-regs.js';
import { IF, TF } from './flags.js';
import { descAttr, loadCodeSegment, readDescriptor, setSegment } from './segments.js';
import { pop, push } from './ops-stack.js';
import { loadSegment } from './segments.js';

/** What is being delivered. */
export enum Source {
  /** A CPU exception (fault or trap). */
  Exception = 0,
  /** An external interrupt (from the LAPIC or PIC). */
  External = 1,
  /** INT n, INT3, INTO: gate DPL is checked against CPL. */
  Software = 2,
}

/** Thrown when a fault occurs while delivering a #DF: the CPU shuts down. */
export class TripleFault extends Error {
  constructor(readonly reason: string) {
    super(`triple fault (${reason})`);
  }
}

function contributory(v: number): boolean {
  return v === 0 || (v >= 10 && v <= 13);
}

/**
 * Delivers an exception with the SDM's double-fault rules: a second fault
 * while delivering the first becomes #DF (or is delivered serially), and a
 * fault while delivering #DF is a triple fault.
 */
export function deliverException(cpu: Cpu, f: CpuFault, returnRip: number): void {
  if (f.vector === Vec.PF) cpu.cr2 = f.address;
  try {
    deliver(cpu, f.vector, hasErrorCode(f.vector) ? Math.max(0, f.errorCode) : -1, Source.Exception, returnRip);
  } catch (e) {
    if (!(e instanceof CpuFault)) throw e;
    if (f.vector === Vec.DF) throw new TripleFault(`${e} while delivering #DF`);
    const first = f.vector;
    const second = e.vector;
    if ((contributory(first) && contributory(second)) || (first === Vec.PF && (second === Vec.PF || contributory(second)))) {
      if (second === Vec.PF) cpu.cr2 = e.address;
      try {
        deliver(cpu, Vec.DF, 0, Source.Exception, returnRip);
      } catch (e2) {
        if (e2 instanceof CpuFault) throw new TripleFault(`${e2} while delivering #DF after ${f} and ${e}`);
        throw e2;
      }
    } else {
      deliverException(cpu, e, returnRip);
    }
  }
}

/** Delivers vector `vec` (errorCode -1 for none); `returnRip` is what IRET returns to. */
export function deliver(cpu: Cpu, vec: number, errorCode: number, source: Source, returnRip: number): void {
  cpu.materialize();
  if (cpu.realMode) {
    deliverReal(cpu, vec, returnRip);
    return;
  }
  const ext = source === Source.External ? 1 : 0;
  const gateErr = vec * 8 + 2 + ext;
  if (cpu.longMode) {
    if (vec * 16 + 15 > cpu.idtLimit) throw gp(gateErr);
    const a = cpu.idtBase + vec * 16;
    const lo = cpu.sysRead32(a);
    const hi = cpu.sysRead32(a + 4);
    const offHi = cpu.sysRead32(a + 8);
    const type = (hi >> 8) & 0xf;
    if (type !== 0xe && type !== 0xf) throw gp(gateErr);
    checkGate(cpu, hi, source, gateErr);
    const offset = offHi * 4294967296 + ((((hi & 0xffff0000) | (lo & 0xffff)) >>> 0));
    deliverLong(cpu, lo >>> 16, offset, hi & 7, type === 0xe, errorCode, returnRip, gateErr);
    return;
  }
  if (vec * 8 + 7 > cpu.idtLimit) throw gp(gateErr);
  const a = cpu.idtBase + vec * 8;
  const lo = cpu.sysRead32(a);
  const hi = cpu.sysRead32(a + 4);
  const type = (hi >> 8) & 0x1f;
  // 32-bit (0xE/0xF) and 16-bit (0x6/0x7) interrupt/trap gates; no task gates.
  if (type !== 0xe && type !== 0xf && type !== 0x6 && type !== 0x7) throw gp(gateErr);
  checkGate(cpu, hi, source, gateErr);
  const offset = ((hi & 0xffff0000) | (lo & 0xffff)) >>> 0;
  deliverProtected(cpu, lo >>> 16, (type & 8) !== 0 ? offset : offset & 0xffff, (type & 1) === 0, (type & 8) !== 0 ? 4 : 2, errorCode, returnRip, gateErr);
}

function checkGate(cpu: Cpu, hi: number, source: Source, gateErr: number): void {
  const dpl = (hi >> 13) & 3;
  if (source === Source.Software && dpl < cpu.cpl) throw gp(gateErr);
  if ((hi & 0x8000) === 0) throw np(gateErr);
}

function deliverReal(cpu: Cpu, vec: number, returnRip: number): void {
  if (vec * 4 + 3 > cpu.idtLimit) throw gp(0);
  const ip = cpu.rd16(cpu.idtBase + vec * 4);
  const cs = cpu.rd16(cpu.idtBase + vec * 4 + 2);
  push(cpu, 2, cpu.getFlags(), 0);
  push(cpu, 2, cpu.segSel[CS]!, 0);
  push(cpu, 2, returnRip, 0);
  cpu.flags &= ~(IF | TF | AC);
  loadCodeSegment(cpu, cs, 0);
  cpu.rip = ip;
}

/** Target code segment privilege for a gate's selector. */
function targetCpl(cpu: Cpu, sel: number, gateErr: number): number {
  if ((sel & ~3) === 0) throw gp(gateErr & ~3);
  const d = readDescriptor(cpu, sel);
  const attr = descAttr(d);
  if ((attr & ATTR.S) === 0 || (attr & 8) === 0) throw gp(sel & 0xfffc);
  if ((attr & ATTR.P) === 0) throw np(sel & 0xfffc);
  const conforming = (attr & 4) !== 0;
  const dpl = (attr >> 5) & 3;
  if (dpl > cpu.cpl) throw gp(sel & 0xfffc);
  return conforming ? cpu.cpl : dpl;
}

function deliverLong(
  cpu: Cpu, sel: number, offset: number, ist: number, intGate: boolean, errorCode: number, returnRip: number, gateErr: number,
): void {
  const newCpl = targetCpl(cpu, sel, gateErr);
  const oldSs = cpu.segSel[SS]!;
  const oldRsp = cpu.reg64(4);
  // Pushed from the exact halves: a non-canonical RSP beyond 2^53 must not be rounded.
  const oldRspLo = cpu.R[4]!;
  const oldRspHi = cpu.H[4]!;
  const oldCs = cpu.segSel[CS]!;
  const oldFlags = cpu.getFlags();
  const oldCpl = cpu.cpl;
  let rsp: number;
  if (ist !== 0) rsp = readTss64(cpu, 0x24 + (ist - 1) * 8);
  else if (newCpl < oldCpl) rsp = readTss64(cpu, 4 + newCpl * 8);
  else rsp = oldRsp;
  rsp -= rsp - Math.floor(rsp / 16) * 16; // 16-byte aligned frame
  // Switch privilege first: the new stack is a supervisor page.
  const savedMode = snapshotMode(cpu);
  try {
    cpu.setCpl(newCpl);
    cpu.setReg64(4, rsp);
    push(cpu, 8, oldSs, 0);
    push(cpu, 8, oldRspLo, oldRspHi);
    push(cpu, 8, oldFlags, 0);
    push(cpu, 8, oldCs, 0);
    push(cpu, 8, returnRip | 0, Math.floor(returnRip / 4294967296) | 0);
    if (errorCode >= 0) push(cpu, 8, errorCode, 0);
    loadCodeSegment(cpu, sel, newCpl);
  } catch (e) {
    restoreMode(cpu, savedMode, oldRsp);
    cpu.R[4] = oldRspLo;
    cpu.H[4] = oldRspHi;
    throw e;
  }
  if (newCpl !== oldCpl) setSegment(cpu, SS, newCpl, 0, 0, ATTR.UNUSABLE | (newCpl << 5) | ATTR.DB);
  cpu.flags &= ~(TF | NT | RF | VM | (intGate ? IF : 0));
  cpu.rip = offset;
}

interface ModeSnapshot {
  cpl: number;
}

function snapshotMode(cpu: Cpu): ModeSnapshot {
  return { cpl: cpu.cpl };
}

function restoreMode(cpu: Cpu, s: ModeSnapshot, rsp: number): void {
  cpu.setCpl(s.cpl);
  cpu.setReg64(4, rsp);
}

function readTss64(cpu: Cpu, off: number): number {
  if (cpu.segLimit[TR]! < off + 7) throw new CpuFault(Vec.TS, cpu.segSel[TR]! & 0xfffc);
  const base = cpu.segBase[TR]!;
  const lo = cpu.sysRead32(base + off);
  const hi = cpu.sysRead32(base + off + 4);
  return hi * 4294967296 + (lo >>> 0);
}

function deliverProtected(
  cpu: Cpu, sel: number, offset: number, intGate: boolean, size: number, errorCode: number, returnRip: number, gateErr: number,
): void {
  const newCpl = targetCpl(cpu, sel, gateErr);
  const oldCpl = cpu.cpl;
  const oldSs = cpu.segSel[SS]!;
  const oldEsp = cpu.R[4]!;
  const oldCs = cpu.segSel[CS]!;
  const oldFlags = cpu.getFlags();
  if (newCpl < oldCpl) {
    // Inner-privilege stack from the 32-bit TSS: ESPn at 4 + 8n, SSn at 8 + 8n.
    const base = cpu.segBase[TR]!;
    const esp = cpu.sysRead32(base + 4 + newCpl * 8);
    const ssSel = cpu.sysRead32(base + 8 + newCpl * 8) & 0xffff;
    cpu.setCpl(newCpl);
    loadSegment(cpu, SS, ssSel);
    cpu.R[4] = esp;
    push(cpu, size, oldSs, 0);
    push(cpu, size, oldEsp, 0);
  }
  push(cpu, size, oldFlags, 0);
  push(cpu, size, oldCs, 0);
  push(cpu, size, returnRip, 0);
  if (errorCode >= 0) push(cpu, size, errorCode, 0);
  loadCodeSegment(cpu, sel, newCpl);
  cpu.flags &= ~(TF | NT | RF | VM | (intGate ? IF : 0));
  cpu.rip = offset;
}

/** IRET/IRETD/IRETQ (CF), i.osize = 2, 4 or 8. */
export function iret(cpu: Cpu, osize: number): void {
  cpu.materialize();
  if (cpu.realMode) {
    const ip = pop(cpu, osize);
    const cs = pop(cpu, osize) & 0xffff;
    const fl = pop(cpu, osize);
    loadCodeSegment(cpu, cs, 0);
    cpu.rip = osize === 4 ? ip >>> 0 : ip & 0xffff;
    cpu.setFlagBits(fl, osize === 4 ? 0x257fd5 : 0x7fd5);
    return;
  }
  if ((cpu.flags & NT) !== 0 && !cpu.longMode) throw gp(0); // task return: unsupported
  const ripLo = pop(cpu, osize);
  const ripHi = osize === 8 ? cpu.hi : 0;
  const cs = pop(cpu, osize) & 0xffff;
  const fl = pop(cpu, osize);
  const rpl = cs & 3;
  const oldCpl = cpu.cpl;
  if (rpl < oldCpl) throw gp(cs & 0xfffc);
  const rip = osize === 8 ? ripHi * 4294967296 + (ripLo >>> 0) : osize === 4 ? ripLo >>> 0 : ripLo & 0xffff;
  let newRsp = 0;
  let newSs = 0;
  const toOuter = rpl > oldCpl;
  // 64-bit IRET always pops SS:RSP; legacy IRET only on a privilege change.
  const popStack = toOuter || osize === 8;
  if (popStack) {
    const spLo = pop(cpu, osize);
    newRsp = osize === 8 ? cpu.hi * 4294967296 + (spLo >>> 0) : spLo >>> 0;
    newSs = pop(cpu, osize) & 0xffff;
  }
  loadCodeSegment(cpu, cs, rpl);
  // Flags: IOPL only at CPL 0, IF only when CPL <= IOPL.
  const iopl = (cpu.flags >> 12) & 3;
  let mask = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | NT | RF | AC | (1 << 21);
  if (oldCpl <= iopl) mask |= IF;
  if (oldCpl === 0) mask |= 3 << 12;
  cpu.setFlagBits(osize === 2 ? (fl & 0xffff) | (cpu.flags & ~0xffff) : fl, mask);
  if (popStack) {
    if (cpu.longMode && (newSs & ~3) === 0 && rpl < 3) {
      setSegment(cpu, SS, newSs, 0, 0, ATTR.UNUSABLE | (rpl << 5) | ATTR.DB);
    } else {
      loadSegment(cpu, SS, newSs);
    }
    if (cpu.mode64 || osize === 8) cpu.setReg64(4, newRsp);
    else if (cpu.stack32) cpu.R[4] = newRsp | 0;
    else cpu.set16(4, newRsp);
  }
  if (toOuter) invalidateDataSegments(cpu, rpl);
  cpu.rip = rip;
}

/** After a return to outer privilege, data segments the new CPL may not use become null. */
export function invalidateDataSegments(cpu: Cpu, cpl: number): void {
  for (const seg of [0, 3, 4, 5]) {
    const attr = cpu.segAttr[seg]!;
    const isCode = (attr & 8) !== 0;
    const conforming = isCode && (attr & 4) !== 0;
    const dpl = (attr >> 5) & 3;
    if ((attr & ATTR.UNUSABLE) === 0 && (!isCode || !conforming) && dpl < cpl) {
      // FS/GS keep their bases in 64-bit mode (the base came from an MSR).
      cpu.segSel[seg] = 0;
      cpu.segAttr[seg] = ATTR.UNUSABLE;
      if (!cpu.mode64 || (seg !== 4 && seg !== 5)) cpu.segBase[seg] = 0;
    }
  }
}
