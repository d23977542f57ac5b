/**
 * MUL, IMUL (one-, two- and three-operand forms), DIV, IDIV. Products are
 * built from 16-bit limbs so every partial product is exact in a double;
 * 128/64-bit division uses BigInt (division is rare and slow on hardware
 * too), with a double fast path when the dividend fits in 53 bits.
 */
import type { Cpu } from './cpu.js';
import { CF, OF } from './flags.js';
import { CpuFault, Vec } from './fault.js';
import type { Instr } from './instr.js';
import { readE, writeReg } from './ops-alu.js';

/** Unsigned 32x32 -> 64: returns the low half, high half in `out.hi`. */
const out = { hi: 0 };
export function mul32u(a: number, b: number): number {
  a >>>= 0;
  b >>>= 0;
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  out.hi = (p11 + Math.floor(p01 / 65536) + Math.floor(p10 / 65536) + Math.floor(mid / 65536)) | 0;
  return ((mid & 0xffff) << 16) | (p00 & 0xffff);
}

/**
 * The 128-bit product of the last mul64u/mul64s, four int32 words, least
 * significant first (a shared buffer: no allocation per 64-bit multiply).
 */
export const product = new Int32Array(4);

/** Unsigned 64x64 -> 128 bits into `product`. */
export function mul64u(aL: number, aH: number, bL: number, bH: number): Int32Array {
  const ll = mul32u(aL, bL);
  const llH = out.hi;
  const lh = mul32u(aL, bH);
  const lhH = out.hi;
  const hl = mul32u(aH, bL);
  const hlH = out.hi;
  const hh = mul32u(aH, bH);
  const hhH = out.hi;
  // Column sums with carries (each term < 2^32; sums stay exact in doubles).
  const c1 = (llH >>> 0) + (lh >>> 0) + (hl >>> 0);
  const c2 = (lhH >>> 0) + (hlH >>> 0) + (hh >>> 0) + Math.floor(c1 / 4294967296);
  const c3 = (hhH >>> 0) + Math.floor(c2 / 4294967296);
  product[0] = ll;
  product[1] = c1 | 0;
  product[2] = c2 | 0;
  product[3] = c3 | 0;
  return product;
}

/** Signed 64x64 -> 128 (two's complement) into `product`, from the unsigned product. */
export function mul64s(aL: number, aH: number, bL: number, bH: number): Int32Array {
  const w = mul64u(aL, aH, bL, bH);
  // high -= (a < 0 ? b : 0) + (b < 0 ? a : 0), modulo 2^64.
  let h0 = w[2]! >>> 0;
  let h1 = w[3]! >>> 0;
  if (aH < 0) {
    const s = h0 - (bL >>> 0);
    h0 = s < 0 ? s + 4294967296 : s;
    h1 = (h1 - (bH >>> 0) - (s < 0 ? 1 : 0) + 4294967296 * 2) % 4294967296;
  }
  if (bH < 0) {
    const s = h0 - (aL >>> 0);
    h0 = s < 0 ? s + 4294967296 : s;
    h1 = (h1 - (aH >>> 0) - (s < 0 ? 1 : 0) + 4294967296 * 2) % 4294967296;
  }
  w[2] = h0 | 0;
  w[3] = h1 | 0;
  return w;
}

function setMulFlags(cpu: Cpu, size: number, lo: number, overflow: boolean): void {
  const f = overflow ? CF | OF : 0;
  cpu.setResult(size, size === 1 ? lo & 0xff : size === 2 ? lo & 0xffff : lo, 0, f);
}

/** F6/F7 /4 MUL and /5 IMUL: one-operand forms into AX, DX:AX, EDX:EAX, RDX:RAX. */
export function mulOne(cpu: Cpu, i: Instr): void {
  const signed = i.ext === 5;
  const size = i.osize;
  const b = readE(cpu, i);
  const bH = cpu.hi;
  const R = cpu.R;
  switch (size) {
    case 1: {
      const a = R[0]! & 0xff;
      const p = signed ? ((a << 24) >> 24) * ((b << 24) >> 24) : a * b;
      cpu.set16(0, p);
      setMulFlags(cpu, 1, p, signed ? p !== ((p << 24) >> 24) : (p & 0xff00) !== 0);
      return;
    }
    case 2: {
      const a = R[0]! & 0xffff;
      const p = signed ? ((a << 16) >> 16) * ((b << 16) >> 16) : a * b;
      cpu.set16(0, p);
      cpu.set16(2, p >> 16);
      setMulFlags(cpu, 2, p, signed ? p !== ((p << 16) >> 16) : (p >>> 16) !== 0);
      return;
    }
    case 4: {
      const a = R[0]!;
      let lo = mul32u(a, b);
      let hi = out.hi;
      if (signed) {
        if (a < 0) hi = (hi - b) | 0;
        if (b < 0) hi = (hi - a) | 0;
      }
      lo |= 0;
      cpu.set32(0, lo);
      cpu.set32(2, hi);
      setMulFlags(cpu, 4, lo, signed ? hi !== lo >> 31 : hi !== 0);
      return;
    }
    default: {
      const w = signed ? mul64s(R[0]!, cpu.H[0]!, b, bH) : mul64u(R[0]!, cpu.H[0]!, b, bH);
      R[0] = w[0]!;
      cpu.H[0] = w[1]!;
      R[2] = w[2]!;
      cpu.H[2] = w[3]!;
      const ext = w[1]! >> 31;
      setMulFlags(cpu, 8, w[0]!, signed ? w[2] !== ext || w[3] !== ext : (w[2]! | w[3]!) !== 0);
      cpu.fResH = w[1]!;
    }
  }
}

/** IMUL G, E (0F AF), IMUL G, E, imm (69, 6B): truncated signed product. */
export function imulTwo(cpu: Cpu, i: Instr): void {
  const size = i.osize;
  const a = readE(cpu, i);
  const aH = cpu.hi;
  // Two-operand form multiplies by G; three-operand forms by the immediate.
  const threeOp = i.op === 0x69 || i.op === 0x6b;
  const b = threeOp ? i.imm : size === 8 ? cpu.R[i.reg]! : size === 2 ? cpu.R[i.reg]! & 0xffff : cpu.R[i.reg]!;
  const bH = threeOp ? i.immHi : cpu.H[i.reg]!;
  switch (size) {
    case 2: {
      const p = ((a << 16) >> 16) * ((b << 16) >> 16);
      cpu.set16(i.reg, p);
      setMulFlags(cpu, 2, p, p !== ((p << 16) >> 16));
      return;
    }
    case 4: {
      const lo = Math.imul(a, b);
      let hi = (mul32u(a, b), out.hi);
      if (a < 0) hi = (hi - b) | 0;
      if (b < 0) hi = (hi - a) | 0;
      cpu.set32(i.reg, lo);
      setMulFlags(cpu, 4, lo, hi !== lo >> 31);
      return;
    }
    default: {
      const w = mul64s(a, aH, b, bH);
      cpu.R[i.reg] = w[0]!;
      cpu.H[i.reg] = w[1]!;
      const ext = w[1]! >> 31;
      setMulFlags(cpu, 8, w[0]!, w[2] !== ext || w[3] !== ext);
      cpu.fResH = w[1]!;
    }
  }
}

function divideError(): CpuFault {
  return new CpuFault(Vec.DE);
}

/** F6/F7 /6 DIV and /7 IDIV. */
export function divOne(cpu: Cpu, i: Instr): void {
  const signed = i.ext === 7;
  const size = i.osize;
  const d = readE(cpu, i);
  const dH = cpu.hi;
  const R = cpu.R;
  switch (size) {
    case 1: {
      const n = R[0]! & 0xffff;
      const dv = signed ? (d << 24) >> 24 : d & 0xff;
      if (dv === 0) throw divideError();
      const nn = signed ? (n << 16) >> 16 : n;
      const q = Math.trunc(nn / dv);
      const r = nn - q * dv;
      if (signed ? q < -128 || q > 127 : q > 255) throw divideError();
      cpu.set16(0, (q & 0xff) | ((r & 0xff) << 8));
      return;
    }
    case 2: {
      const n = ((R[2]! & 0xffff) << 16) | (R[0]! & 0xffff);
      const dv = signed ? (d << 16) >> 16 : d & 0xffff;
      if (dv === 0) throw divideError();
      const nn = signed ? n : n >>> 0;
      const q = Math.trunc(nn / dv);
      const r = nn - q * dv;
      if (signed ? q < -32768 || q > 32767 : q > 0xffff) throw divideError();
      cpu.set16(0, q);
      cpu.set16(2, r);
      return;
    }
    case 4: {
      const dv = signed ? d : d >>> 0;
      if (dv === 0) throw divideError();
      const hi = R[2]!;
      const lo = R[0]!;
      let q: number;
      let r: number;
      if (!signed && hi === 0) {
        q = Math.floor((lo >>> 0) / dv);
        r = (lo >>> 0) - q * dv;
      } else {
        const n = signed ? (BigInt(hi) << 32n) | BigInt(lo >>> 0) : (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
        const bq = n / BigInt(dv);
        const br = n % BigInt(dv);
        if (signed ? bq < -0x80000000n || bq > 0x7fffffffn : bq > 0xffffffffn) throw divideError();
        q = Number(bq);
        r = Number(br);
      }
      cpu.set32(0, q | 0);
      cpu.set32(2, r | 0);
      return;
    }
    default: {
      if ((d | dH) === 0) throw divideError();
      const nHi = (BigInt(cpu.H[2]! >>> 0) << 32n) | BigInt(R[2]! >>> 0);
      const nLo = (BigInt(cpu.H[0]! >>> 0) << 32n) | BigInt(R[0]! >>> 0);
      let n = (nHi << 64n) | nLo;
      let dv = (BigInt(dH >>> 0) << 32n) | BigInt(d >>> 0);
      if (signed) {
        n = BigInt.asIntN(128, n);
        dv = BigInt.asIntN(64, dv);
      }
      const q = n / dv;
      const r = n % dv;
      if (signed ? q < -(1n << 63n) || q >= 1n << 63n : q >= 1n << 64n) throw divideError();
      const qu = BigInt.asUintN(64, q);
      const ru = BigInt.asUintN(64, r);
      R[0] = Number(qu & 0xffffffffn) | 0;
      cpu.H[0] = Number(qu >> 32n) | 0;
      R[2] = Number(ru & 0xffffffffn) | 0;
      cpu.H[2] = Number(ru >> 32n) | 0;
    }
  }
}

/** Writes a 64-bit value into register `r` (helper for callers of mul64u). */
export function setReg64Parts(cpu: Cpu, r: number, lo: number, hi: number): void {
  writeReg(cpu, 8, r, false, lo, hi);
}
