/**
 * fast-check arbitraries shared by the parser property tests: random bytes,
 * and a valid message damaged the ways a hostile or buggy guest would
 * (bytes overwritten, cut short, garbage appended).
 */
import fc from 'fast-check';

/** Random byte strings up to maxLength. */
export function arbBytes(maxLength = 256): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ maxLength });
}

/** A copy of `valid` with a few bytes overwritten, then maybe truncated or extended. */
export function arbMutated(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const n = Math.max(1, valid.length);
  return fc
    .record({
      edits: fc.array(fc.tuple(fc.nat(n - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      cut: fc.option(fc.nat(valid.length), { nil: undefined }),
      tail: fc.uint8Array({ maxLength: 8 }),
    })
    .map(({ edits, cut, tail }) => {
      const out = new Uint8Array(valid.length + tail.length);
      out.set(valid);
      out.set(tail, valid.length);
      for (const [at, v] of edits) out[at] = v;
      return cut === undefined ? out : out.subarray(0, cut);
    });
}

/** Every prefix of `valid` shorter than it (truncations). */
export function prefixes(valid: Uint8Array): Uint8Array[] {
  return Array.from({ length: valid.length }, (_, k) => valid.subarray(0, k));
}
