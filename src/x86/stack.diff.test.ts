/**
 * Differential test of the stack instructions against the host CPU: PUSH
 * and POP of registers (R8-R15 and RSP itself included), immediates (imm8
 * sign-extended, imm32) and memory (RSP-relative addresses, where POP
 * computes its address after incrementing RSP), in 64- and 16-bit sizes,
 * and LEAVE.
 */
import { test } from 'node:test';
import { assertAgree, checkCases } from './test-support/diff.js';
import { ALL } from './test-support/flag-masks.js';
import { encodeOpReg } from './test-support/forms.js';
import { Builder, random64, Rng, value } from './test-support/gen.js';
import { encode, le, type RmOp } from './test-support/encode.js';
import { type DiffCase, STACK_TOP } from './test-support/layout.js';

test('stack instructions match the host CPU', (t) => {
  const rng = new Rng(8);
  const cases: DiffCase[] = [];
  const sizes = [8, 2] as const;
  for (const size of sizes) {
    const pre = size === 2 ? [0x66] : [];
    for (let r = 0; r < 16; r++) {
      for (let k = 0; k < 2; k++) {
        const b = new Builder(rng, false, true);
        if (r !== 4) b.setReg(r, 8, random64(rng));
        cases.push(b.build(`push r${r}/${size * 8}`, encodeOpReg([0x50], r, { prefixes: pre }), ALL));
        const p = new Builder(rng, false, true);
        cases.push(p.build(`pop r${r}/${size * 8}`, encodeOpReg([0x58], r, { prefixes: pre }), ALL));
      }
    }
    for (let k = 0; k < 12; k++) {
      const b = new Builder(rng, false, true);
      const imm8 = rng.chance(0.5);
      const code = imm8 ? [...pre, 0x6a, ...le(value(rng, 1), 1)] : [...pre, 0x68, ...le(value(rng, size === 2 ? 2 : 4), size === 2 ? 2 : 4)];
      cases.push(b.build(`push imm${imm8 ? '8' : ''}/${size * 8}`, Uint8Array.from(code), ALL));
    }
    for (let k = 0; k < 24; k++) {
      for (const [op, ext, name] of [[0xff, 6, 'push'], [0x8f, 0, 'pop']] as const) {
        const b = new Builder(rng, false, true);
        let rm: RmOp;
        const kind = rng.int(4);
        if (kind === 0) rm = { kind: 'mem', base: 4, disp: rng.int(8) * 8 - 16 }; // [rsp+disp]
        else if (kind === 1) rm = b.regOperand(size, value(rng, size));
        else rm = b.memOperand(size, value(rng, size));
        cases.push(b.build(`${name} E/${size * 8}`, encode({ prefixes: pre, op: [op], reg: ext, rm }), ALL));
      }
    }
  }
  for (let k = 0; k < 16; k++) {
    // LEAVE: RSP = RBP, then POP RBP; RBP points into the stack pages.
    const b = new Builder(rng, false, true);
    b.regs[5] = BigInt(STACK_TOP + 8 * (rng.int(64) - 32));
    cases.push(b.build('leave', Uint8Array.from(rng.chance(0.3) ? [0x66, 0xc9] : [0xc9]), ALL));
  }
  assertAgree('stack', checkCases(t, cases));
});
