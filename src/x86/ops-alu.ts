/**
 * Integer ALU: ADD OR ADC SBB AND SUB XOR CMP (op 0-7 in encoding order),
 * TEST, INC, DEC, NEG, NOT. Each size has its own core so the hot 32- and
 * 64-bit paths stay monomorphic; 64-bit values travel as (low, high) with
 * the high half of results in cpu.hi.
 */
import type { Cpu } from './cpu.js';
import { CF, OF, AF, OP_ADC, OP_ADD, OP_SBB, OP_SUB } from './flags.js';
import type { Instr } from './instr.js';

const TWO32 = 4294967296;

/** ALU core for 8/16-bit operands (values zero-extended); returns the result. */
export function aluSmall(cpu: Cpu, op: number, size: number, a: number, b: number): number {
  const m = size === 1 ? 0xff : 0xffff;
  let r: number;
  switch (op) {
    case 0: r = (a + b) & m; cpu.setArith(OP_ADD, size, a, b, r); return r;
    case 1: r = a | b; cpu.setLogic(size, r, 0); return r;
    case 2: { const c = cpu.getCF(); r = (a + b + c) & m; cpu.fCarryIn = c; cpu.setArith(OP_ADC, size, a, b, r); return r; }
    case 3: { const c = cpu.getCF(); r = (a - b - c) & m; cpu.fCarryIn = c; cpu.setArith(OP_SBB, size, a, b, r); return r; }
    case 4: r = a & b; cpu.setLogic(size, r, 0); return r;
    case 5: case 7: r = (a - b) & m; cpu.setArith(OP_SUB, size, a, b, r); return r;
    default: r = a ^ b; cpu.setLogic(size, r, 0); return r;
  }
}

/** ALU core for 32-bit operands (int32); returns the result. */
export function alu32(cpu: Cpu, op: number, a: number, b: number): number {
  let r: number;
  switch (op) {
    case 0: r = (a + b) | 0; cpu.setArith(OP_ADD, 4, a, b, r); return r;
    case 1: r = a | b; cpu.setLogic(4, r, 0); return r;
    case 2: { const c = cpu.getCF(); r = (a + b + c) | 0; cpu.fCarryIn = c; cpu.setArith(OP_ADC, 4, a, b, r); return r; }
    case 3: { const c = cpu.getCF(); r = (a - b - c) | 0; cpu.fCarryIn = c; cpu.setArith(OP_SBB, 4, a, b, r); return r; }
    case 4: r = a & b; cpu.setLogic(4, r, 0); return r;
    case 5: case 7: r = (a - b) | 0; cpu.setArith(OP_SUB, 4, a, b, r); return r;
    default: r = a ^ b; cpu.setLogic(4, r, 0); return r;
  }
}

/** ALU core for 64-bit operands; returns the low half, high half in cpu.hi. */
export function alu64(cpu: Cpu, op: number, aL: number, aH: number, bL: number, bH: number): number {
  let rL: number;
  let rH: number;
  switch (op) {
    case 0: case 2: {
      const c = op === 2 ? cpu.getCF() : 0;
      const s = (aL >>> 0) + (bL >>> 0) + c;
      rL = s | 0;
      rH = (aH + bH + (s >= TWO32 ? 1 : 0)) | 0;
      cpu.fCarryIn = c;
      cpu.setArith64(op === 2 ? OP_ADC : OP_ADD, aL, aH, bL, bH, rL, rH);
      break;
    }
    case 3: case 5: case 7: {
      const c = op === 3 ? cpu.getCF() : 0;
      const s = (aL >>> 0) - (bL >>> 0) - c;
      rL = s | 0;
      rH = (aH - bH - (s < 0 ? 1 : 0)) | 0;
      cpu.fCarryIn = c;
      cpu.setArith64(op === 3 ? OP_SBB : OP_SUB, aL, aH, bL, bH, rL, rH);
      break;
    }
    case 1: rL = aL | bL; rH = aH | bH; cpu.setLogic(8, rL, rH); break;
    case 4: rL = aL & bL; rH = aH & bH; cpu.setLogic(8, rL, rH); break;
    default: rL = aL ^ bL; rH = aH ^ bH; cpu.setLogic(8, rL, rH); break;
  }
  cpu.hi = rH;
  return rL;
}

// ---- E op= G, G op= E, E op= imm -------------------------------------------

/** E = E op G (8-bit). */
export function aluEG8(cpu: Cpu, i: Instr): void {
  const b = cpu.get8(i.reg, i.regHi);
  if (i.mem) {
    const ea = i.ea(cpu, i);
    const r = aluSmall(cpu, i.sub, 1, cpu.rd8(ea), b);
    if (i.sub !== 7) cpu.wr8(ea, r);
  } else {
    const r = aluSmall(cpu, i.sub, 1, cpu.get8(i.rm, i.rmHi), b);
    if (i.sub !== 7) cpu.set8(i.rm, i.rmHi, r);
  }
}

export function aluEG16(cpu: Cpu, i: Instr): void {
  const b = cpu.R[i.reg]! & 0xffff;
  if (i.mem) {
    const ea = i.ea(cpu, i);
    const r = aluSmall(cpu, i.sub, 2, cpu.rd16(ea), b);
    if (i.sub !== 7) cpu.wr16(ea, r);
  } else {
    const r = aluSmall(cpu, i.sub, 2, cpu.R[i.rm]! & 0xffff, b);
    if (i.sub !== 7) cpu.set16(i.rm, r);
  }
}

export function aluEG32(cpu: Cpu, i: Instr): void {
  const b = cpu.R[i.reg]!;
  if (i.mem) {
    const ea = i.ea(cpu, i);
    const r = alu32(cpu, i.sub, cpu.rd32(ea), b);
    if (i.sub !== 7) cpu.wr32(ea, r);
  } else {
    const r = alu32(cpu, i.sub, cpu.R[i.rm]!, b);
    if (i.sub !== 7) {
      cpu.R[i.rm] = r;
      cpu.H[i.rm] = 0;
    }
  }
}

export function aluEG64(cpu: Cpu, i: Instr): void {
  const bL = cpu.R[i.reg]!;
  const bH = cpu.H[i.reg]!;
  if (i.mem) {
    const ea = i.ea(cpu, i);
    const aL = cpu.rd64(ea);
    const r = alu64(cpu, i.sub, aL, cpu.hi, bL, bH);
    if (i.sub !== 7) cpu.wr64(ea, r, cpu.hi);
  } else {
    const r = alu64(cpu, i.sub, cpu.R[i.rm]!, cpu.H[i.rm]!, bL, bH);
    if (i.sub !== 7) {
      cpu.R[i.rm] = r;
      cpu.H[i.rm] = cpu.hi;
    }
  }
}

/** G = G op E. */
export function aluGE8(cpu: Cpu, i: Instr): void {
  const b = i.mem ? cpu.rd8(i.ea(cpu, i)) : cpu.get8(i.rm, i.rmHi);
  const r = aluSmall(cpu, i.sub, 1, cpu.get8(i.reg, i.regHi), b);
  if (i.sub !== 7) cpu.set8(i.reg, i.regHi, r);
}

export function aluGE16(cpu: Cpu, i: Instr): void {
  const b = i.mem ? cpu.rd16(i.ea(cpu, i)) : cpu.R[i.rm]! & 0xffff;
  const r = aluSmall(cpu, i.sub, 2, cpu.R[i.reg]! & 0xffff, b);
  if (i.sub !== 7) cpu.set16(i.reg, r);
}

export function aluGE32(cpu: Cpu, i: Instr): void {
  const b = i.mem ? cpu.rd32(i.ea(cpu, i)) : cpu.R[i.rm]!;
  const r = alu32(cpu, i.sub, cpu.R[i.reg]!, b);
  if (i.sub !== 7) {
    cpu.R[i.reg] = r;
    cpu.H[i.reg] = 0;
  }
}

export function aluGE64(cpu: Cpu, i: Instr): void {
  let bL: number;
  let bH: number;
  if (i.mem) {
    bL = cpu.rd64(i.ea(cpu, i));
    bH = cpu.hi;
  } else {
    bL = cpu.R[i.rm]!;
    bH = cpu.H[i.rm]!;
  }
  const r = alu64(cpu, i.sub, cpu.R[i.reg]!, cpu.H[i.reg]!, bL, bH);
  if (i.sub !== 7) {
    cpu.R[i.reg] = r;
    cpu.H[i.reg] = cpu.hi;
  }
}

/** E = E op imm (also AL/AX/EAX/RAX, imm forms with rm = 0, mem = false). */
export function aluEI8(cpu: Cpu, i: Instr): void {
  const b = i.imm & 0xff;
  if (i.mem) {
    const ea = i.ea(cpu, i);
    const r = aluSmall(cpu, i.sub, 1, cpu.rd8(ea), b);
    if (i.sub !== 7) cpu.wr8(ea, r);
  } else {
    const r = aluSmall(cpu, i.sub, 1, cpu.get8(i.rm, i.rmHi), b);
    if (i.sub !== 7) cpu.set8(i.rm, i.rmHi, r);
  }
}

export function aluEI16(cpu: Cpu, i: Instr): void {
  const b = i.imm & 0xffff;
  if (i.mem) {
    const ea = i.ea(cpu, i);
    const r = aluSmall(cpu, i.sub, 2, cpu.rd16(ea), b);
    if (i.sub !== 7) cpu.wr16(ea, r);
  } else {
    const r = aluSmall(cpu, i.sub, 2, cpu.R[i.rm]! & 0xffff, b);
    if (i.sub !== 7) cpu.set16(i.rm, r);
  }
}

export function aluEI32(cpu: Cpu, i: Instr): void {
  if (i.mem) {
    const ea = i.ea(cpu, i);
    const r = alu32(cpu, i.sub, cpu.rd32(ea), i.imm);
    if (i.sub !== 7) cpu.wr32(ea, r);
  } else {
    const r = alu32(cpu, i.sub, cpu.R[i.rm]!, i.imm);
    if (i.sub !== 7) {
      cpu.R[i.rm] = r;
      cpu.H[i.rm] = 0;
    }
  }
}

export function aluEI64(cpu: Cpu, i: Instr): void {
  if (i.mem) {
    const ea = i.ea(cpu, i);
    const aL = cpu.rd64(ea);
    const r = alu64(cpu, i.sub, aL, cpu.hi, i.imm, i.immHi);
    if (i.sub !== 7) cpu.wr64(ea, r, cpu.hi);
  } else {
    const r = alu64(cpu, i.sub, cpu.R[i.rm]!, cpu.H[i.rm]!, i.imm, i.immHi);
    if (i.sub !== 7) {
      cpu.R[i.rm] = r;
      cpu.H[i.rm] = cpu.hi;
    }
  }
}

// ---- TEST ----------------------------------------------------------------

/** TEST E, G (sub 0) or TEST E, imm (sub 1): AND without writing. */
export function test(cpu: Cpu, i: Instr): void {
  const size = i.osize;
  if (size === 8) {
    const aL = readE(cpu, i);
    const aH = cpu.hi;
    const bL = i.sub === 0 ? cpu.R[i.reg]! : i.imm;
    const bH = i.sub === 0 ? cpu.H[i.reg]! : i.immHi;
    cpu.setLogic(8, aL & bL, aH & bH);
    return;
  }
  const a = readE(cpu, i);
  const b = i.sub === 0 ? readG(cpu, i) : i.imm;
  const r = a & b;
  cpu.setLogic(size, size === 1 ? r & 0xff : size === 2 ? r & 0xffff : r, 0);
}

// ---- generic E/G access (for less frequent instructions) ----------------------

/** Reads the E operand at i.osize (8-byte: low half returned, high in cpu.hi). */
export function readE(cpu: Cpu, i: Instr): number {
  if (i.mem) {
    const ea = i.ea(cpu, i);
    switch (i.osize) {
      case 1: return cpu.rd8(ea);
      case 2: return cpu.rd16(ea);
      case 4: return cpu.rd32(ea);
      default: return cpu.rd64(ea);
    }
  }
  switch (i.osize) {
    case 1: return cpu.get8(i.rm, i.rmHi);
    case 2: return cpu.R[i.rm]! & 0xffff;
    case 4: return cpu.R[i.rm]!;
    default: cpu.hi = cpu.H[i.rm]!; return cpu.R[i.rm]!;
  }
}

/** Writes the E operand at i.osize; `ea` is the address when i.mem (computed once by the caller). */
export function writeE(cpu: Cpu, i: Instr, ea: number, v: number, vH: number): void {
  if (i.mem) {
    switch (i.osize) {
      case 1: cpu.wr8(ea, v); return;
      case 2: cpu.wr16(ea, v); return;
      case 4: cpu.wr32(ea, v); return;
      default: cpu.wr64(ea, v, vH); return;
    }
  }
  writeReg(cpu, i.osize, i.rm, i.rmHi, v, vH);
}

/** Reads the G (ModRM.reg) operand at i.osize (8-byte: high in cpu.hi). */
export function readG(cpu: Cpu, i: Instr): number {
  switch (i.osize) {
    case 1: return cpu.get8(i.reg, i.regHi);
    case 2: return cpu.R[i.reg]! & 0xffff;
    case 4: return cpu.R[i.reg]!;
    default: cpu.hi = cpu.H[i.reg]!; return cpu.R[i.reg]!;
  }
}

/** Writes a register at `size`, with x86-64's partial-register rules. */
export function writeReg(cpu: Cpu, size: number, r: number, high: boolean, v: number, vH: number): void {
  switch (size) {
    case 1: cpu.set8(r, high, v); return;
    case 2: cpu.set16(r, v); return;
    case 4: cpu.R[r] = v; cpu.H[r] = 0; return;
    default: cpu.R[r] = v; cpu.H[r] = vH; return;
  }
}

/** Reads E, operates, writes back: the shape of INC/DEC/NEG/NOT/shifts on memory. */
export function rmw(cpu: Cpu, i: Instr, f: (cpu: Cpu, size: number, a: number, aH: number) => number): void {
  const ea = i.mem ? i.ea(cpu, i) : 0;
  let a: number;
  let aH = 0;
  if (i.mem) {
    switch (i.osize) {
      case 1: a = cpu.rd8(ea); break;
      case 2: a = cpu.rd16(ea); break;
      case 4: a = cpu.rd32(ea); break;
      default: a = cpu.rd64(ea); aH = cpu.hi; break;
    }
  } else {
    a = readE(cpu, i);
    aH = i.osize === 8 ? cpu.hi : 0;
  }
  const r = f(cpu, i.osize, a, aH);
  writeE(cpu, i, ea, r, cpu.hi);
}

// ---- INC DEC NEG NOT ---------------------------------------------------------

function signMask(size: number): number {
  return size === 1 ? 0x80 : size === 2 ? 0x8000 : 0x80000000 | 0;
}

function incOp(cpu: Cpu, size: number, a: number, aH: number): number {
  const cf = cpu.getCF();
  if (size === 8) {
    const rL = (a + 1) | 0;
    const rH = rL === 0 ? (aH + 1) | 0 : aH;
    const of = rH === (0x80000000 | 0) && rL === 0 ? OF : 0;
    cpu.setResult(8, rL, rH, cf | of | ((rL & 0xf) === 0 ? AF : 0));
    cpu.hi = rH;
    return rL;
  }
  const r = size === 4 ? (a + 1) | 0 : (a + 1) & (size === 1 ? 0xff : 0xffff);
  const of = r === signMask(size) ? OF : 0;
  cpu.setResult(size, r, 0, cf | of | ((r & 0xf) === 0 ? AF : 0));
  return r;
}

function decOp(cpu: Cpu, size: number, a: number, aH: number): number {
  const cf = cpu.getCF();
  if (size === 8) {
    const rL = (a - 1) | 0;
    const rH = a === 0 ? (aH - 1) | 0 : aH;
    const of = aH === (0x80000000 | 0) && a === 0 ? OF : 0;
    cpu.setResult(8, rL, rH, cf | of | ((rL & 0xf) === 0xf ? AF : 0));
    cpu.hi = rH;
    return rL;
  }
  const r = size === 4 ? (a - 1) | 0 : (a - 1) & (size === 1 ? 0xff : 0xffff);
  const of = a === signMask(size) ? OF : 0;
  cpu.setResult(size, r, 0, cf | of | ((r & 0xf) === 0xf ? AF : 0));
  return r;
}

function negOp(cpu: Cpu, size: number, a: number, aH: number): number {
  if (size === 8) {
    const r = alu64(cpu, 5, 0, 0, a, aH);
    return r;
  }
  if (size === 4) return alu32(cpu, 5, 0, a);
  return aluSmall(cpu, 5, size, 0, a);
}

function notOp(cpu: Cpu, size: number, a: number, aH: number): number {
  cpu.hi = ~aH;
  return size === 1 ? ~a & 0xff : size === 2 ? ~a & 0xffff : ~a;
}

/** INC E (FE/FF /0, and 40+r outside 64-bit mode). */
export function inc(cpu: Cpu, i: Instr): void {
  if (!i.mem && i.osize === 4) {
    // The common register form, without the generic read/write.
    const a = cpu.R[i.rm]!;
    const r = (a + 1) | 0;
    cpu.setResult(4, r, 0, cpu.getCF() | (r === (0x80000000 | 0) ? OF : 0) | ((r & 0xf) === 0 ? AF : 0));
    cpu.R[i.rm] = r;
    cpu.H[i.rm] = 0;
    return;
  }
  rmw(cpu, i, incOp);
}

/** DEC E. */
export function dec(cpu: Cpu, i: Instr): void {
  rmw(cpu, i, decOp);
}

/** NEG E: 0 - E, CF = (E != 0). */
export function neg(cpu: Cpu, i: Instr): void {
  rmw(cpu, i, negOp);
}

/** NOT E: flags unchanged. */
export function not(cpu: Cpu, i: Instr): void {
  rmw(cpu, i, notOp);
}

/** Sets CF the way ALU carries do, for instructions that produce it directly. */
export function carryFlag(v: boolean): number {
  return v ? CF : 0;
}
