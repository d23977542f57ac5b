/**
 * SIMD integer operations that work lane by lane (MMX and SSE2 share them):
 * add/subtract with wrap-around and saturation, compares, logic, min/max,
 * averages, multiplies, PSADBW and the shifts. Each takes byte offsets in
 * the FpuState buffer (destination d, source s) and the width n (8 for
 * MMX, 16 for XMM); d may equal s.
 */
import type { FpuState } from './fpu-state.js';
import type { Instr } from './instr.js';
import type { LaneOp } from './mmx.js';

const sat8 = (v: number): number => (v > 127 ? 127 : v < -128 ? -128 : v);
const satU8 = (v: number): number => (v > 255 ? 255 : v < 0 ? 0 : v);
const sat16 = (v: number): number => (v > 32767 ? 32767 : v < -32768 ? -32768 : v);
const satU16 = (v: number): number => (v > 65535 ? 65535 : v < 0 ? 0 : v);

/** Builds a byte-lane operation from a function of two unsigned (u) or signed bytes. */
function bytes(signed: boolean, f: (a: number, b: number) => number): LaneOp {
  return (fp, d, s, n) => {
    const v = signed ? fp.i8 : fp.u8;
    for (let k = 0; k < n; k++) fp.u8[d + k] = f(v[d + k]!, v[s + k]!);
  };
}

/** Builds a word-lane operation. */
function words(signed: boolean, f: (a: number, b: number) => number): LaneOp {
  return (fp, d, s, n) => {
    const v = signed ? fp.i16 : fp.u16;
    const dd = d >> 1;
    const ss = s >> 1;
    for (let k = 0; k < n >> 1; k++) fp.u16[dd + k] = f(v[dd + k]!, v[ss + k]!);
  };
}

/** Builds a doubleword-lane operation (int32 lanes). */
function dwords(f: (a: number, b: number) => number): LaneOp {
  return (fp, d, s, n) => {
    const v = fp.i32;
    const dd = d >> 2;
    const ss = s >> 2;
    for (let k = 0; k < n >> 2; k++) v[dd + k] = f(v[dd + k]!, v[ss + k]!);
  };
}

/** The lane-wise integer operations, by mnemonic. */
export const INT_OPS = {
  paddb: bytes(false, (a, b) => a + b),
  paddw: words(false, (a, b) => a + b),
  paddd: dwords((a, b) => (a + b) | 0),
  paddq: ((fp, d, s, n) => {
    const v = fp.i32;
    for (let k = d >> 2, j = s >> 2; k < (d + n) >> 2; k += 2, j += 2) {
      const lo = (v[k]! >>> 0) + (v[j]! >>> 0);
      v[k + 1] = (v[k + 1]! + v[j + 1]! + (lo > 0xffffffff ? 1 : 0)) | 0;
      v[k] = lo | 0;
    }
  }) as LaneOp,
  psubb: bytes(false, (a, b) => a - b),
  psubw: words(false, (a, b) => a - b),
  psubd: dwords((a, b) => (a - b) | 0),
  psubq: ((fp, d, s, n) => {
    const v = fp.i32;
    for (let k = d >> 2, j = s >> 2; k < (d + n) >> 2; k += 2, j += 2) {
      const lo = (v[k]! >>> 0) - (v[j]! >>> 0);
      v[k + 1] = (v[k + 1]! - v[j + 1]! - (lo < 0 ? 1 : 0)) | 0;
      v[k] = lo | 0;
    }
  }) as LaneOp,
  paddsb: bytes(true, (a, b) => sat8(a + b)),
  paddsw: words(true, (a, b) => sat16(a + b)),
  paddusb: bytes(false, (a, b) => satU8(a + b)),
  paddusw: words(false, (a, b) => satU16(a + b)),
  psubsb: bytes(true, (a, b) => sat8(a - b)),
  psubsw: words(true, (a, b) => sat16(a - b)),
  psubusb: bytes(false, (a, b) => satU8(a - b)),
  psubusw: words(false, (a, b) => satU16(a - b)),
  pcmpeqb: bytes(false, (a, b) => (a === b ? 0xff : 0)),
  pcmpeqw: words(false, (a, b) => (a === b ? 0xffff : 0)),
  pcmpeqd: dwords((a, b) => (a === b ? -1 : 0)),
  pcmpgtb: bytes(true, (a, b) => (a > b ? 0xff : 0)),
  pcmpgtw: words(true, (a, b) => (a > b ? 0xffff : 0)),
  pcmpgtd: dwords((a, b) => (a > b ? -1 : 0)),
  pand: dwords((a, b) => a & b),
  pandn: dwords((a, b) => ~a & b),
  por: dwords((a, b) => a | b),
  pxor: dwords((a, b) => a ^ b),
  pminub: bytes(false, (a, b) => (a < b ? a : b)),
  pmaxub: bytes(false, (a, b) => (a > b ? a : b)),
  pminsw: words(true, (a, b) => (a < b ? a : b)),
  pmaxsw: words(true, (a, b) => (a > b ? a : b)),
  pavgb: bytes(false, (a, b) => (a + b + 1) >> 1),
  pavgw: words(false, (a, b) => (a + b + 1) >> 1),
  pmullw: words(false, (a, b) => Math.imul(a, b)),
  pmulhw: words(true, (a, b) => (a * b) >> 16),
  pmulhuw: words(false, (a, b) => (a * b) >>> 16),
  pmuludq: ((fp, d, s, n) => {
    const v = fp.i32;
    for (let k = d >> 2, j = s >> 2; k < (d + n) >> 2; k += 2, j += 2) {
      mul32(v[k]!, v[j]!);
      v[k] = mulLo;
      v[k + 1] = mulHi;
    }
  }) as LaneOp,
  pmaddwd: ((fp, d, s, n) => {
    const w = fp.i16;
    const v = fp.i32;
    for (let k = d >> 2, j = s >> 1; k < (d + n) >> 2; k++, j += 2) {
      const dw = k * 2;
      v[k] = (w[dw]! * w[j]! + w[dw + 1]! * w[j + 1]!) | 0;
    }
  }) as LaneOp,
  psadbw: ((fp, d, s, n) => {
    const b = fp.u8;
    for (let q = 0; q < n; q += 8) {
      let sum = 0;
      for (let k = 0; k < 8; k++) sum += Math.abs(b[d + q + k]! - b[s + q + k]!);
      const x = (d + q) >> 2;
      fp.i32[x] = sum;
      fp.i32[x + 1] = 0;
    }
  }) as LaneOp,
} satisfies Record<string, LaneOp>;

let mulLo = 0;
let mulHi = 0;

// Unsigned 32 x 32 -> 64-bit product in 16-bit pieces (exact without BigInt).
function mul32(a: number, b: number): void {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  mulLo = (p00 & 0xffff) | (mid << 16);
  mulHi = (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

// ---- shifts -----------------------------------------------------------------------

/**
 * Shifts each lane of d by `count` (already reduced to 0..64 where larger
 * counts saturate): kind 0 = logical right, 1 = arithmetic right, 2 = left;
 * lane = 2, 4 or 8 bytes.
 */
export function shiftLanes(fp: FpuState, d: number, n: number, lane: number, kind: number, count: number): void {
  if (lane === 2) {
    const v = fp.u16;
    const sv = fp.i16;
    for (let k = d >> 1; k < (d + n) >> 1; k++) {
      if (kind === 1) v[k] = sv[k]! >> (count > 15 ? 15 : count);
      else if (count > 15) v[k] = 0;
      else v[k] = kind === 0 ? v[k]! >>> count : v[k]! << count;
    }
  } else if (lane === 4) {
    const v = fp.i32;
    for (let k = d >> 2; k < (d + n) >> 2; k++) {
      if (kind === 1) v[k] = v[k]! >> (count > 31 ? 31 : count);
      else if (count > 31) v[k] = 0;
      else v[k] = kind === 0 ? v[k]! >>> count : v[k]! << count;
    }
  } else {
    const v = fp.i32;
    for (let k = d >> 2; k < (d + n) >> 2; k += 2) {
      const lo = v[k]!;
      const hi = v[k + 1]!;
      if (count > 63) {
        v[k] = v[k + 1] = 0;
      } else if (count >= 32) {
        v[k] = kind === 0 ? hi >>> (count - 32) : 0;
        v[k + 1] = kind === 0 ? 0 : lo << (count - 32);
      } else if (count > 0) {
        v[k] = kind === 0 ? (lo >>> count) | (hi << (32 - count)) : lo << count;
        v[k + 1] = kind === 0 ? hi >>> count : (hi << count) | (lo >>> (32 - count));
      }
    }
  }
}

/** The shift count of the register forms: the source's low 64 bits, saturated to 64. */
function shiftCount(fp: FpuState, s: number): number {
  const lo = fp.i32[s >> 2]!;
  const hi = fp.i32[(s >> 2) + 1]!;
  return hi !== 0 || lo >>> 0 > 64 ? 64 : lo;
}

/** PSRLW/PSRAW/PSLLW... by a register or memory count: i.sub = kind * 16 + lane bytes. */
export const shiftByReg: LaneOp = (fp, d, s, n, i) => {
  shiftLanes(fp, d, n, i.sub & 15, i.sub >> 4, shiftCount(fp, s));
};

/** Shift groups 0F 71/72/73 by imm8 (the register operand is `d`). */
export function shiftByImm(fp: FpuState, d: number, n: number, i: Instr): void {
  shiftLanes(fp, d, n, i.sub & 15, i.sub >> 4, i.imm & 0xff);
}

/** PSRLDQ (right = true) / PSLLDQ: byte shift of a whole XMM register. */
export function shiftBytes(fp: FpuState, d: number, count: number, right: boolean): void {
  const b = fp.u8;
  if (count > 16) count = 16;
  if (right) {
    for (let k = 0; k < 16; k++) b[d + k] = k + count < 16 ? b[d + k + count]! : 0;
  } else {
    for (let k = 15; k >= 0; k--) b[d + k] = k - count >= 0 ? b[d + k - count]! : 0;
  }
}
