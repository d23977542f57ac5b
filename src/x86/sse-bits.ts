/**
 * Float <-> bit-pattern conversions through one shared buffer, and the
 * IEEE classification helpers the SSE and x87 code share. NaNs are always
 * built from integer bits: JavaScript arithmetic only produces its own
 * positive default NaN, and x86's results carry payloads and signs.
 */

const buf = new ArrayBuffer(8);
const F64 = new Float64Array(buf);
const F32 = new Float32Array(buf);
const I32 = new Int32Array(buf);

/** Exception flag bits, the same in MXCSR and the x87 status word. */
export const IE = 1;
export const DE = 2;
export const ZE = 4;
export const OE = 8;
export const UE = 16;
export const PE = 32;

/** Rounding modes (MXCSR.RC and x87 CW.RC). */
export const RN = 0;
export const RD = 1;
export const RU = 2;
export const RZ = 3;

/** Single-precision default NaN (QNaN floating-point indefinite). */
export const QNAN32 = 0xffc00000 | 0;
/** High half of the double-precision default NaN (low half 0). */
export const QNAN64_HI = 0xfff80000 | 0;

/** The float with these bits (never call with a NaN pattern whose payload matters). */
export function f32(bits: number): number {
  I32[0] = bits;
  return F32[0]!;
}

/** The bits of a float value (rounds a double to single first). */
export function bits32(v: number): number {
  F32[0] = v;
  return I32[0]!;
}

/** The double with these bits. */
export function f64(lo: number, hi: number): number {
  I32[0] = lo;
  I32[1] = hi;
  return F64[0]!;
}

/** Low half of a double's bits; the high half is left for hi64(). */
export function lo64(v: number): number {
  F64[0] = v;
  return I32[0]!;
}

/** High half of the double last passed to lo64(). */
export function hi64(): number {
  return I32[1]!;
}

/** High half of a double's bits. */
export function hiBits(v: number): number {
  F64[0] = v;
  return I32[1]!;
}

/** True when single-precision bits are a NaN. */
export function isNaN32(b: number): boolean {
  return (b & 0x7fffffff) > 0x7f800000;
}

/** True when single-precision bits are a signaling NaN. */
export function isSNaN32(b: number): boolean {
  return (b & 0x7fc00000) === 0x7f800000 && (b & 0x3fffff) !== 0;
}

/** True when single-precision bits are a denormal. */
export function isDen32(b: number): boolean {
  return (b & 0x7f800000) === 0 && (b & 0x7fffff) !== 0;
}

/** True when the double with these halves is a NaN. */
export function isNaN64(lo: number, hi: number): boolean {
  const h = hi & 0x7fffffff;
  return h > 0x7ff00000 || (h === 0x7ff00000 && lo !== 0);
}

/** True when the double with these halves is a signaling NaN. */
export function isSNaN64(lo: number, hi: number): boolean {
  return (hi & 0x7ff80000) === 0x7ff00000 && ((hi & 0x7ffff) !== 0 || lo !== 0);
}

/** True when the double with these halves is a denormal. */
export function isDen64(lo: number, hi: number): boolean {
  return (hi & 0x7ff00000) === 0 && ((hi & 0xfffff) !== 0 || lo !== 0);
}

/** True for -0 and negative values (the sign bit of a non-NaN number). */
export function signBit(v: number): boolean {
  return v < 0 || (v === 0 && 1 / v < 0);
}

/** The next double toward +infinity (Infinity after the largest finite). */
export function nextUp(v: number): number {
  if (v !== v || v === Infinity) return v;
  if (v === 0) return 5e-324;
  F64[0] = v;
  let lo = I32[0]!;
  let hi = I32[1]!;
  if (v > 0) {
    lo = (lo + 1) | 0;
    if (lo === 0) hi++;
  } else {
    if (lo === 0) hi--;
    lo = (lo - 1) | 0;
  }
  I32[0] = lo;
  I32[1] = hi;
  return F64[0]!;
}

/** The next double toward -infinity. */
export function nextDown(v: number): number {
  return -nextUp(-v);
}

/** The next float toward +infinity (v must be a float value). */
export function nextUp32(v: number): number {
  if (v !== v || v === Infinity) return v;
  if (v === 0) return 1.401298464324817e-45;
  F32[0] = v;
  I32[0] = v > 0 ? I32[0]! + 1 : I32[0]! - 1;
  return F32[0]!;
}

/** The next float toward -infinity. */
export function nextDown32(v: number): number {
  return -nextUp32(-v);
}
