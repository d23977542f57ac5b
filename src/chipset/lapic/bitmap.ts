/**
 * The LAPIC's 256-bit vector registers (IRR, ISR, TMR) as eight 32-bit
 * words, register order: word i holds vectors 32i..32i+31.
 */

/** A fresh, empty 256-bit vector set. */
export function vectorSet(): Uint32Array {
  return new Uint32Array(8);
}

/** Whether `vector` is set. */
export function testVector(set: Uint32Array, vector: number): boolean {
  return (set[vector >>> 5]! & (1 << (vector & 31))) !== 0;
}

/** Sets `vector`. */
export function setVector(set: Uint32Array, vector: number): void {
  set[vector >>> 5]! |= 1 << (vector & 31);
}

/** Clears `vector`. */
export function clearVector(set: Uint32Array, vector: number): void {
  set[vector >>> 5]! &= ~(1 << (vector & 31));
}

/** The highest vector set, or -1. */
export function highestVector(set: Uint32Array): number {
  for (let i = 7; i >= 0; i--) {
    const w = set[i]!;
    if (w !== 0) return i * 32 + 31 - Math.clz32(w);
  }
  return -1;
}

/** Loads up to eight words from an untrusted saved array. */
export function loadVectorSet(set: Uint32Array, words: unknown): void {
  set.fill(0);
  if (!Array.isArray(words)) return;
  for (let i = 0; i < 8; i++) {
    const w: unknown = words[i];
    if (typeof w === 'number' && Number.isInteger(w)) set[i] = w >>> 0;
  }
}
