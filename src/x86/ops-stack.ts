/**
 * The stack and near control flow: PUSH/POP (registers, immediates,
 * memory), PUSHF/POPF, ENTER/LEAVE, JMP/Jcc/CALL/RET (relative and
 * indirect), LOOP/LOOPcc/JrCXZ. Stack width follows the mode: RSP in
 * 64-bit mode, else ESP or SP by SS.B.
 */
import { type Cpu, SS } from './cpu.js';
import { AC, ID_FLAG, NT, RF, VM } from './system-regs.js';
import { AF, CF, DF, IF, OF, PF, SF, TF, ZF } from './flags.js';
import { gp } from './fault.js';
import type { Instr } from './instr.js';
import { readE, writeE, writeReg } from './ops-alu.js';

/** Pushes a value of `size` bytes (2, 4 or 8; 8 only in 64-bit mode). */
export function push(cpu: Cpu, size: number, v: number, vH: number): void {
  const R = cpu.R;
  if (cpu.mode64) {
    const sp = cpu.H[4]! * 4294967296 + (R[4]! >>> 0) - size;
    if (size === 8) cpu.wr64(sp, v, vH);
    else cpu.wr16(sp, v);
    cpu.setReg64(4, sp);
    return;
  }
  if (cpu.stack32) {
    const sp = (R[4]! - size) >>> 0;
    const lin = (cpu.segBase[SS]! + sp) % 4294967296;
    if (size === 4) cpu.wr32(lin, v);
    else cpu.wr16(lin, v);
    R[4] = sp | 0;
    return;
  }
  const sp = (R[4]! - size) & 0xffff;
  const lin = cpu.segBase[SS]! + sp;
  if (size === 4) cpu.wr32(lin, v);
  else cpu.wr16(lin, v);
  cpu.set16(4, sp);
}

/** Pops `size` bytes; returns the low half (high half in cpu.hi for 8). */
export function pop(cpu: Cpu, size: number): number {
  const R = cpu.R;
  let v: number;
  if (cpu.mode64) {
    const sp = cpu.H[4]! * 4294967296 + (R[4]! >>> 0);
    v = size === 8 ? cpu.rd64(sp) : cpu.rd16(sp);
    const hi = cpu.hi;
    cpu.setReg64(4, sp + size);
    cpu.hi = hi;
    return v;
  }
  if (cpu.stack32) {
    const sp = R[4]! >>> 0;
    const lin = (cpu.segBase[SS]! + sp) % 4294967296;
    v = size === 4 ? cpu.rd32(lin) : cpu.rd16(lin);
    R[4] = (sp + size) | 0;
    return v;
  }
  const sp = R[4]! & 0xffff;
  const lin = cpu.segBase[SS]! + sp;
  v = size === 4 ? cpu.rd32(lin) : cpu.rd16(lin);
  cpu.set16(4, sp + size);
  return v;
}

/** Reads the stack slot `offset` bytes above the stack pointer without popping. */
export function peek(cpu: Cpu, size: number, offset: number): number {
  let lin: number;
  if (cpu.mode64) lin = cpu.reg64(4) + offset;
  else if (cpu.stack32) lin = (cpu.segBase[SS]! + ((cpu.R[4]! + offset) >>> 0)) % 4294967296;
  else lin = cpu.segBase[SS]! + ((cpu.R[4]! + offset) & 0xffff);
  return size === 8 ? cpu.rd64(lin) : size === 4 ? cpu.rd32(lin) : cpu.rd16(lin);
}

/** Adds `n` to the stack pointer at the stack's width. */
export function adjustSp(cpu: Cpu, n: number): void {
  if (cpu.mode64) cpu.setReg64(4, cpu.reg64(4) + n);
  else if (cpu.stack32) cpu.R[4] = (cpu.R[4]! + n) | 0;
  else cpu.set16(4, cpu.R[4]! + n);
}

// ---- push/pop instructions -----------------------------------------------------

/** PUSH r (50+r). */
export function pushReg(cpu: Cpu, i: Instr): void {
  const r = i.reg;
  if (i.osize === 8) {
    // Hot in every function prologue: inline the 64-bit case.
    const R = cpu.R;
    const lo = R[4]!;
    const sp = cpu.H[4]! * 4294967296 + (lo >>> 0) - 8;
    cpu.wr64(sp, R[r]!, cpu.H[r]!);
    R[4] = (lo - 8) | 0;
    if ((lo >>> 0) < 8) cpu.H[4] = (cpu.H[4]! - 1) | 0;
    return;
  }
  push(cpu, i.osize, cpu.R[r]!, cpu.H[r]!);
}

/** POP r (58+r). */
export function popReg(cpu: Cpu, i: Instr): void {
  const v = pop(cpu, i.osize);
  writeReg(cpu, i.osize, i.reg, false, v, cpu.hi);
}

/** PUSH imm (68, 6A). */
export function pushImm(cpu: Cpu, i: Instr): void {
  push(cpu, i.osize, i.imm, i.immHi);
}

/** PUSH E (FF /6). */
export function pushE(cpu: Cpu, i: Instr): void {
  const v = readE(cpu, i);
  push(cpu, i.osize, v, cpu.hi);
}

/** POP E (8F /0): RSP is incremented before the address is computed. */
export function popE(cpu: Cpu, i: Instr): void {
  const v = pop(cpu, i.osize);
  const vH = cpu.hi;
  const ea = i.mem ? i.ea(cpu, i) : 0;
  writeE(cpu, i, ea, v, vH);
}

/** PUSHF/PUSHFD/PUSHFQ (9C): VM and RF read as 0. */
export function pushf(cpu: Cpu, i: Instr): void {
  const f = cpu.getFlags() & ~(VM | RF);
  push(cpu, i.osize, i.osize === 2 ? f & 0xffff : f, 0);
}

/** POPF (9D): which bits may change depends on CPL and IOPL. */
export function popf(cpu: Cpu, i: Instr): void {
  const v = pop(cpu, i.osize);
  const iopl = (cpu.flags >> 12) & 3;
  let mask = CF | PF | AF | ZF | SF | TF | DF | OF | NT;
  if (i.osize !== 2) mask |= AC | ID_FLAG;
  if (cpu.cpl === 0) mask |= IF | (3 << 12);
  else if (cpu.cpl <= iopl) mask |= IF;
  if (cpu.realMode) mask |= IF | (3 << 12);
  cpu.setFlagBits(v, mask);
  cpu.rip = i.next;
}

// ---- near control flow -----------------------------------------------------------

/** JMP rel8/rel32. */
export function jmpRel(cpu: Cpu, i: Instr): void {
  cpu.rip = i.target;
}

/** Jcc rel (70-7F, 0F 80-8F); i.sub = condition code. */
export function jcc(cpu: Cpu, i: Instr): void {
  cpu.rip = cpu.cond(i.sub) ? i.target : i.next;
}

/** CALL rel32 (E8). */
export function callRel(cpu: Cpu, i: Instr): void {
  const n = i.next;
  if (i.osize === 8) push(cpu, 8, n | 0, Math.floor(n / 4294967296) | 0);
  else push(cpu, i.osize, n, 0);
  cpu.rip = i.target;
}

/** RET (C3) and RET imm16 (C2; i.sub = 1). */
export function ret(cpu: Cpu, i: Instr): void {
  const size = i.osize;
  const lo = pop(cpu, size);
  let target: number;
  if (size === 8) target = cpu.hi * 4294967296 + (lo >>> 0);
  else target = size === 4 ? lo >>> 0 : lo & 0xffff;
  if (i.sub === 1) adjustSp(cpu, i.imm & 0xffff);
  cpu.rip = target;
}

/** Reads an indirect near branch target from E at the operand size. */
function indirectTarget(cpu: Cpu, i: Instr): number {
  const lo = readE(cpu, i);
  if (i.osize === 8) return cpu.hi * 4294967296 + (lo >>> 0);
  return i.osize === 4 ? lo >>> 0 : lo & 0xffff;
}

/** JMP E (FF /4). */
export function jmpInd(cpu: Cpu, i: Instr): void {
  cpu.rip = indirectTarget(cpu, i);
}

/** CALL E (FF /2). */
export function callInd(cpu: Cpu, i: Instr): void {
  const t = indirectTarget(cpu, i);
  const n = i.next;
  if (i.osize === 8) push(cpu, 8, n | 0, Math.floor(n / 4294967296) | 0);
  else push(cpu, i.osize, n, 0);
  cpu.rip = t;
}

/** LOOP (E2), LOOPE (E1), LOOPNE (E0), JrCXZ (E3); i.sub = 0xE0-0xE3 low bits. */
export function loop(cpu: Cpu, i: Instr): void {
  const R = cpu.R;
  const H = cpu.H;
  let zero: boolean;
  if (i.sub === 3) {
    zero = i.asize === 8 ? (R[1]! | H[1]!) === 0 : i.asize === 4 ? R[1] === 0 : (R[1]! & 0xffff) === 0;
    cpu.rip = zero ? i.target : i.next;
    return;
  }
  if (i.asize === 8) {
    const lo = R[1]!;
    R[1] = (lo - 1) | 0;
    if (lo === 0) H[1] = (H[1]! - 1) | 0;
    zero = (R[1]! | H[1]!) === 0;
  } else if (i.asize === 4) {
    cpu.set32(1, R[1]! - 1);
    zero = R[1] === 0;
  } else {
    cpu.set16(1, R[1]! - 1);
    zero = (R[1]! & 0xffff) === 0;
  }
  let take = !zero;
  if (i.sub === 1) take &&= cpu.getZF();
  else if (i.sub === 0) take &&= !cpu.getZF();
  cpu.rip = take ? i.target : i.next;
}

/** LEAVE (C9): rSP = rBP, then pop rBP. */
export function leave(cpu: Cpu, i: Instr): void {
  if (cpu.mode64) {
    cpu.R[4] = cpu.R[5]!;
    cpu.H[4] = cpu.H[5]!;
  } else if (cpu.stack32) cpu.R[4] = cpu.R[5]!;
  else cpu.set16(4, cpu.R[5]!);
  const v = pop(cpu, i.osize);
  writeReg(cpu, i.osize, 5, false, v, cpu.hi);
}

/** ENTER imm16, imm8 (C8). */
export function enter(cpu: Cpu, i: Instr): void {
  const size = i.osize;
  const level = i.imm2 & 31;
  push(cpu, size, cpu.R[5]!, cpu.H[5]!);
  const frameLo = cpu.R[4]!;
  const frameHi = cpu.H[4]!;
  if (level > 0) {
    for (let k = 1; k < level; k++) {
      // Copy the enclosing frames' pointers.
      const v = peekFrom(cpu, size, k);
      push(cpu, size, v, cpu.hi);
    }
    push(cpu, size, frameLo, frameHi);
  }
  if (cpu.mode64) {
    cpu.R[5] = frameLo;
    cpu.H[5] = frameHi;
  } else if (cpu.stack32) cpu.R[5] = frameLo;
  else cpu.set16(5, frameLo);
  adjustSp(cpu, -(i.imm & 0xffff));
}

function peekFrom(cpu: Cpu, size: number, k: number): number {
  let lin: number;
  if (cpu.mode64) lin = cpu.reg64(5) - k * size;
  else if (cpu.stack32) lin = (cpu.segBase[SS]! + ((cpu.R[5]! - k * size) >>> 0)) % 4294967296;
  else lin = cpu.segBase[SS]! + ((cpu.R[5]! - k * size) & 0xffff);
  return size === 8 ? cpu.rd64(lin) : size === 4 ? cpu.rd32(lin) : cpu.rd16(lin);
}

/** The #GP(0) a far branch into a non-canonical address raises. */
export function checkCanonical(cpu: Cpu, target: number): void {
  if (cpu.mode64 && (target >= 0x800000000000 || target < -0x800000000000)) throw gp(0);
}
