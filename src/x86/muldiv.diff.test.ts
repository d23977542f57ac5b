/**
 * Differential test of MUL, IMUL (one-, two- and three-operand forms), DIV
 * and IDIV against the host CPU, in every operand size, with register and
 * memory sources, including divide errors (#DE: divisor 0 and quotient
 * overflow), which must fault on both sides with registers untouched.
 */
import { test } from 'node:test';
import { assertAgree, checkCases } from './test-support/diff.js';
import { DIV, MUL } from './test-support/flag-masks.js';
import { bySize, many, SIZES, VSIZES } from './test-support/forms.js';
import { Builder, Rng, sizeMask, value } from './test-support/gen.js';
import type { DiffCase } from './test-support/layout.js';

/** Puts a 2*size-byte dividend (or a 1-operand multiplicand) into AX / rDX:rAX. */
function setDividend(b: Builder, size: number, n: bigint): void {
  const bits = BigInt(size * 8);
  if (size === 1) b.setReg(0, 2, n & 0xffffn);
  else {
    b.setReg(0, size, n & sizeMask(size));
    b.setReg(2, size, (n >> bits) & sizeMask(size));
  }
}

function signed(v: bigint, size: number): bigint {
  return BigInt.asIntN(size * 8, v);
}

/** A dividend whose quotient by d mostly fits (sometimes overflows: those fault). */
function dividend(rng: Rng, size: number, d: bigint, isSigned: boolean): bigint {
  const bits = size * 8;
  if (rng.chance(0.15)) return rng.pick([0n, 1n, (1n << BigInt(2 * bits)) - 1n, 1n << BigInt(2 * bits - 1), value(rng, size) << BigInt(bits)]);
  if (!isSigned) {
    const q = value(rng, size);
    const r = d === 0n ? 0n : BigInt(Math.floor(rng.next() * 1e9)) % d;
    return q * d + r;
  }
  const sd = signed(d, size);
  const q = signed(value(rng, size), size);
  const ad = sd < 0n ? -sd : sd;
  const r = ad === 0n ? 0n : (BigInt(Math.floor(rng.next() * 1e9)) % ad) * (q * sd < 0n ? -1n : 1n);
  return BigInt.asUintN(2 * bits, q * sd + r);
}

test('multiplication and division match the host CPU', (t) => {
  const rng = new Rng(3);
  const cases: DiffCase[] = [];
  for (const size of SIZES) {
    for (const [ext, name] of [[4, 'mul'], [5, 'imul']] as const) {
      cases.push(...many(rng, 40, {
        name, op: bySize(size, [0xf6], [0xf7]), ext, size, flagMask: MUL,
        setup: (b) => {
          b.reserve(0);
          b.reserve(2);
          b.setReg(0, size, value(rng, size));
        },
      }));
    }
    for (const [ext, name] of [[6, 'div'], [7, 'idiv']] as const) {
      for (let k = 0; k < 50; k++) {
        // Divisor: mostly nonzero; the dividend is built around it.
        const d = rng.chance(0.06) ? 0n : value(rng, size) || 1n;
        const n = dividend(rng, size, d, ext === 7);
        cases.push(...many(rng, 1, {
          name, op: bySize(size, [0xf6], [0xf7]), ext, size, flagMask: DIV, eValue: () => d,
          setup: (b) => {
            b.reserve(0);
            b.reserve(2);
            setDividend(b, size, n);
          },
        }));
      }
    }
  }
  for (const size of VSIZES) {
    cases.push(...many(rng, 40, { name: 'imul G,E', op: [0x0f, 0xaf], size, flagMask: MUL }));
    cases.push(...many(rng, 30, { name: 'imul G,E,imm', op: [0x69], imm: 'z', size, flagMask: MUL }));
    cases.push(...many(rng, 30, { name: 'imul G,E,imm8', op: [0x6b], imm: 'b', size, flagMask: MUL }));
  }
  assertAgree('muldiv', checkCases(t, cases));
});
