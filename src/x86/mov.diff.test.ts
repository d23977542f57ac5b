/**
 * Differential test of data movement against the host CPU: MOV in every
 * form (E,G / G,E / E,imm / r,imm incl. imm64 / moffs), MOVZX, MOVSX,
 * MOVSXD, LEA (64- and 32-bit addressing, 16/32/64-bit results, huge
 * register values that wrap), CBW/CWDE/CDQE and CWD/CDQ/CQO.
 */
import { test } from 'node:test';
import { assertAgree, checkCases } from './test-support/diff.js';
import { ALL } from './test-support/flag-masks.js';
import { bySize, encodeOpReg, many, opRegOpts, SIZES, VSIZES } from './test-support/forms.js';
import { Builder, random64, Rng, value } from './test-support/gen.js';
import { encode, le, type MemOp } from './test-support/encode.js';
import { BUF, type DiffCase } from './test-support/layout.js';

/** A LEA memory operand with arbitrary register values (LEA never touches memory). */
function leaOperand(rng: Rng, b: Builder): MemOp {
  const val = () => (rng.chance(0.5) ? random64(rng) : BigInt.asUintN(64, BigInt(rng.int(1 << 20) - (1 << 19))));
  const disp = rng.pick([0, rng.int(256) - 128, rng.int(2 ** 32) - 2 ** 31]);
  const a32 = rng.chance(0.3);
  switch (rng.int(5)) {
    case 0: {
      const base = b.takeReg();
      b.regs[base] = val();
      return { kind: 'mem', base, disp, a32 };
    }
    case 1: {
      const index = b.takeReg((x) => x !== 4);
      b.regs[index] = val();
      return { kind: 'mem', index, scale: rng.int(4), disp, a32 };
    }
    case 2: case 3: {
      const base = b.takeReg();
      const index = b.takeReg((x) => x !== 4);
      b.regs[base] = val();
      b.regs[index] = val();
      return { kind: 'mem', base, index, scale: rng.int(4), disp, a32 };
    }
    default:
      return rng.chance(0.5) ? { kind: 'mem', disp: 0, ripTarget: BUF + rng.int(0x100000) - 0x80000 } : { kind: 'mem', disp, a32 };
  }
}

test('data movement matches the host CPU', (t) => {
  const rng = new Rng(5);
  const cases: DiffCase[] = [];
  for (const size of SIZES) {
    cases.push(...many(rng, 20, { name: 'mov E,G', op: bySize(size, [0x88], [0x89]), size, flagMask: ALL }));
    cases.push(...many(rng, 20, { name: 'mov G,E', op: bySize(size, [0x8a], [0x8b]), size, flagMask: ALL }));
    cases.push(...many(rng, 16, { name: 'mov E,imm', op: bySize(size, [0xc6], [0xc7]), ext: 0, imm: size === 1 ? 'b' : 'z', size, flagMask: ALL }));
    for (let k = 0; k < 12; k++) {
      const b = new Builder(rng, size === 1 && rng.chance(0.5));
      const r = size === 1 && b.noRex ? b.takeReg((x) => x < 8) : b.takeReg();
      const n = size === 8 ? 8 : Math.min(size, 4);
      const code = encodeOpReg(bySize(size, [0xb0], [0xb8]), r, { ...opRegOpts(size, le(value(rng, n), n)), rex: size === 1 && !b.noRex && r >= 4 && r < 8 });
      cases.push(b.build(`mov r,imm/${size * 8}`, code, ALL));
    }
    for (const [op, name] of [[0xa0, 'mov acc,moffs'], [0xa2, 'mov moffs,acc']] as const) {
      for (let k = 0; k < 8; k++) {
        const b = new Builder(rng);
        const ea = BUF + rng.int(4000);
        b.poke(ea, le(value(rng, size), size));
        const a32 = rng.chance(0.3);
        const code = Uint8Array.from([...(a32 ? [0x67] : []), ...(size === 2 ? [0x66] : []), ...(size === 8 ? [0x48] : []), size === 1 ? op : op + 1, ...le(ea, a32 ? 4 : 8)]);
        cases.push(b.build(`${name}${a32 ? '32' : ''}/${size * 8}`, code, ALL));
      }
    }
  }
  for (const size of VSIZES) {
    for (const [op, name, es] of [[0xb6, 'movzx G,Eb', 1], [0xb7, 'movzx G,Ew', 2], [0xbe, 'movsx G,Eb', 1], [0xbf, 'movsx G,Ew', 2]] as const) {
      cases.push(...many(rng, 16, { name, op: [0x0f, op], size, eSize: es, flagMask: ALL }));
    }
    cases.push(...many(rng, 16, { name: 'movsxd G,Ed', op: [0x63], size, eSize: 4, flagMask: ALL }));
    for (let k = 0; k < 40; k++) {
      const b = new Builder(rng);
      const reg = b.takeReg();
      const rm = leaOperand(rng, b);
      const code = encode({ prefixes: size === 2 ? [0x66] : [], w: size === 8, op: [0x8d], reg, rm });
      cases.push(b.build(`lea${rm.a32 ? '32' : ''}/${size * 8}`, code, ALL));
    }
    for (const [op, name] of [[0x98, 'cbw'], [0x99, 'cwd']] as const) {
      for (let k = 0; k < 12; k++) {
        const b = new Builder(rng);
        b.setReg(0, 8, random64(rng));
        b.setReg(0, size, value(rng, size));
        cases.push(b.build(`${name}/${size * 8}`, encodeOpReg([op & ~7], op & 7, opRegOpts(size)), ALL));
      }
    }
  }
  assertAgree('mov', checkCases(t, cases));
});
