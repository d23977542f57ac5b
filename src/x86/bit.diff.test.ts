/**
 * Differential test of the bit instructions against the host CPU: BT BTS
 * BTR BTC with register and immediate bit offsets (register offsets on
 * memory reach beyond the operand, negative ones included), BSF, BSR,
 * POPCNT and BSWAP, in every operand size they have.
 */
import { test } from 'node:test';
import { assertAgree, checkCases } from './test-support/diff.js';
import { ALL, BSF, BT, DEFINED } from './test-support/flag-masks.js';
import { encodeOpReg, many, opRegOpts, VSIZES } from './test-support/forms.js';
import { Builder, Rng, value } from './test-support/gen.js';
import type { DiffCase } from './test-support/layout.js';

const BT_OPS = [['bt', 0xa3, 4], ['bts', 0xab, 5], ['btr', 0xb3, 6], ['btc', 0xbb, 7]] as const;

test('bit instructions match the host CPU', (t) => {
  const rng = new Rng(4);
  const cases: DiffCase[] = [];
  for (const size of VSIZES) {
    const bits = size * 8;
    for (const [name, op, ext] of BT_OPS) {
      // Register operands: the offset is taken modulo the operand width.
      cases.push(...many(rng, 16, { name: `${name} E,G`, op: [0x0f, op], size, memProb: 0, flagMask: BT }));
      cases.push(...many(rng, 16, { name: `${name} E,imm`, op: [0x0f, 0xba], ext, size, imm: 'b', flagMask: BT }));
      // Memory with a register offset: anywhere within +-1.5 KiB of the operand, any sign.
      for (let k = 0; k < 24; k++) {
        const off = BigInt(rng.int(3 * 1024 * 8) - 1536 * 8);
        cases.push(...many(rng, 1, {
          name: `${name} M,G`, op: [0x0f, op], size, memProb: 1, flagMask: BT,
          gValue: () => BigInt.asUintN(bits, off),
        }));
      }
    }
    cases.push(...many(rng, 30, { name: 'bsf', op: [0x0f, 0xbc], size, flagMask: BSF, undefRegs: (g) => (g.e === 0n ? [g.reg] : []) }));
    cases.push(...many(rng, 30, { name: 'bsr', op: [0x0f, 0xbd], size, flagMask: BSF, undefRegs: (g) => (g.e === 0n ? [g.reg] : []) }));
    cases.push(...many(rng, 30, { name: 'popcnt', op: [0x0f, 0xb8], prefixes: [0xf3], size, flagMask: DEFINED }));
    for (let k = 0; k < 24; k++) {
      const b = new Builder(rng);
      const r = b.takeReg();
      b.setReg(r, size, value(rng, size));
      // BSWAP of a 16-bit register is undefined (SDM): only that register is masked.
      cases.push(b.build(`bswap/${bits}`, encodeOpReg([0x0f, 0xc8], r, opRegOpts(size)), ALL, size === 2 ? { undefRegs: [r] } : {}));
    }
  }
  assertAgree('bit', checkCases(t, cases));
});
