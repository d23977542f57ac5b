/**
 * Data movement: MOV (all forms), MOVZX/MOVSX/MOVSXD, LEA, XCHG, CMOVcc,
 * SETcc, BSWAP, CBW/CWDE/CDQE, CWD/CDQ/CQO, LAHF/SAHF, XLAT, CMPXCHG,
 * XADD, CMPXCHG8B/16B.
 */
import type { Cpu } from './cpu.js';
import { AF, CF, PF, SF, ZF } from './flags.js';
import { gp, ud } from './fault.js';
import type { Instr } from './instr.js';
import { alu32, alu64, aluSmall, readE, readG, writeE, writeReg } from './ops-alu.js';

// ---- MOV -----------------------------------------------------------------

/** MOV E, G (88/89). */
export function movEG(cpu: Cpu, i: Instr): void {
  const R = cpu.R;
  switch (i.osize) {
    case 8:
      if (i.mem) cpu.wr64(i.ea(cpu, i), R[i.reg]!, cpu.H[i.reg]!);
      else {
        R[i.rm] = R[i.reg]!;
        cpu.H[i.rm] = cpu.H[i.reg]!;
      }
      return;
    case 4:
      if (i.mem) cpu.wr32(i.ea(cpu, i), R[i.reg]!);
      else {
        R[i.rm] = R[i.reg]!;
        cpu.H[i.rm] = 0;
      }
      return;
    case 2:
      if (i.mem) cpu.wr16(i.ea(cpu, i), R[i.reg]!);
      else cpu.set16(i.rm, R[i.reg]!);
      return;
    default: {
      const v = cpu.get8(i.reg, i.regHi);
      if (i.mem) cpu.wr8(i.ea(cpu, i), v);
      else cpu.set8(i.rm, i.rmHi, v);
    }
  }
}

/** MOV G, E (8A/8B). */
export function movGE(cpu: Cpu, i: Instr): void {
  const R = cpu.R;
  switch (i.osize) {
    case 8:
      if (i.mem) {
        R[i.reg] = cpu.rd64(i.ea(cpu, i));
        cpu.H[i.reg] = cpu.hi;
      } else {
        R[i.reg] = R[i.rm]!;
        cpu.H[i.reg] = cpu.H[i.rm]!;
      }
      return;
    case 4:
      R[i.reg] = i.mem ? cpu.rd32(i.ea(cpu, i)) : R[i.rm]!;
      cpu.H[i.reg] = 0;
      return;
    case 2:
      cpu.set16(i.reg, i.mem ? cpu.rd16(i.ea(cpu, i)) : R[i.rm]!);
      return;
    default:
      cpu.set8(i.reg, i.regHi, i.mem ? cpu.rd8(i.ea(cpu, i)) : cpu.get8(i.rm, i.rmHi));
  }
}

/** MOV E, imm (C6/C7) and MOV r, imm (B0-BF, with rm = the register). */
export function movEI(cpu: Cpu, i: Instr): void {
  if (i.mem) {
    const ea = i.ea(cpu, i);
    switch (i.osize) {
      case 8: cpu.wr64(ea, i.imm, i.immHi); return;
      case 4: cpu.wr32(ea, i.imm); return;
      case 2: cpu.wr16(ea, i.imm); return;
      default: cpu.wr8(ea, i.imm); return;
    }
  }
  writeReg(cpu, i.osize, i.rm, i.rmHi, i.imm, i.immHi);
}

/** MOV AL/AX/EAX/RAX, moffs (A0/A1) and MOV moffs, AL.. (A2/A3; sub 1). */
export function movMoffs(cpu: Cpu, i: Instr): void {
  const ea = i.ea(cpu, i);
  if (i.sub === 0) {
    switch (i.osize) {
      case 8: cpu.R[0] = cpu.rd64(ea); cpu.H[0] = cpu.hi; return;
      case 4: cpu.set32(0, cpu.rd32(ea)); return;
      case 2: cpu.set16(0, cpu.rd16(ea)); return;
      default: cpu.set8(0, false, cpu.rd8(ea)); return;
    }
  }
  switch (i.osize) {
    case 8: cpu.wr64(ea, cpu.R[0]!, cpu.H[0]!); return;
    case 4: cpu.wr32(ea, cpu.R[0]!); return;
    case 2: cpu.wr16(ea, cpu.R[0]!); return;
    default: cpu.wr8(ea, cpu.R[0]!); return;
  }
}

/** MOVZX/MOVSX G, Eb/Ew (0F B6/B7/BE/BF): i.sub = source size, i.imm2 = 1 for sign extension. */
export function movExtend(cpu: Cpu, i: Instr): void {
  let v: number;
  if (i.sub === 1) {
    v = i.mem ? cpu.rd8(i.ea(cpu, i)) : cpu.get8(i.rm, i.rmHi);
    if (i.imm2) v = (v << 24) >> 24;
  } else {
    v = i.mem ? cpu.rd16(i.ea(cpu, i)) : cpu.R[i.rm]! & 0xffff;
    if (i.imm2) v = (v << 16) >> 16;
  }
  writeReg(cpu, i.osize, i.reg, false, v, v >> 31);
}

/** MOVSXD G, Ed (63 with REX.W); without REX.W it is a plain 32/16-bit move. */
export function movsxd(cpu: Cpu, i: Instr): void {
  const v = i.mem ? cpu.rd32(i.ea(cpu, i)) : cpu.R[i.rm]!;
  writeReg(cpu, i.osize, i.reg, false, v, v >> 31);
}

/** LEA G, M: the offset, computed exactly at the operand size. */
export function lea(cpu: Cpu, i: Instr): void {
  const R = cpu.R;
  const H = cpu.H;
  if (i.asize === 8) {
    // Exact 64-bit sum of halves (LEA is arithmetic too: no precision loss, no allocation).
    let lo = (i.disp | 0) >>> 0;
    let hi = Math.floor(i.disp / 4294967296);
    if (i.base >= 0) {
      lo += R[i.base]! >>> 0;
      hi += H[i.base]!;
    }
    if (i.index >= 0) {
      const s = 1 << i.scale;
      lo += (R[i.index]! >>> 0) * s;
      hi += H[i.index]! * s;
    }
    writeReg(cpu, i.osize, i.reg, false, lo | 0, (hi + Math.floor(lo / 4294967296)) | 0);
    return;
  }
  let off = i.disp;
  if (i.base >= 0) off += R[i.base]!;
  if (i.index >= 0) off += R[i.index]! * (1 << i.scale);
  off = i.asize === 2 ? off & 0xffff : off | 0;
  writeReg(cpu, i.osize, i.reg, false, off, 0);
}

/** XCHG E, G (86/87; always locked for memory) and XCHG rAX, r (90+r). */
export function xchg(cpu: Cpu, i: Instr): void {
  if (i.mem) {
    const ea = i.ea(cpu, i);
    const g = readG(cpu, i);
    const gH = cpu.hi;
    let m: number;
    let mH = 0;
    switch (i.osize) {
      case 1: m = cpu.rd8(ea); cpu.wr8(ea, g); break;
      case 2: m = cpu.rd16(ea); cpu.wr16(ea, g); break;
      case 4: m = cpu.rd32(ea); cpu.wr32(ea, g); break;
      default: m = cpu.rd64(ea); mH = cpu.hi; cpu.wr64(ea, g, gH); break;
    }
    writeReg(cpu, i.osize, i.reg, i.regHi, m, mH);
    return;
  }
  const a = readE(cpu, i);
  const aH = cpu.hi;
  const g = readG(cpu, i);
  const gH = cpu.hi;
  writeReg(cpu, i.osize, i.rm, i.rmHi, g, gH);
  writeReg(cpu, i.osize, i.reg, i.regHi, a, aH);
}

/** XCHG rAX, r (90+r, i.reg = r). */
export function xchgAx(cpu: Cpu, i: Instr): void {
  const r = i.reg;
  if (r === 0 && i.osize !== 4) return; // NOP (and PAUSE with F3)
  const aL = cpu.R[0]!;
  const aH = cpu.H[0]!;
  const bL = cpu.R[r]!;
  const bH = cpu.H[r]!;
  writeReg(cpu, i.osize, 0, false, bL, bH);
  writeReg(cpu, i.osize, r, false, aL, aH);
}

/** CMOVcc G, E (0F 40-4F; i.sub = cc). The source is read even when the condition is false. */
export function cmov(cpu: Cpu, i: Instr): void {
  const v = readE(cpu, i);
  const vH = cpu.hi;
  if (cpu.cond(i.sub)) writeReg(cpu, i.osize, i.reg, false, v, vH);
  else if (i.osize === 4) cpu.H[i.reg] = 0; // 32-bit CMOV always zero-extends its destination
}

/** SETcc Eb (0F 90-9F). */
export function setcc(cpu: Cpu, i: Instr): void {
  const v = cpu.cond(i.sub) ? 1 : 0;
  if (i.mem) cpu.wr8(i.ea(cpu, i), v);
  else cpu.set8(i.rm, i.rmHi, v);
}

/** BSWAP r (0F C8+r). */
export function bswap(cpu: Cpu, i: Instr): void {
  const sw = (v: number) => ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
  const r = i.reg;
  if (i.osize === 8) {
    const lo = cpu.R[r]!;
    cpu.R[r] = sw(cpu.H[r]!);
    cpu.H[r] = sw(lo);
  } else if (i.osize === 4) {
    cpu.set32(r, sw(cpu.R[r]!));
  } else {
    cpu.set16(r, 0); // undefined for 16-bit operands; hardware zeroes
  }
}

/** CBW/CWDE/CDQE (98). */
export function cbw(cpu: Cpu, i: Instr): void {
  const a = cpu.R[0]!;
  if (i.osize === 2) cpu.set16(0, (a << 24) >> 24);
  else if (i.osize === 4) cpu.set32(0, (a << 16) >> 16);
  else cpu.H[0] = a >> 31;
}

/** CWD/CDQ/CQO (99). */
export function cwd(cpu: Cpu, i: Instr): void {
  if (i.osize === 2) cpu.set16(2, (cpu.R[0]! << 16) >> 31);
  else if (i.osize === 4) cpu.set32(2, cpu.R[0]! >> 31);
  else {
    const s = cpu.H[0]! >> 31;
    cpu.R[2] = s;
    cpu.H[2] = s;
  }
}

/** LAHF (9F): AH = SF:ZF:0:AF:0:PF:1:CF. */
export function lahf(cpu: Cpu, _i: Instr): void {
  cpu.set8(0, true, (cpu.getFlags() & 0xd5) | 2);
}

/** SAHF (9E). */
export function sahf(cpu: Cpu, _i: Instr): void {
  cpu.setFlagBits(cpu.get8(0, true), SF | ZF | AF | PF | CF);
}

/** XLAT (D7): AL = [rBX + AL]. */
export function xlat(cpu: Cpu, i: Instr): void {
  const al = cpu.R[0]! & 0xff;
  let off: number;
  if (i.asize === 8) off = cpu.reg64(3) + al;
  else if (i.asize === 4) off = (cpu.R[3]! + al) >>> 0;
  else off = (cpu.R[3]! + al) & 0xffff;
  const lin = cpu.mode64 && i.seg !== 4 && i.seg !== 5 ? off : off + cpu.segBase[i.seg]!;
  cpu.set8(0, false, cpu.rd8(lin));
}

// ---- atomics (single-threaded per vCPU loop, so no real locking needed) --------

/** CMPXCHG E, G (0F B0/B1): compare accumulator with E. */
export function cmpxchg(cpu: Cpu, i: Instr): void {
  const ea = i.mem ? i.ea(cpu, i) : 0;
  const size = i.osize;
  let d: number;
  let dH = 0;
  if (i.mem) {
    switch (size) {
      case 1: d = cpu.rd8(ea); break;
      case 2: d = cpu.rd16(ea); break;
      case 4: d = cpu.rd32(ea); break;
      default: d = cpu.rd64(ea); dH = cpu.hi; break;
    }
  } else {
    d = readE(cpu, i);
    dH = cpu.hi;
  }
  const aL = cpu.R[0]!;
  const aH = cpu.H[0]!;
  // Flags as CMP accumulator, destination.
  if (size === 8) alu64(cpu, 7, aL, aH, d, dH);
  else if (size === 4) alu32(cpu, 7, aL, d);
  else aluSmall(cpu, 7, size, size === 1 ? aL & 0xff : aL & 0xffff, d);
  if (cpu.getZF()) {
    const s = readG(cpu, i);
    writeE(cpu, i, ea, s, cpu.hi);
  } else {
    // The destination is written back unchanged (as the locked cycle does), and the accumulator loaded.
    if (i.mem) writeE(cpu, i, ea, d, dH);
    writeReg(cpu, size, 0, false, d, dH);
  }
}

/** XADD E, G (0F C0/C1). */
export function xadd(cpu: Cpu, i: Instr): void {
  const ea = i.mem ? i.ea(cpu, i) : 0;
  const size = i.osize;
  let d: number;
  let dH = 0;
  if (i.mem) {
    switch (size) {
      case 1: d = cpu.rd8(ea); break;
      case 2: d = cpu.rd16(ea); break;
      case 4: d = cpu.rd32(ea); break;
      default: d = cpu.rd64(ea); dH = cpu.hi; break;
    }
  } else {
    d = readE(cpu, i);
    dH = cpu.hi;
  }
  const s = readG(cpu, i);
  const sH = cpu.hi;
  let r: number;
  let rH = 0;
  if (size === 8) {
    r = alu64(cpu, 0, d, dH, s, sH);
    rH = cpu.hi;
  } else if (size === 4) r = alu32(cpu, 0, d, s);
  else r = aluSmall(cpu, 0, size, d, s);
  writeReg(cpu, size, i.reg, i.regHi, d, dH);
  writeE(cpu, i, ea, r, rH);
}

/** CMPXCHG8B / CMPXCHG16B m (0F C7 /1). */
export function cmpxchg8b(cpu: Cpu, i: Instr): void {
  if (!i.mem) throw ud();
  const ea = i.ea(cpu, i);
  const R = cpu.R;
  const H = cpu.H;
  if (i.osize === 8) {
    if ((ea & 15) !== 0) throw gp(0);
    const m0 = cpu.rd64(ea);
    const m1 = cpu.hi;
    const m2 = cpu.rd64(ea + 8);
    const m3 = cpu.hi;
    const eq = m0 === R[0] && m1 === H[0] && m2 === R[2] && m3 === H[2];
    if (eq) {
      cpu.checkWritable(ea, 16);
      cpu.wr64(ea, R[3]!, H[3]!);
      cpu.wr64(ea + 8, R[1]!, H[1]!);
    } else {
      cpu.checkWritable(ea, 16);
      cpu.wr64(ea, m0, m1);
      cpu.wr64(ea + 8, m2, m3);
      R[0] = m0;
      H[0] = m1;
      R[2] = m2;
      H[2] = m3;
    }
    cpu.setFlagBits(eq ? ZF : 0, ZF);
    return;
  }
  const lo = cpu.rd32(ea);
  const hi = cpu.rd32(ea + 4);
  const eq = lo === R[0] && hi === R[2];
  cpu.checkWritable(ea, 8);
  if (eq) {
    cpu.wr32(ea, R[3]!);
    cpu.wr32(ea + 4, R[1]!);
  } else {
    cpu.wr32(ea, lo);
    cpu.wr32(ea + 4, hi);
    cpu.set32(0, lo);
    cpu.set32(2, hi);
  }
  cpu.setFlagBits(eq ? ZF : 0, ZF);
}

/** Flags as CMP would set them (used by CMPS/SCAS). */
export function cmpFlags(cpu: Cpu, size: number, a: number, aH: number, b: number, bH: number): void {
  if (size === 8) alu64(cpu, 7, a, aH, b, bH);
  else if (size === 4) alu32(cpu, 7, a, b);
  else aluSmall(cpu, 7, size, a, b);
}
