/**
 * Bit instructions: BT/BTS/BTR/BTC (register and immediate bit offsets),
 * BSF/BSR, POPCNT. A register bit offset on a memory operand addresses
 * beyond the operand (signed offset / operand bits), as the SDM says.
 */
import type { Cpu } from './cpu.js';
import { CF, ZF } from './flags.js';
import type { Instr } from './instr.js';
import { readE, writeReg } from './ops-alu.js';

/** BT (sub 0), BTS (1), BTR (2), BTC (3); i.imm2 = 1 for the immediate form. */
export function bt(cpu: Cpu, i: Instr): void {
  const size = i.osize;
  const bits = size * 8;
  let off: number;
  let offH = 0;
  if (i.imm2 === 1) off = i.imm & (bits - 1);
  else {
    off = cpu.R[i.reg]!;
    offH = cpu.H[i.reg]!;
    if (size === 2) off = (off << 16) >> 16;
  }
  let bit: number;
  if (i.mem) {
    // Register offsets select a byte anywhere relative to the operand; use byte granularity.
    let ea = i.ea(cpu, i);
    if (i.imm2 === 1) {
      bit = off;
    } else {
      const signedOff = size === 8 ? offH * 4294967296 + (off >>> 0) : size === 4 ? off : off;
      const unit = Math.floor(signedOff / bits);
      ea += unit * size;
      bit = signedOff - unit * bits;
    }
    const byteAddr = ea + (bit >>> 3);
    const b = cpu.rd8(byteAddr);
    const mask = 1 << (bit & 7);
    const cf = (b & mask) !== 0 ? CF : 0;
    cpu.setFlagBits(cf, CF);
    if (i.sub !== 0) {
      const nb = i.sub === 1 ? b | mask : i.sub === 2 ? b & ~mask : b ^ mask;
      cpu.wr8(byteAddr, nb);
    }
    return;
  }
  bit = (i.imm2 === 1 ? off : off) & (bits - 1);
  let lo = cpu.R[i.rm]!;
  let hi = cpu.H[i.rm]!;
  const inHi = bit >= 32;
  const m = 1 << (bit & 31);
  const cur = ((inHi ? hi : lo) & m) !== 0;
  cpu.setFlagBits(cur ? CF : 0, CF);
  if (i.sub === 0) return;
  const apply = (v: number) => (i.sub === 1 ? v | m : i.sub === 2 ? v & ~m : v ^ m);
  if (inHi) hi = apply(hi);
  else lo = apply(lo);
  writeReg(cpu, size, i.rm, false, size === 2 ? lo & 0xffff : lo, hi);
}

/** BSF (sub 0) and BSR (sub 1): ZF = source was zero (destination then unchanged). */
export function bsfBsr(cpu: Cpu, i: Instr): void {
  const lo = readE(cpu, i);
  const hi = i.osize === 8 ? cpu.hi : 0;
  const v = i.osize === 2 ? lo & 0xffff : lo;
  if (v === 0 && hi === 0) {
    cpu.setFlagBits(ZF, ZF);
    return;
  }
  let r: number;
  if (i.sub === 0) r = v !== 0 ? 31 - Math.clz32(v & -v) : 32 + 31 - Math.clz32(hi & -hi);
  else r = hi !== 0 ? 63 - Math.clz32(hi) : 31 - Math.clz32(v);
  cpu.setFlagBits(0, ZF);
  writeReg(cpu, i.osize, i.reg, false, r, 0);
}

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** POPCNT (F3 0F B8): ZF = source was zero, other flags cleared. */
export function popcnt(cpu: Cpu, i: Instr): void {
  const lo = readE(cpu, i);
  const hi = i.osize === 8 ? cpu.hi : 0;
  const n = popcount32(i.osize === 2 ? lo & 0xffff : lo) + popcount32(hi);
  cpu.setFlagBits(n === 0 ? ZF : 0, 0x8d5);
  writeReg(cpu, i.osize, i.reg, false, n, 0);
}
