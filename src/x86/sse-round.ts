/**
 * IEEE arithmetic with x86 rounding control and exception flags, on
 * non-NaN operands (callers handle NaNs, DAZ and DE). JavaScript rounds to
 * nearest only, so each operation also finds the sign of its rounding
 * error with an error-free transformation (TwoSum, Dekker's product, the
 * exact remainder of a quotient or square root); with that sign any
 * rounding mode is one step away from the round-to-nearest result.
 * Single precision rounds the double result again, which is exact for
 * + - * / sqrt (53 >= 2*24 + 2). Results near overflow or underflow go to
 * the exact BigInt path in sse-softfloat.ts.
 */
import { IE, nextDown, nextDown32, nextUp, nextUp32, PE, RD, RN, RU, ZE } from './sse-bits.js';
import { ctx, OP_ADD, OP_DIV, OP_MUL, OP_SQRT, OP_SUB, slowArith, slowFromInt64, slowToSingle } from './sse-softfloat.js';

export { ctx, OP_ADD, OP_DIV, OP_MUL, OP_SQRT, OP_SUB } from './sse-softfloat.js';

const SPLIT = 134217729; // 2^27 + 1 (Veltkamp)
const M960 = 2 ** -960;
const P995 = 2 ** 995;
const M1020 = 2 ** -1020;
const P1020 = 2 ** 1020;
const F_LO = 2 ** -125;
const F_HI = 2 ** 127;

// Low part of a*b given p = fl(a*b) (Dekker), when no intermediate under/overflows.
function prodErr(a: number, b: number, p: number): number {
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

function sgn(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : 0;
}

/** Applies the rounding mode to the nearest double r, given sign(exact - r); sets PE and ctx.up. */
function finish64(r: number, dir: number): number {
  if (dir === 0) {
    ctx.up = false;
    return r;
  }
  ctx.exc |= PE;
  // Nearest rounding grew the magnitude when the exact value lies toward zero.
  const grew = r > 0 ? dir < 0 : dir > 0;
  let moved = false;
  switch (ctx.mode) {
    case RN: break;
    case RD: if (dir < 0) { r = nextDown(r); moved = true; } break;
    case RU: if (dir > 0) { r = nextUp(r); moved = true; } break;
    default:
      if (grew) {
        r = r > 0 ? nextDown(r) : nextUp(r);
        moved = true;
      }
  }
  // Stepping one ulp past the exact value flips the relation.
  ctx.up = moved ? !grew : grew;
  return r;
}

/** Rounds the double d (the nearest double to an exact value on the dir side of it) to single; d is in the normal float range. */
function finish32(d: number, dir: number): number {
  let f = Math.fround(d);
  const dirF = f !== d ? (d > f ? 1 : -1) : dir;
  if (dirF === 0) {
    ctx.up = false;
    return f;
  }
  ctx.exc |= PE;
  const grew = f > 0 ? dirF < 0 : dirF > 0;
  let moved = false;
  switch (ctx.mode) {
    case RN: break;
    case RD: if (dirF < 0) { f = nextDown32(f); moved = true; } break;
    case RU: if (dirF > 0) { f = nextUp32(f); moved = true; } break;
    default:
      if (grew) {
        f = f > 0 ? nextDown32(f) : nextUp32(f);
        moved = true;
      }
  }
  ctx.up = moved ? !grew : grew;
  return f;
}

/**
 * a op b (b unused for OP_SQRT) rounded to single or double precision per
 * ctx, with IE/ZE/OE/UE/PE. Operands are non-NaN (and already single
 * values for single precision). An invalid operation returns NaN: the
 * caller substitutes the default NaN.
 */
export function arith(op: number, a: number, b: number, single: boolean): number {
  ctx.up = false;
  if (op === OP_SUB) {
    b = -b;
    op = OP_ADD;
  }
  switch (op) {
    case OP_ADD: {
      if (a === Infinity || a === -Infinity || b === Infinity || b === -Infinity) {
        if (a + b !== a + b) ctx.exc |= IE;
        return a + b;
      }
      if (a === 0 && b === 0) return ctx.mode === RD ? (a === 0 && 1 / a > 0 && 1 / b > 0 ? 0 : -0) : a + b;
      const s = a + b;
      if (s === 0) return ctx.mode === RD ? -0 : 0;
      const big = single ? F_HI : P1020;
      const small = single ? F_LO : M1020;
      if (a > -P1020 && a < P1020 && b > -P1020 && b < P1020 && (s > small || s < -small) && s < big && s > -big) {
        const bb = s - a;
        const e = (a - (s - bb)) + (b - bb);
        return single ? finish32(s, sgn(e)) : finish64(s, sgn(e));
      }
      return slowArith(OP_ADD, a, b, single);
    }
    case OP_MUL: {
      const az = a === 0;
      const bz = b === 0;
      const ai = a === Infinity || a === -Infinity;
      const bi = b === Infinity || b === -Infinity;
      if (ai || bi) {
        if (az || bz) {
          ctx.exc |= IE;
          return NaN;
        }
        return a * b;
      }
      if (az || bz) return a * b;
      const p = a * b;
      const ap = Math.abs(p);
      if (single) {
        // A product of two singles is exact in double.
        if (ap >= F_LO && ap <= F_HI) return finish32(p, 0);
        return slowArith(OP_MUL, a, b, true);
      }
      const aa = Math.abs(a);
      const ab = Math.abs(b);
      if (ap >= M960 && ap <= P1020 && aa >= M1020 && aa <= P995 && ab >= M1020 && ab <= P995) {
        return finish64(p, sgn(prodErr(a, b, p)));
      }
      return slowArith(OP_MUL, a, b, false);
    }
    case OP_DIV: {
      const ai = a === Infinity || a === -Infinity;
      const bi = b === Infinity || b === -Infinity;
      if (ai && bi) {
        ctx.exc |= IE;
        return NaN;
      }
      if (b === 0) {
        if (a === 0) {
          ctx.exc |= IE;
          return NaN;
        }
        if (!ai) ctx.exc |= ZE;
        return a / b;
      }
      if (ai || bi || a === 0) return a / b;
      const q = a / b;
      const aq = Math.abs(q);
      const aa = Math.abs(a);
      const ab = Math.abs(b);
      const lo = single ? F_LO : M1020;
      const hi = single ? F_HI : P995;
      if (aq >= lo && aq <= hi && aa >= M960 && aa <= P1020 && ab >= M1020 && ab <= P995) {
        const p = q * b;
        const rem = (a - p) - prodErr(q, b, p);
        const dir = sgn(rem) * sgn(b);
        return single ? finish32(q, dir) : finish64(q, dir);
      }
      return slowArith(OP_DIV, a, b, single);
    }
    default: {
      if (a < 0) {
        ctx.exc |= IE;
        return NaN;
      }
      if (a === 0 || a === Infinity) return a;
      const q = Math.sqrt(a);
      if (a >= M960 && a <= P1020) {
        const p = q * q;
        const dir = sgn((a - p) - prodErr(q, q, p));
        return single ? finish32(q, dir) : finish64(q, dir);
      }
      return slowArith(OP_SQRT, a, 0, single);
    }
  }
}

/** Rounds a double to single precision per ctx (OE/UE/PE; NaN-free input). */
export function toSingle(v: number): number {
  if (v === 0 || v === Infinity || v === -Infinity) return v;
  const a = Math.abs(v);
  if (a >= F_LO && a <= F_HI) return finish32(v, 0);
  return slowToSingle(v);
}

/** The 64-bit integer hi:lo (signed or unsigned) rounded to single or double per ctx. */
export function fromInt64(lo: number, hi: number, signed: boolean, single: boolean): number {
  // Exact in a double when the high half keeps the magnitude below 2^53.
  if (signed ? hi >= -0x200000 && hi < 0x200000 : hi >>> 0 < 0x200000) {
    const v = signed ? hi * 4294967296 + (lo >>> 0) : (hi >>> 0) * 4294967296 + (lo >>> 0);
    return single ? toSingle(v) : v;
  }
  return slowFromInt64(lo, hi, signed, single);
}

/** Rounds a finite double to an integer-valued double per `mode`; sets PE when inexact. */
export function roundToInt(v: number, mode: number): number {
  let r: number;
  switch (mode) {
    case RN: {
      r = Math.floor(v);
      const d = v - r;
      if (d > 0.5 || (d === 0.5 && r % 2 !== 0)) r += 1;
      break;
    }
    case RD: r = Math.floor(v); break;
    case RU: r = Math.ceil(v); break;
    default: r = Math.trunc(v);
  }
  if (r !== v) {
    ctx.exc |= PE;
    ctx.up = Math.abs(r) > Math.abs(v);
  } else ctx.up = false;
  // Keep the sign of a zero result (-0.3 rounds to -0).
  return r === 0 && (v < 0 || 1 / v < 0) ? -0 : r;
}
