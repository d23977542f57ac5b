/**
 * Shifts and rotates (group 2: ROL ROR RCL RCR SHL SHR SAL SAR), SHLD and
 * SHRD. OF after a multi-bit shift is architecturally undefined; it is
 * computed with the single-bit formula, as QEMU does.
 */
import type { Cpu } from './cpu.js';
import { CF, OF } from './flags.js';
import type { Instr } from './instr.js';
import { readE, writeE } from './ops-alu.js';

/** Reads the shift count: sub 0 = 1, sub 1 = CL, sub 2 = imm8. */
function count(cpu: Cpu, i: Instr): number {
  const c = i.sub === 0 ? 1 : i.sub === 1 ? cpu.R[1]! & 0xff : i.imm & 0xff;
  return c & (i.osize === 8 ? 0x3f : 0x1f);
}

/** Group 2 on E; i.ext selects the operation. */
export function shiftGroup(cpu: Cpu, i: Instr): void {
  const c = count(cpu, i);
  const ea = i.mem ? i.ea(cpu, i) : 0;
  // Read even for a zero count: a faulting address faults regardless.
  const a = i.mem ? readMem(cpu, i.osize, ea) : readE(cpu, i);
  const aH = cpu.hi;
  if (c === 0) {
    // Flags stay, but a 32-bit register destination is still written: its high half clears.
    if (!i.mem && i.osize === 4) cpu.H[i.rm] = 0;
    return;
  }
  const size = i.osize;
  let r: number;
  if (size === 8) r = shift64(cpu, i.ext, a, aH, c);
  else r = shift32(cpu, i.ext, size, a, c);
  writeE(cpu, i, ea, r, cpu.hi);
}

function readMem(cpu: Cpu, size: number, ea: number): number {
  switch (size) {
    case 1: return cpu.rd8(ea);
    case 2: return cpu.rd16(ea);
    case 4: return cpu.rd32(ea);
    default: return cpu.rd64(ea);
  }
}

function msb(size: number, v: number): number {
  return (v >>> (size * 8 - 1)) & 1;
}

/** Shift/rotate for 8, 16 and 32-bit values; count 1..31. */
function shift32(cpu: Cpu, op: number, size: number, a: number, c: number): number {
  const bits = size * 8;
  const mask = size === 4 ? -1 : (1 << bits) - 1;
  a &= mask;
  let r: number;
  let cf: number;
  switch (op) {
    case 0: { // ROL
      const n = c % bits;
      r = n === 0 ? a : ((a << n) | (a >>> (bits - n))) & mask;
      cf = r & 1;
      setRot(cpu, cf, msb(size, r) ^ cf);
      return size === 4 ? r | 0 : r;
    }
    case 1: { // ROR
      const n = c % bits;
      r = n === 0 ? a : ((a >>> n) | (a << (bits - n))) & mask;
      cf = msb(size, r);
      setRot(cpu, cf, cf ^ ((r >>> (bits - 2)) & 1));
      return size === 4 ? r | 0 : r;
    }
    case 2: case 3: { // RCL, RCR: rotate through CF, one bit at a time
      const n = c % (bits + 1);
      cf = cpu.getCF();
      r = a >>> 0;
      for (let k = 0; k < n; k++) {
        if (op === 2) {
          const out = msb(size, r);
          r = ((r << 1) | cf) & mask;
          cf = out;
        } else {
          const out = r & 1;
          r = ((r >>> 1) | (cf << (bits - 1))) & mask;
          cf = out;
        }
      }
      const of = op === 2 ? msb(size, r) ^ cf : msb(size, r) ^ ((r >>> (bits - 2)) & 1);
      setRot(cpu, cf, of);
      return size === 4 ? r | 0 : r;
    }
    case 4: case 6: // SHL/SAL
      r = c < 32 ? (a << c) & mask : 0;
      cf = c <= bits ? (a >>> (bits - c)) & 1 : 0;
      cpu.setResult(size, size === 4 ? r | 0 : r, 0, cf | ((msb(size, r) ^ cf) !== 0 ? OF : 0));
      return size === 4 ? r | 0 : r;
    case 5: // SHR
      r = a >>> c;
      cf = (a >>> (c - 1)) & 1;
      cpu.setResult(size, size === 4 ? r | 0 : r, 0, cf | (msb(size, a) !== 0 && c === 1 ? OF : 0));
      return size === 4 ? r | 0 : r;
    default: { // SAR
      const s = size === 4 ? a | 0 : size === 2 ? (a << 16) >> 16 : (a << 24) >> 24;
      r = (s >> c) & mask;
      cf = (s >> (c - 1)) & 1;
      cpu.setResult(size, size === 4 ? r | 0 : r, 0, cf);
      return size === 4 ? r | 0 : r;
    }
  }
}

function setRot(cpu: Cpu, cf: number, of: number): void {
  cpu.setFlagBits((cf ? CF : 0) | (of ? OF : 0), CF | OF);
}

/** Shift/rotate for 64-bit values; count 1..63. Returns low, high in cpu.hi. */
function shift64(cpu: Cpu, op: number, aL: number, aH: number, c: number): number {
  let rL: number;
  let rH: number;
  let cf: number;
  switch (op) {
    case 0: case 1: { // ROL / ROR
      const n = op === 0 ? c : 64 - c;
      rL = shl64(aL, aH, n);
      rH = resHi;
      rL |= shr64(aL, aH, 64 - n);
      rH |= resHi;
      if (op === 0) {
        cf = rL & 1;
        setRot(cpu, cf, ((rH >>> 31) & 1) ^ cf);
      } else {
        cf = (rH >>> 31) & 1;
        setRot(cpu, cf, cf ^ ((rH >>> 30) & 1));
      }
      break;
    }
    case 2: case 3: {
      cf = cpu.getCF();
      rL = aL;
      rH = aH;
      for (let k = 0; k < c; k++) {
        if (op === 2) {
          const out = (rH >>> 31) & 1;
          rH = (rH << 1) | (rL >>> 31);
          rL = (rL << 1) | cf;
          cf = out;
        } else {
          const out = rL & 1;
          rL = (rL >>> 1) | (rH << 31);
          rH = (rH >>> 1) | (cf << 31);
          cf = out;
        }
      }
      const top = (rH >>> 31) & 1;
      setRot(cpu, cf, op === 2 ? top ^ cf : top ^ ((rH >>> 30) & 1));
      break;
    }
    case 4: case 6:
      rL = shl64(aL, aH, c);
      rH = resHi;
      cf = bit64(aL, aH, 64 - c);
      cpu.setResult(8, rL, rH, cf | ((((rH >>> 31) & 1) ^ cf) !== 0 ? OF : 0));
      break;
    case 5:
      rL = shr64(aL, aH, c);
      rH = resHi;
      cf = bit64(aL, aH, c - 1);
      cpu.setResult(8, rL, rH, cf | (aH < 0 && c === 1 ? OF : 0));
      break;
    default:
      rL = sar64(aL, aH, c);
      rH = resHi;
      cf = bit64(aL, aH, c - 1);
      cpu.setResult(8, rL, rH, cf);
      break;
  }
  cpu.hi = rH | 0;
  return rL | 0;
}

function bit64(lo: number, hi: number, n: number): number {
  return n < 32 ? (lo >>> n) & 1 : (hi >>> (n - 32)) & 1;
}

// 64-bit shift results: low half returned, high half left here (no tuple
// allocation per shift: these run on every 64-bit SHL/SHR/SAR/ROL/ROR).
let resHi = 0;

/** 64-bit logical shift left by 0..64; returns the low half, high in `shiftHi()`. */
export function shl64(lo: number, hi: number, n: number): number {
  if (n === 0) { resHi = hi; return lo; }
  if (n >= 64) { resHi = 0; return 0; }
  if (n >= 32) { resHi = lo << (n - 32); return 0; }
  resHi = (hi << n) | (lo >>> (32 - n));
  return lo << n;
}

/** 64-bit logical shift right by 0..64; returns the low half, high in `shiftHi()`. */
export function shr64(lo: number, hi: number, n: number): number {
  if (n === 0) { resHi = hi; return lo; }
  if (n >= 64) { resHi = 0; return 0; }
  if (n >= 32) { resHi = 0; return hi >>> (n - 32); }
  resHi = hi >>> n;
  return (lo >>> n) | (hi << (32 - n));
}

/** 64-bit arithmetic shift right by 0..63; returns the low half, high in `shiftHi()`. */
export function sar64(lo: number, hi: number, n: number): number {
  if (n === 0) { resHi = hi; return lo; }
  if (n >= 32) { resHi = hi >> 31; return hi >> (n - 32); }
  resHi = hi >> n;
  return (lo >>> n) | (hi << (32 - n));
}

/** The high half of the last shl64/shr64/sar64 result. */
export function shiftHi(): number {
  return resHi;
}

/** SHLD/SHRD E, G, count (sub 1 = CL, 2 = imm8); i.ext unused, i.op selects direction. */
export function shiftDouble(cpu: Cpu, i: Instr): void {
  const size = i.osize;
  const c = (i.sub === 1 ? cpu.R[1]! : i.imm) & (size === 8 ? 63 : 31);
  const ea = i.mem ? i.ea(cpu, i) : 0;
  const a = i.mem ? readMem(cpu, size, ea) : readE(cpu, i);
  const aH = size === 8 ? cpu.hi : 0;
  if (c === 0) {
    if (!i.mem && size === 4) cpu.H[i.rm] = 0; // as for group 2: the 32-bit write still zero-extends
    return;
  }
  const left = i.op === 0x1a4 || i.op === 0x1a5;
  const bits = BigInt(size * 8);
  const mask = (1n << bits) - 1n;
  const dst = size === 8 ? (BigInt(aH >>> 0) << 32n) | BigInt(a >>> 0) : BigInt(a >>> 0) & mask;
  const src = size === 8 ? (BigInt(cpu.H[i.reg]! >>> 0) << 32n) | BigInt(cpu.R[i.reg]! >>> 0) : BigInt(cpu.R[i.reg]! >>> 0) & mask;
  const n = BigInt(c);
  let r: bigint;
  let cf: number;
  if (left) {
    // 16-bit counts above 16 are undefined; compute over the concatenation as hardware tends to.
    const wide = (dst << bits) | src;
    r = ((wide << n) >> bits) & mask;
    cf = Number((dst >> (bits - n)) & 1n);
  } else {
    const wide = (src << bits) | dst;
    r = (wide >> n) & mask;
    cf = Number((dst >> (n - 1n)) & 1n);
  }
  const top = Number((r >> (bits - 1n)) & 1n);
  const dtop = Number((dst >> (bits - 1n)) & 1n);
  const rL = Number(r & 0xffffffffn) | 0;
  const rH = size === 8 ? Number(r >> 32n) | 0 : 0;
  const small = size === 1 ? rL & 0xff : size === 2 ? rL & 0xffff : rL;
  cpu.setResult(size, small, rH, cf | (top !== dtop ? OF : 0));
  writeE(cpu, i, ea, small, rH);
}
