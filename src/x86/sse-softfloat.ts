/**
 * Exact IEEE arithmetic on BigInt significands: the slow path of the
 * rounding core for results near the edges of the exponent range
 * (overflow, underflow, denormals, flush-to-zero), where the error-free
 * transformations of sse-round.ts stop being exact. Also the reference the
 * fast paths are tested against. Never reached for ordinary operands.
 */
import { OE, PE, RD, RN, RU, UE } from './sse-bits.js';

/** Rounding context of the instruction being executed. */
export class FpCtx {
  /** Rounding mode (RN, RD, RU, RZ). */
  mode = RN;
  /** Flush tiny results to zero (MXCSR.FTZ with underflow masked). */
  ftz = false;
  /** Treat denormal operands as zero (MXCSR.DAZ). */
  daz = false;
  /** Underflow is unmasked: then tininess alone raises UE, exact or not. */
  ueTrap = false;
  /** Exception flags raised so far (IE..PE bits). */
  exc = 0;
  /** The last rounding increased the magnitude (x87 C1). */
  up = false;
}

/** The one context all FP handlers share (instructions run one at a time). */
export const ctx = new FpCtx();

/** Operation codes of arith(). */
export const OP_ADD = 0;
export const OP_SUB = 1;
export const OP_MUL = 2;
export const OP_DIV = 3;
export const OP_SQRT = 4;

const dv = new DataView(new ArrayBuffer(8));

/** A finite nonzero double as sign, integer significand and exponent (value = m * 2^e). */
interface Parts {
  neg: boolean;
  m: bigint;
  e: number;
}

function parts(v: number): Parts {
  dv.setFloat64(0, v);
  const hi = dv.getUint32(0);
  const lo = dv.getUint32(4);
  const ex = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (ex === 0) return { neg: hi >>> 31 === 1, m: frac, e: -1074 };
  return { neg: hi >>> 31 === 1, m: frac | (1n << 52n), e: ex - 1075 };
}

function bitLen(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** Rounds N (plus a sticky fraction below it) right by s bits; returns [M, inexact]. */
function shiftRound(N: bigint, s: number, sticky: boolean, neg: boolean): [bigint, boolean] {
  const mode = ctx.mode;
  if (s <= 0) {
    const M = N << BigInt(-s);
    if (!sticky) return [M, false];
    const inc = (mode === RU && !neg) || (mode === RD && neg);
    return [inc ? M + 1n : M, true];
  }
  const bs = BigInt(s);
  const M = N >> bs;
  const rem = N - (M << bs);
  const inexact = rem !== 0n || sticky;
  if (!inexact) return [M, false];
  let inc: boolean;
  if (mode === RN) {
    const half = 1n << (bs - 1n);
    inc = rem > half || (rem === half && (sticky || (M & 1n) === 1n));
  } else inc = (mode === RU && !neg) || (mode === RD && neg);
  return [inc ? M + 1n : M, true];
}

/**
 * Rounds (N + sticky) * 2^E with sign `neg` to single or double precision
 * per ctx: overflow, tininess after rounding (as x86 detects it),
 * flush-to-zero, and the PE/UE/OE flags.
 */
export function roundBig(neg: boolean, N: bigint, E: number, sticky: boolean, single: boolean): number {
  if (N === 0n && !sticky) {
    ctx.up = false;
    return neg ? -0 : 0;
  }
  const p = single ? 24 : 53;
  const emin = single ? -126 : -1022;
  const emax = single ? 127 : 1023;
  const nb = bitLen(N);
  const msb = nb - 1 + E;
  let tiny = false;
  if (msb < emin) {
    const [Mu] = shiftRound(N, nb - p, sticky, neg);
    const msbU = bitLen(Mu) - 1 + E + (nb - p);
    tiny = msbU < emin;
  }
  const lsb = Math.max(msb - p + 1, emin - p + 1);
  const [M, inexact] = shiftRound(N, lsb - E, sticky, neg);
  let res: number;
  let up: boolean;
  if (M !== 0n && bitLen(M) - 1 + lsb > emax) {
    ctx.exc |= OE | PE;
    const toInf = ctx.mode === RN || (ctx.mode === RU && !neg) || (ctx.mode === RD && neg);
    res = toInf ? Infinity : single ? 3.4028234663852886e38 : Number.MAX_VALUE;
    up = toInf;
  } else {
    res = Number(M) * 2 ** lsb;
    // Magnitude grew when the kept significand exceeds the exact one.
    up = inexact && M << BigInt(Math.max(0, lsb - E)) > N << BigInt(Math.max(0, E - lsb));
  }
  if (tiny) {
    if (ctx.ftz) {
      res = 0;
      up = false;
      ctx.exc |= UE | PE;
    } else if (inexact || ctx.ueTrap) ctx.exc |= UE;
  }
  if (inexact) ctx.exc |= PE;
  ctx.up = up;
  return neg ? -res : res;
}

/** Exact a op b (finite, nonzero where the operation needs it), rounded by roundBig. */
export function slowArith(op: number, a: number, b: number, single: boolean): number {
  switch (op) {
    case OP_ADD:
    case OP_SUB: {
      if (op === OP_SUB) b = -b;
      if (a === 0) return roundBig(b < 0, parts(b).m, parts(b).e, false, single);
      if (b === 0) return roundBig(a < 0, parts(a).m, parts(a).e, false, single);
      const pa = parts(a);
      const pb = parts(b);
      const e = Math.min(pa.e, pb.e);
      const A = (pa.neg ? -pa.m : pa.m) << BigInt(pa.e - e);
      const B = (pb.neg ? -pb.m : pb.m) << BigInt(pb.e - e);
      const S = A + B;
      if (S === 0n) {
        ctx.up = false;
        return ctx.mode === RD ? -0 : 0;
      }
      return roundBig(S < 0n, S < 0n ? -S : S, e, false, single);
    }
    case OP_MUL: {
      const pa = parts(a);
      const pb = parts(b);
      return roundBig(pa.neg !== pb.neg, pa.m * pb.m, pa.e + pb.e, false, single);
    }
    case OP_DIV: {
      const pa = parts(a);
      const pb = parts(b);
      const K = Math.max(0, 60 + bitLen(pb.m) - bitLen(pa.m));
      const num = pa.m << BigInt(K);
      const q = num / pb.m;
      return roundBig(pa.neg !== pb.neg, q, pa.e - pb.e - K, q * pb.m !== num, single);
    }
    default: {
      const pa = parts(a);
      let m = pa.m;
      let e = pa.e;
      if ((e & 1) !== 0) {
        m <<= 1n;
        e -= 1;
      }
      const K = Math.max(0, Math.ceil((120 - bitLen(m)) / 2));
      m <<= BigInt(2 * K);
      const s = isqrt(m);
      return roundBig(false, s, (e - 2 * K) / 2, s * s !== m, single);
    }
  }
}

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitLen(n) / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** Rounds a finite double to single precision per ctx (the slow path of toSingle). */
export function slowToSingle(v: number): number {
  if (v === 0) return v;
  const p = parts(v);
  return roundBig(p.neg, p.m, p.e, false, true);
}

/** Rounds the 64-bit integer (hi:lo, unsigned magnitude when !signed) to single or double per ctx. */
export function slowFromInt64(lo: number, hi: number, signed: boolean, single: boolean): number {
  let v = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  let neg = false;
  if (signed && hi < 0) {
    v = (1n << 64n) - v;
    neg = true;
  }
  return roundBig(neg, v, 0, false, single);
}
