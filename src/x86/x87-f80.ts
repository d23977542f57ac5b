/**
 * The 80-bit double-extended format <-> the doubles the x87 stack holds.
 * Double -> 80-bit is always exact (denormal doubles become normal
 * extended values; NaN payloads move to the top of the significand).
 * 80-bit -> double is exact when representable and otherwise rounds to
 * nearest; unsupported encodings (unnormals, pseudo-NaNs, pseudo-infinities)
 * are reported so callers can raise IE.
 */

/** Result of toF80: significand halves and the sign+exponent word. */
export const F80 = { lo: 0, hi: 0, se: 0 };

/** Converts the double with bits (lo, hi) to 80 bits in F80. */
export function toF80(lo: number, hi: number): void {
  const sign = (hi >>> 16) & 0x8000;
  const e = (hi >>> 20) & 0x7ff;
  const fh = hi & 0xfffff;
  if (e === 0x7ff) {
    F80.se = sign | 0x7fff;
    F80.hi = (0x80000000 | (fh << 11) | (lo >>> 21)) | 0;
    F80.lo = lo << 11;
    return;
  }
  if (e === 0) {
    if (fh === 0 && lo === 0) {
      F80.se = sign;
      F80.hi = 0;
      F80.lo = 0;
      return;
    }
    // A denormal double: normalise the 52-bit fraction so its top bit is bit 63.
    const k = fh !== 0 ? 63 - Math.clz32(fh) : 31 - Math.clz32(lo); // index of the top set bit
    const sh = 63 - k;
    let mh: number;
    let ml: number;
    if (sh >= 32) {
      mh = lo << (sh - 32);
      ml = 0;
    } else {
      mh = (fh << sh) | (sh === 0 ? 0 : lo >>> (32 - sh));
      ml = lo << sh;
    }
    F80.se = sign | (k - 1074 + 16383);
    F80.hi = mh | 0;
    F80.lo = ml | 0;
    return;
  }
  F80.se = sign | (e - 1023 + 16383);
  F80.hi = (0x80000000 | (fh << 11) | (lo >>> 21)) | 0;
  F80.lo = lo << 11;
}

/** Result of fromF80: double bits, and whether the encoding was unsupported (loaded as the default NaN). */
export const D80 = { lo: 0, hi: 0, invalid: false };

const dv = new DataView(new ArrayBuffer(8));

/** x * 2^k without intermediate overflow or premature underflow. */
export function scale2(x: number, k: number): number {
  while (k > 1000) {
    x *= 2 ** 1000;
    k -= 1000;
    if (!isFinite(x)) return x;
  }
  while (k < -1000) {
    // Keep a margin so only the last step can round into the denormals.
    if (k < -1100) {
      x *= 2 ** -1000;
      k += 1000;
    } else {
      x *= 2 ** -500;
      k += 500;
    }
    if (x === 0) return x;
  }
  return x * 2 ** k;
}

/** Converts 80 bits (significand halves, sign+exponent) to double bits in D80. */
export function fromF80(mlo: number, mhi: number, se: number): void {
  const neg = (se & 0x8000) !== 0;
  const e = se & 0x7fff;
  const sign = neg ? 0x80000000 : 0;
  const intBit = (mhi & 0x80000000) !== 0;
  D80.invalid = false;
  if (e === 0x7fff) {
    if (!intBit) return setInvalid();
    const fh = mhi & 0x7fffffff;
    if (fh === 0 && mlo === 0) return setBits(0, sign | 0x7ff00000);
    let hi = sign | 0x7ff00000 | (fh >>> 11);
    let lo = (fh << 21) | (mlo >>> 11);
    // A payload only in the dropped bits must not turn the NaN into an infinity.
    if ((hi & 0xfffff) === 0 && lo === 0) lo = 1;
    return setBits(lo | 0, hi | 0);
  }
  if (e !== 0 && !intBit) return setInvalid();
  const m = (mhi >>> 0) * 4294967296 + (mlo >>> 0); // rounds to nearest once
  // Denormals and pseudo-denormals both use exponent 1 - 16383.
  const v = scale2(m, (e === 0 ? 1 : e) - 16383 - 63);
  dv.setFloat64(0, neg ? -v : v);
  setBits(dv.getInt32(4), dv.getInt32(0));
}

function setBits(lo: number, hi: number): void {
  D80.lo = lo;
  D80.hi = hi;
}

function setInvalid(): void {
  D80.lo = 0;
  D80.hi = 0xfff80000 | 0;
  D80.invalid = true;
}

/** The x87 tag of an 80-bit value: 0 valid, 1 zero, 2 special (NaN, infinity, denormal, unsupported). */
export function tagOf80(mlo: number, mhi: number, se: number): number {
  const e = se & 0x7fff;
  if (e === 0x7fff) return 2;
  if (e === 0) return mlo === 0 && mhi === 0 ? 1 : 2;
  return (mhi & 0x80000000) !== 0 ? 0 : 2;
}
