/**
 * Differential test of the integer ALU against the host CPU: ADD OR ADC SBB
 * AND SUB XOR CMP in every form (E,G / G,E / accumulator,imm / group 1 with
 * imm8, imm32 and sign-extended imm8), TEST, INC, DEC, NEG, NOT, in every
 * operand size, with register (legacy AH..BH, REX SPL..DIL, R8-R15) and
 * memory operands in every addressing form.
 */
import { test } from 'node:test';
import { assertAgree, checkCases } from './test-support/diff.js';
import { ALL, DEFINED, LOGIC } from './test-support/flag-masks.js';
import { bySize, encodeOpReg, many, SIZES } from './test-support/forms.js';
import { Builder, Rng, value } from './test-support/gen.js';
import { le } from './test-support/encode.js';
import type { DiffCase } from './test-support/layout.js';

const NAMES = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const logic = (k: number) => (k === 1 || k === 4 || k === 6 ? LOGIC : DEFINED);

/** Accumulator-immediate forms (04/05 + 8k): no ModRM. */
function accImm(rng: Rng, k: number, size: number): DiffCase {
  const b = new Builder(rng);
  b.setReg(0, size, value(rng, size));
  const n = Math.min(size, 4);
  const imm = le(value(rng, n), n);
  const code = size === 1 ? Uint8Array.from([k * 8 + 4, ...imm]) : encodeOpReg([k * 8 + 5 - 0], 0, { prefixes: size === 2 ? [0x66] : [], w: size === 8, imm });
  return b.build(`${NAMES[k]} acc,imm/${size * 8}`, code, logic(k));
}

test('ALU ops match the host CPU', (t) => {
  const rng = new Rng(1);
  const cases: DiffCase[] = [];
  for (let k = 0; k < 8; k++) {
    for (const size of SIZES) {
      const flagMask = logic(k);
      cases.push(...many(rng, 12, { name: `${NAMES[k]} E,G`, op: bySize(size, [k * 8], [k * 8 + 1]), size, flagMask }));
      cases.push(...many(rng, 12, { name: `${NAMES[k]} G,E`, op: bySize(size, [k * 8 + 2], [k * 8 + 3]), size, flagMask }));
      cases.push(...many(rng, 8, { name: `${NAMES[k]} E,imm`, op: bySize(size, [0x80], [0x81]), ext: k, imm: size === 1 ? 'b' : 'z', size, flagMask }));
      if (size !== 1) cases.push(...many(rng, 8, { name: `${NAMES[k]} E,imm8s`, op: [0x83], ext: k, imm: 'b', size, flagMask }));
      for (let n = 0; n < 4; n++) cases.push(accImm(rng, k, size));
    }
  }
  for (const size of SIZES) {
    cases.push(...many(rng, 12, { name: 'test E,G', op: bySize(size, [0x84], [0x85]), size, flagMask: LOGIC }));
    cases.push(...many(rng, 10, { name: 'test E,imm', op: bySize(size, [0xf6], [0xf7]), ext: 0, imm: size === 1 ? 'b' : 'z', size, flagMask: LOGIC }));
    cases.push(...many(rng, 2, { name: 'test E,imm (/1 alias)', op: bySize(size, [0xf6], [0xf7]), ext: 1, imm: size === 1 ? 'b' : 'z', size, flagMask: LOGIC }));
    for (const [ext, name] of [[0, 'inc'], [1, 'dec']] as const) {
      cases.push(...many(rng, 16, { name, op: bySize(size, [0xfe], [0xff]), ext, size, flagMask: DEFINED }));
    }
    cases.push(...many(rng, 16, { name: 'not', op: bySize(size, [0xf6], [0xf7]), ext: 2, size, flagMask: ALL }));
    cases.push(...many(rng, 16, { name: 'neg', op: bySize(size, [0xf6], [0xf7]), ext: 3, size, flagMask: DEFINED }));
    for (let n = 0; n < 4; n++) {
      const b = new Builder(rng);
      b.setReg(0, size, value(rng, size));
      const imm = le(value(rng, Math.min(size, 4)), Math.min(size, 4));
      const code = size === 1 ? Uint8Array.from([0xa8, ...imm]) : encodeOpReg([0xa9], 0, { prefixes: size === 2 ? [0x66] : [], w: size === 8, imm });
      cases.push(b.build(`test acc,imm/${size * 8}`, code, LOGIC));
    }
  }
  assertAgree('alu', checkCases(t, cases));
});
