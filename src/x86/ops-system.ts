/**
 * System instructions: descriptor tables, control and debug registers,
 * MSRs, CPUID, TSC, SYSCALL/SYSRET, SWAPGS, HLT, CLI/STI, INT n, IRET,
 * segment register moves, LAR/LSL, flag bit instructions.
 */
import { ATTR, CS, type Cpu, GS, LDTR, SS, TR } from './cpu.js';
import { cpuid } from './cpuid.js';
import { gp, ud, CpuFault, Vec } from './fault.js';
import { CF, DF, IF } from './flags.js';
import type { Instr } from './instr.js';
import { deliver, iret, Source } from './interrupts.js';
import { rdmsr, readTsc, wrmsr } from './msr.js';
import { writeReg } from './ops-alu.js';
import { pop, push } from './ops-stack.js';
import { descAttr, descLimit, flatSegment, loadLdt, loadSegment, loadTaskRegister, readDescriptor } from './segments.js';
import { RF, VM } from './system-regs.js';

function requireCpl0(cpu: Cpu): void {
  if (cpu.cpl !== 0) throw gp(0);
}

/** Flushes the TLB and decoded-code assumptions after a paging-mode change. */
function pagingChanged(cpu: Cpu): void {
  cpu.updateMode();
  cpu.tlb.flush(false);
  cpu.stop = cpu.stop || 1; // decode mode may have changed: leave the block
}

// ---- descriptor tables -------------------------------------------------------

/** 0F 01 /0-/3: SGDT, SIDT, LGDT, LIDT (memory forms). */
export function descTable(cpu: Cpu, i: Instr): void {
  if (!i.mem) throw ud();
  const ea = i.ea(cpu, i);
  const isIdt = (i.ext & 1) === 1;
  if (i.ext >= 2) {
    requireCpl0(cpu);
    const limit = cpu.rd16(ea);
    let base: number;
    if (cpu.mode64) {
      const lo = cpu.rd32(ea + 2);
      const hi = cpu.rd32(ea + 6);
      base = hi * 4294967296 + (lo >>> 0);
    } else {
      base = cpu.rd32(ea + 2) >>> 0;
      if (i.osize === 2) base &= 0xffffff;
    }
    if (isIdt) {
      cpu.idtBase = base;
      cpu.idtLimit = limit;
    } else {
      cpu.gdtBase = base;
      cpu.gdtLimit = limit;
    }
    cpu.rip = i.next;
    return;
  }
  const base = isIdt ? cpu.idtBase : cpu.gdtBase;
  cpu.checkWritable(ea, cpu.mode64 ? 10 : 6);
  cpu.wr16(ea, isIdt ? cpu.idtLimit : cpu.gdtLimit);
  cpu.wr32(ea + 2, base | 0);
  if (cpu.mode64) cpu.wr32(ea + 6, Math.floor(base / 4294967296) | 0);
}

/** 0F 00 group: SLDT, STR, LLDT, LTR, VERR, VERW. */
export function group6(cpu: Cpu, i: Instr): void {
  if (cpu.realMode) throw ud();
  switch (i.ext) {
    case 0: case 1: {
      const v = cpu.segSel[i.ext === 0 ? LDTR : TR]!;
      if (i.mem) cpu.wr16(i.ea(cpu, i), v);
      else writeReg(cpu, i.osize === 8 ? 8 : i.osize, i.rm, false, v, 0);
      return;
    }
    case 2: case 3: {
      requireCpl0(cpu);
      const sel = i.mem ? cpu.rd16(i.ea(cpu, i)) : cpu.R[i.rm]! & 0xffff;
      if (i.ext === 2) loadLdt(cpu, sel);
      else loadTaskRegister(cpu, sel);
      return;
    }
    case 4: case 5: {
      const sel = i.mem ? cpu.rd16(i.ea(cpu, i)) : cpu.R[i.rm]! & 0xffff;
      let ok = false;
      try {
        if ((sel & ~3) !== 0) {
          const attr = descAttr(readDescriptor(cpu, sel));
          const dpl = (attr >> 5) & 3;
          const code = (attr & 8) !== 0;
          const conforming = code && (attr & 4) !== 0;
          ok = (attr & ATTR.S) !== 0 && (conforming || (dpl >= cpu.cpl && dpl >= (sel & 3)));
          ok &&= i.ext === 4 ? !code || (attr & 2) !== 0 : !code && (attr & 2) !== 0;
        }
      } catch (e) {
        if (!(e instanceof CpuFault) || e.vector !== Vec.GP) throw e;
      }
      cpu.setFlagBits(ok ? 0x40 : 0, 0x40);
      return;
    }
    default:
      throw ud();
  }
}

/** LAR (0F 02, sub 0) and LSL (0F 03, sub 1). */
export function larLsl(cpu: Cpu, i: Instr): void {
  if (cpu.realMode) throw ud();
  const sel = (i.mem ? cpu.rd16(i.ea(cpu, i)) : cpu.R[i.rm]!) & 0xffff;
  let ok = false;
  let value = 0;
  try {
    if ((sel & ~3) !== 0) {
      const d = readDescriptor(cpu, sel);
      const attr = descAttr(d);
      const dpl = (attr >> 5) & 3;
      const conforming = (attr & ATTR.S) !== 0 && (attr & 0xc) === 0xc;
      const sysOk = (attr & ATTR.S) !== 0 || [1, 2, 3, 9, 11].includes(attr & 0xf) || (i.sub === 0 && [12].includes(attr & 0xf));
      ok = sysOk && (conforming || (dpl >= cpu.cpl && dpl >= (sel & 3)));
      value = i.sub === 0 ? d.hi & 0x00f0ff00 : descLimit(d);
    }
  } catch (e) {
    if (!(e instanceof CpuFault) || e.vector !== Vec.GP) throw e;
  }
  if (ok) writeReg(cpu, i.osize === 8 ? 8 : i.osize, i.reg, false, value | 0, 0);
  cpu.setFlagBits(ok ? 0x40 : 0, 0x40);
}

// ---- control registers ---------------------------------------------------------

/** MOV r, CRn (0F 20) and MOV CRn, r (0F 22; sub 1). */
export function movCr(cpu: Cpu, i: Instr): void {
  requireCpl0(cpu);
  const n = i.reg;
  if (i.sub === 0) {
    // CR0/CR4 are kept as int32 bit sets; CR2 (a linear address) and CR3 as doubles.
    let v: number;
    switch (n) {
      case 0: v = cpu.cr0 >>> 0; break;
      case 2: v = cpu.cr2; break;
      case 3: v = cpu.cr3; break;
      case 4: v = cpu.cr4 >>> 0; break;
      case 8: v = cpu.cr8; break;
      default: throw ud();
    }
    if (cpu.mode64) cpu.setReg64(i.rm, v);
    else cpu.set32(i.rm, v | 0);
    cpu.rip = i.next;
    return;
  }
  const lo = cpu.R[i.rm]!;
  const full = cpu.mode64 ? cpu.H[i.rm]! * 4294967296 + (lo >>> 0) : lo >>> 0;
  switch (n) {
    case 0: {
      if (cpu.H[i.rm] !== 0 && cpu.mode64) throw gp(0);
      const v = lo | 0x10; // ET is hard-wired
      if ((v & 0x80000000) !== 0 && (v & 1) === 0) throw gp(0);
      const enablingPaging = (v & 0x80000000) !== 0 && (cpu.cr0 & 0x80000000) === 0;
      if (enablingPaging && (cpu.efer & 0x100) !== 0) {
        if ((cpu.cr4 & 0x20) === 0) throw gp(0);
        cpu.efer |= 0x400; // LMA
      }
      if ((v & 0x80000000) === 0 && (cpu.cr0 & 0x80000000) !== 0) {
        if (cpu.mode64) throw gp(0);
        cpu.efer &= ~0x400;
      }
      cpu.cr0 = v;
      pagingChanged(cpu);
      break;
    }
    case 2: cpu.cr2 = full; break;
    case 3:
      cpu.cr3 = full;
      cpu.tlb.flush(true);
      cpu.stop = cpu.stop || 1;
      break;
    case 4: {
      if (cpu.longMode && (lo & 0x20) === 0) throw gp(0);
      // Reject bits for features the CPU does not have (Linux probes some with _safe writes).
      const supported = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400;
      if ((lo & ~supported) !== 0 || cpu.H[i.rm] !== 0) throw gp(0);
      cpu.cr4 = lo;
      pagingChanged(cpu);
      break;
    }
    case 8:
      cpu.cr8 = lo & 0xf;
      break;
    default:
      throw ud();
  }
  cpu.rip = i.next;
}

/** MOV r, DRn (0F 21) and MOV DRn, r (0F 23; sub 1): stored, not acted on. */
export function movDr(cpu: Cpu, i: Instr): void {
  requireCpl0(cpu);
  const n = i.reg & 7;
  if (i.sub === 0) {
    const v = n === 6 ? (cpu.dr[6] || 0xffff0ff0) : n === 7 ? (cpu.dr[7] || 0x400) : cpu.dr[n]!;
    cpu.setReg64(i.rm, v);
  } else {
    cpu.dr[n] = cpu.mode64 ? cpu.reg64(i.rm) : cpu.R[i.rm]! >>> 0;
  }
}

/** CLTS (0F 06). */
export function clts(cpu: Cpu, _i: Instr): void {
  requireCpl0(cpu);
  cpu.cr0 &= ~8;
}

/** LMSW (0F 01 /6) and SMSW (0F 01 /4). */
export function msw(cpu: Cpu, i: Instr): void {
  if (i.ext === 4) {
    if (i.mem) cpu.wr16(i.ea(cpu, i), cpu.cr0);
    else writeReg(cpu, i.osize, i.rm, false, cpu.cr0, 0);
    return;
  }
  requireCpl0(cpu);
  const v = i.mem ? cpu.rd16(i.ea(cpu, i)) : cpu.R[i.rm]!;
  // LMSW can set PE but not clear it; it touches only PE, MP, EM, TS.
  cpu.cr0 = (cpu.cr0 & ~0xe) | (v & 0xf) | (cpu.cr0 & 1);
  pagingChanged(cpu);
  cpu.rip = i.next;
}

/** 0F 01 /7: INVLPG m; with mod=3: SWAPGS (rm 0), RDTSCP (rm 1). */
export function group7rm7(cpu: Cpu, i: Instr): void {
  if (i.mem) {
    requireCpl0(cpu);
    const lin = i.ea(cpu, i);
    cpu.tlb.flushPage(lin - (lin & 0xfff));
    cpu.stop = cpu.stop || 1;
    cpu.rip = i.next;
    return;
  }
  if ((i.rm & 7) === 0) {
    if (!cpu.mode64) throw ud();
    requireCpl0(cpu);
    const t = cpu.segBase[GS]!;
    cpu.segBase[GS] = cpu.msrs.kernelGsBase;
    cpu.msrs.kernelGsBase = t;
    cpu.rip = i.next;
    return;
  }
  if ((i.rm & 7) === 1) {
    rdtsc(cpu, i);
    cpu.set32(1, cpu.msrs.tscAux);
    return;
  }
  throw ud();
}

// ---- MSRs, CPUID, TSC ------------------------------------------------------------

/** RDMSR (0F 32). */
export function rdmsrOp(cpu: Cpu, i: Instr): void {
  requireCpl0(cpu);
  const lo = rdmsr(cpu, cpu.R[1]!);
  cpu.set32(0, lo);
  cpu.set32(2, cpu.hi);
  cpu.rip = i.next;
}

/** WRMSR (0F 30). */
export function wrmsrOp(cpu: Cpu, i: Instr): void {
  requireCpl0(cpu);
  wrmsr(cpu, cpu.R[1]!, cpu.R[0]!, cpu.R[2]!);
  cpu.stop = cpu.stop || 1;
  cpu.rip = i.next;
}

/** CPUID (0F A2). */
export function cpuidOp(cpu: Cpu, i: Instr): void {
  const r = cpuid({ apicId: cpu.apicId, cpus: cpu.cpuCount, tscHz: cpu.clock.tscHz }, cpu.R[0]!, cpu.R[1]!);
  cpu.set32(0, r.eax | 0);
  cpu.set32(3, r.ebx | 0);
  cpu.set32(1, r.ecx | 0);
  cpu.set32(2, r.edx | 0);
  cpu.rip = i.next;
}

/** RDTSC (0F 31). */
export function rdtsc(cpu: Cpu, i: Instr): void {
  if ((cpu.cr4 & 4) !== 0 && cpu.cpl !== 0) throw gp(0);
  const t = readTsc(cpu);
  cpu.set32(0, t | 0);
  cpu.set32(2, Math.floor(t / 4294967296) | 0);
  cpu.rip = i.next;
}

// ---- SYSCALL / SYSRET ------------------------------------------------------------

/** SYSCALL (0F 05). */
export function syscall(cpu: Cpu, i: Instr): void {
  if ((cpu.efer & 1) === 0 || !cpu.longMode) throw ud();
  const star = cpu.msrs.star;
  const sel = (star[1]! & 0xffff) & ~3;
  const from64 = cpu.mode64;
  cpu.setReg64(1, i.next);
  cpu.set32(11, cpu.getFlags() & ~RF);
  cpu.setFlagBits(0, cpu.msrs.sfmask | RF);
  flatSegment(cpu, CS, sel, true, 0);
  flatSegment(cpu, SS, sel + 8, false, 0);
  cpu.setCpl(0);
  cpu.updateMode();
  const target = from64 ? cpu.msrs.lstar : cpu.msrs.cstar;
  cpu.rip = target[1]! * 4294967296 + (target[0]! >>> 0);
}

/** SYSRET (0F 07); REX.W returns to 64-bit mode. */
export function sysret(cpu: Cpu, i: Instr): void {
  if ((cpu.efer & 1) === 0 || !cpu.mode64) throw ud();
  requireCpl0(cpu);
  const base = (cpu.msrs.star[1]! >>> 16) & 0xffff;
  const to64 = i.osize === 8;
  const rip = to64 ? cpu.reg64(1) : cpu.R[1]! >>> 0;
  if (to64 && (rip >= 0x800000000000 || rip < -0x800000000000)) throw gp(0);
  cpu.setFlagBits((cpu.R[11]! & ~(RF | VM)) | 2, 0x3f7fd5);
  if (to64) flatSegment(cpu, CS, ((base + 16) & ~3) | 3, true, 3);
  else {
    flatSegment(cpu, CS, (base & ~3) | 3, false, 3);
    cpu.segAttr[CS] = 0xb | ATTR.S | (3 << 5) | ATTR.P | ATTR.DB | ATTR.G;
  }
  // SS keeps a flat cache; only the selector comes from STAR.
  cpu.segSel[SS] = ((base + 8) & ~3) | 3;
  cpu.segAttr[SS] = 0x3 | ATTR.S | (3 << 5) | ATTR.P | ATTR.DB | ATTR.G;
  cpu.setCpl(3);
  cpu.updateMode();
  cpu.rip = rip;
}

// ---- interrupts and flags -----------------------------------------------------------

/** HLT (F4). */
export function hlt(cpu: Cpu, i: Instr): void {
  requireCpl0(cpu);
  cpu.halted = true;
  cpu.rip = i.next;
}

/** CLI (FA) and STI (FB; sub 1). */
export function cliSti(cpu: Cpu, i: Instr): void {
  const iopl = (cpu.flags >> 12) & 3;
  if (!cpu.realMode && cpu.cpl > iopl) throw gp(0);
  if (i.sub === 1) {
    if ((cpu.flags & IF) === 0) cpu.shadow = true;
    cpu.flags |= IF;
  } else {
    cpu.flags &= ~IF;
  }
  cpu.rip = i.next;
}

/** CLC CMC STC CLD STD (F8 F5 F9 FC FD; sub = the opcode). */
export function flagOp(cpu: Cpu, i: Instr): void {
  switch (i.sub) {
    case 0xf8: cpu.setFlagBits(0, CF); return;
    case 0xf9: cpu.setFlagBits(CF, CF); return;
    case 0xf5: cpu.setFlagBits(cpu.getCF() ^ 1, CF); return;
    case 0xfc: cpu.flags &= ~DF; return;
    default: cpu.flags |= DF; return;
  }
}

/** INT n (CD), INT3 (CC), INTO (CE), INT1 (F1). */
export function intN(cpu: Cpu, i: Instr): void {
  if (i.op === 0xce) {
    if (cpu.mode64) throw ud();
    if (!cpu.getOF()) {
      cpu.rip = i.next;
      return;
    }
    deliver(cpu, Vec.OF, -1, Source.Software, i.next);
    return;
  }
  const vec = i.op === 0xcc ? 3 : i.op === 0xf1 ? 1 : i.imm & 0xff;
  deliver(cpu, vec, -1, i.op === 0xf1 ? Source.External : Source.Software, i.next);
}

/** IRET (CF). */
export function iretOp(cpu: Cpu, i: Instr): void {
  iret(cpu, i.osize);
}

// ---- segment registers ----------------------------------------------------------

/** MOV Sreg, E (8E): reg = segment. MOV SS starts an interrupt shadow. */
export function movSregE(cpu: Cpu, i: Instr): void {
  const seg = i.ext;
  if (seg === CS || seg > GS) throw ud();
  const sel = i.mem ? cpu.rd16(i.ea(cpu, i)) : cpu.R[i.rm]! & 0xffff;
  loadSegment(cpu, seg, sel);
  if (seg === SS) cpu.shadow = true;
  cpu.rip = i.next;
}

/** MOV E, Sreg (8C). */
export function movESreg(cpu: Cpu, i: Instr): void {
  if (i.ext > GS) throw ud();
  const v = cpu.segSel[i.ext]!;
  if (i.mem) cpu.wr16(i.ea(cpu, i), v);
  else writeReg(cpu, i.osize === 2 ? 2 : 4, i.rm, false, v, 0);
}

/** PUSH Sreg (06 0E 16 1E, 0F A0 0F A8); i.sub = segment. */
export function pushSreg(cpu: Cpu, i: Instr): void {
  push(cpu, i.osize, cpu.segSel[i.sub]!, 0);
}

/** POP Sreg (07 17 1F, 0F A1 0F A9); i.sub = segment. */
export function popSreg(cpu: Cpu, i: Instr): void {
  const v = pop(cpu, i.osize) & 0xffff;
  loadSegment(cpu, i.sub, v);
  if (i.sub === SS) cpu.shadow = true;
  cpu.rip = i.next;
}

/** LDS LES LSS LFS LGS: load a far pointer (offset, then selector) from memory; i.sub = segment. */
export function loadFarPointer(cpu: Cpu, i: Instr): void {
  if (!i.mem) throw ud();
  const ea = i.ea(cpu, i);
  let off: number;
  let offH = 0;
  if (i.osize === 8) {
    off = cpu.rd64(ea);
    offH = cpu.hi;
  } else off = i.osize === 4 ? cpu.rd32(ea) : cpu.rd16(ea);
  const sel = cpu.rd16(ea + i.osize);
  loadSegment(cpu, i.sub, sel);
  writeReg(cpu, i.osize, i.reg, false, off, offH);
  cpu.rip = i.next;
}

/** 0F AE /5 /6 /7 with mod=3 (LFENCE, MFENCE, SFENCE) and CLFLUSH m: nothing to do here. */
export function fence(_cpu: Cpu, _i: Instr): void {}

/** NOP forms, PAUSE, prefetch, hint NOPs, WBINVD/INVD (after the CPL check). */
export function nop(_cpu: Cpu, _i: Instr): void {}

/**
 * PAUSE (F3 90): a spin-wait hint. With several vCPUs on one thread, end
 * this vCPU's slice so the one holding the lock gets to run (as KVM's
 * pause-loop exiting does).
 */
export function pause(cpu: Cpu, _i: Instr): void {
  if (cpu.cpuCount > 1) cpu.stop = 2;
}

/** WBINVD/INVD: privileged no-ops. */
export function cacheOp(cpu: Cpu, _i: Instr): void {
  requireCpl0(cpu);
}

/** UD2 and reserved encodings. */
export function ud2(_cpu: Cpu, _i: Instr): void {
  throw ud();
}

