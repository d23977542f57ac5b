/**
 * The rounding core against its exact BigInt reference: the fast paths of
 * arith() (error-free transformations plus one directed step) must give
 * the same results and flags as exact arithmetic rounded once, in every
 * rounding mode, for single and double precision; and the 80-bit
 * conversions must round-trip every double.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { f64, hiBits, lo64, hi64 } from './sse-bits.js';
import { arith, ctx, fromInt64, OP_ADD, OP_DIV, OP_MUL, OP_SQRT, OP_SUB, toSingle } from './sse-round.js';
import { roundBig, slowArith } from './sse-softfloat.js';
import { D80, F80, fromF80, toF80 } from './x87-f80.js';

const finiteDouble = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true }),
  fc.tuple(fc.integer(), fc.integer({ min: 0, max: 0x7fefffff })).map(([lo, hi]) => f64(lo, hi)),
).filter((v) => v !== 0 && isFinite(v));
const finiteSingle = finiteDouble.map((v) => Math.fround(v)).filter((v) => v !== 0 && isFinite(v));

function run(f: () => number, mode: number, ftz = false): [number, number, boolean] {
  ctx.mode = mode;
  ctx.ftz = ftz;
  ctx.daz = false;
  ctx.ueTrap = false;
  ctx.exc = 0;
  ctx.up = false;
  const r = f();
  return [r, ctx.exc, ctx.up];
}

const same = (a: number, b: number): boolean => Object.is(a, b) || (a !== a && b !== b);

for (const [name, op] of [['add', OP_ADD], ['sub', OP_SUB], ['mul', OP_MUL], ['div', OP_DIV], ['sqrt', OP_SQRT]] as const) {
  for (const single of [false, true]) {
    test(`${name} (${single ? 'single' : 'double'}): fast paths equal exact rounding in all modes, flags and C1 included`, () => {
      const operand = single ? finiteSingle : finiteDouble;
      fc.assert(
        fc.property(operand, operand, fc.integer({ min: 0, max: 3 }), fc.boolean(), (a, b, mode, ftz) => {
          if (op === OP_SQRT) a = Math.abs(a);
          const fast = run(() => arith(op, a, b, single), mode, ftz);
          const exact = run(() => slowArith(op, a, b, single), mode, ftz);
          assert.ok(same(fast[0], exact[0]), `${a} ${name} ${b} mode ${mode}: ${fast[0]} vs exact ${exact[0]}`);
          assert.equal(fast[1], exact[1], `flags of ${a} ${name} ${b} mode ${mode}`);
          assert.equal(fast[2], exact[2], `round-up of ${a} ${name} ${b} mode ${mode}`);
        }),
        { numRuns: 3000 },
      );
    });
  }
}

test('special operands: invalid operations, division by zero, signed zeros', () => {
  const r = (op: number, a: number, b: number, mode = 0) => run(() => arith(op, a, b, false), mode);
  assert.deepEqual(r(OP_ADD, Infinity, -Infinity).slice(0, 2), [NaN, 1]);
  assert.deepEqual(r(OP_MUL, 0, Infinity).slice(0, 2), [NaN, 1]);
  assert.deepEqual(r(OP_DIV, 0, 0).slice(0, 2), [NaN, 1]);
  assert.deepEqual(r(OP_DIV, 1, -0).slice(0, 2), [-Infinity, 4]);
  assert.deepEqual(r(OP_SQRT, -1, 0).slice(0, 2), [NaN, 1]);
  assert.ok(Object.is(r(OP_SQRT, -0, 0)[0], -0));
  assert.ok(Object.is(r(OP_SUB, 1, 1, 1)[0], -0), 'x - x is -0 when rounding down');
  assert.ok(Object.is(r(OP_SUB, 1, 1, 0)[0], 0));
  assert.ok(Object.is(r(OP_ADD, -0, 0, 1)[0], -0));
  assert.ok(Object.is(r(OP_ADD, 0, 0, 1)[0], 0));
});

test('single rounding of doubles and of 64-bit integers matches the exact reference', () => {
  fc.assert(
    fc.property(finiteDouble, fc.integer({ min: 0, max: 3 }), (v, mode) => {
      const fast = run(() => toSingle(v), mode);
      const dv = new DataView(new ArrayBuffer(8));
      dv.setFloat64(0, v);
      const exact = run(() => slowArith(OP_ADD, v, 0, true), mode);
      assert.ok(same(fast[0], exact[0]), `${v} mode ${mode}`);
      assert.equal(fast[1], exact[1]);
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), fc.integer({ min: 0, max: 3 }), fc.boolean(), (v, mode, single) => {
      const u = BigInt.asUintN(64, v);
      const lo = Number(u & 0xffffffffn) | 0;
      const hi = Number(u >> 32n) | 0;
      const fast = run(() => fromInt64(lo, hi, true, single), mode);
      const neg = v < 0n;
      const exact = run(() => roundBig(neg, neg ? -v : v, 0, false, single), mode);
      assert.ok(same(fast[0], exact[0]), `${v} mode ${mode}`);
      assert.equal(fast[1], exact[1]);
    }),
    { numRuns: 2000 },
  );
});

test('every double survives the round trip through the 80-bit format, NaN payloads and denormals included', () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer(), (lo, hi) => {
      toF80(lo, hi);
      fromF80(F80.lo, F80.hi, F80.se);
      assert.equal(D80.invalid, false);
      assert.deepEqual([D80.lo, D80.hi], [lo, hi]);
    }),
    { numRuns: 5000 },
  );
  // 1.0 and the smallest denormal in 80-bit form.
  toF80(0, 0x3ff00000);
  assert.deepEqual([F80.lo, F80.hi >>> 0, F80.se], [0, 0x80000000, 0x3fff]);
  toF80(1, 0);
  assert.deepEqual([F80.lo, F80.hi >>> 0, F80.se], [0, 0x80000000, 16383 - 1074]);
  // An unnormal (integer bit clear) is an unsupported encoding.
  fromF80(0, 0x40000000, 0x3fff);
  assert.equal(D80.invalid, true);
  // 80-bit values beyond double precision round to nearest.
  fromF80(0x401, 0x80000000, 0x3fff);
  assert.equal(f64(D80.lo, D80.hi), 1 + 2 ** -52);
  assert.equal(hiBits(1), 0x3ff00000);
  assert.equal(lo64(0.5), 0);
  assert.equal(hi64(), 0x3fe00000);
});
