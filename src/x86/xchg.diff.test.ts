/**
 * Differential test of exchanges and atomics against the host CPU: XCHG
 * (86/87 and 90+r, including XCHG EAX,EAX's zero extension), CMPXCHG,
 * XADD (with and without LOCK), CMPXCHG8B and CMPXCHG16B (equal and not
 * equal, and CMPXCHG16B's #GP on a misaligned operand).
 */
import { test } from 'node:test';
import { assertAgree, checkCases } from './test-support/diff.js';
import { ALL, DEFINED } from './test-support/flag-masks.js';
import { bySize, encodeOpReg, many, opRegOpts, SIZES, VSIZES } from './test-support/forms.js';
import { Builder, Rng, sizeMask, value } from './test-support/gen.js';
import { encode, le } from './test-support/encode.js';
import { BUF, type DiffCase } from './test-support/layout.js';

test('exchanges and atomics match the host CPU', (t) => {
  const rng = new Rng(7);
  const cases: DiffCase[] = [];
  for (const size of SIZES) {
    cases.push(...many(rng, 20, { name: 'xchg E,G', op: bySize(size, [0x86], [0x87]), size, flagMask: ALL }));
    cases.push(...many(rng, 20, { name: 'xadd E,G', op: bySize(size, [0x0f, 0xc0], [0x0f, 0xc1]), size, flagMask: DEFINED }));
    cases.push(...many(rng, 8, { name: 'lock xadd M,G', op: bySize(size, [0x0f, 0xc0], [0x0f, 0xc1]), prefixes: [0xf0], memProb: 1, size, flagMask: DEFINED }));
    for (const equal of [true, false]) {
      cases.push(...many(rng, 20, {
        name: `cmpxchg E,G ${equal ? 'eq' : 'ne'}`, op: bySize(size, [0x0f, 0xb0], [0x0f, 0xb1]), size, flagMask: DEFINED,
        prefixes: rng.chance(0.3) ? [0xf0] : [], memProb: 0.6,
        // rAX is reserved here and set once E's value is known (below).
        setup: (b) => b.reserve(0),
      }).map((c) => {
        // Make rAX equal to (or differ from) E's value, read back from the case itself.
        const regs = [...c.regs];
        const e = readE(c, size);
        const m = sizeMask(size);
        const acc = equal ? e : (e ^ (1n + BigInt(rng.int(200)))) & m;
        regs[0] = (regs[0]! & ~m & ((1n << 64n) - 1n)) | acc;
        return { ...c, regs };
      }));
    }
  }
  for (const size of VSIZES) {
    for (let r = 0; r < 16; r++) {
      if (r === 4) continue;
      const b = new Builder(rng);
      b.setReg(r, 8, value(rng, 8));
      const code = r === 0 && size !== 8 ? Uint8Array.from(size === 2 ? [0x66, 0x90] : [0x90]) : encodeOpReg([0x90], r, opRegOpts(size));
      cases.push(b.build(`xchg rax,r${r}/${size * 8}`, code, ALL));
    }
    // XCHG EAX,EAX in its ModRM form is not a NOP: it zero-extends RAX.
    const b = new Builder(rng);
    cases.push(b.build(`xchg eax,eax (87 c0)/${size * 8}`, encode({ prefixes: size === 2 ? [0x66] : [], w: size === 8, op: [0x87], reg: 0, rm: { kind: 'reg', r: 0 } }), ALL));
  }
  // CMPXCHG8B / CMPXCHG16B.
  for (const wide of [false, true]) {
    const n = wide ? 16 : 8;
    for (let k = 0; k < 40; k++) {
      const b = new Builder(rng);
      for (const r of [0, 1, 2, 3]) b.reserve(r);
      const misaligned = wide && k % 8 === 7;
      const ea = BUF + 16 * (1 + rng.int(200)) + (misaligned ? 8 : wide ? 0 : 8 * rng.int(2));
      const half = wide ? 8 : 4;
      const lo = value(rng, half);
      const hi = value(rng, half);
      b.poke(ea, [...le(lo, half), ...le(hi, half)]);
      const equal = rng.chance(0.5);
      b.setReg(0, half, equal ? lo : (lo ^ BigInt(1 + rng.int(3))) & sizeMask(half));
      b.setReg(2, half, equal || rng.chance(0.5) ? hi : (hi ^ 1n) & sizeMask(half));
      b.setReg(3, 8, value(rng, 8));
      b.setReg(1, 8, value(rng, 8));
      const rm = b.memOperand(n, undefined, ea);
      const code = encode({ prefixes: rng.chance(0.5) ? [0xf0] : [], w: wide, op: [0x0f, 0xc7], reg: 1, rm });
      // Only ZF is written (SDM: "The CF, PF, AF, SF, and OF flags are unaffected").
      cases.push(b.build(`cmpxchg${n}b${misaligned ? ' misaligned' : ''}`, code, ALL));
    }
  }
  assertAgree('xchg', checkCases(t, cases));
});

/** E's initial value in a case made by modrmCase (register or memory patch). */
function readE(c: DiffCase, size: number): bigint {
  const code = c.code;
  // The last patch is E's memory value when E is memory; otherwise decode ModRM.rm.
  const p = c.patches?.[c.patches.length - 1];
  if (p) return p.bytes.reduce((v, x, k) => v | (BigInt(x) << BigInt(8 * k)), 0n);
  let k = 0;
  let rex = 0;
  while (code[k] === 0x66 || code[k] === 0xf0) k++;
  if ((code[k]! & 0xf0) === 0x40) rex = code[k++]!;
  k += 2; // 0F Bx
  const modrm = code[k]!;
  const rm = (modrm & 7) | ((rex & 1) << 3);
  if (size === 1 && rex === 0 && (modrm & 7) >= 4) return (c.regs[rm - 4]! >> 8n) & 0xffn;
  return c.regs[rm]! & sizeMask(size);
}
