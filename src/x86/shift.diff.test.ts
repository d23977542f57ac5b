/**
 * Differential test of shifts and rotates against the host CPU: ROL ROR RCL
 * RCR SHL SHR SAL SAR with counts 1 (D0/D1), CL (D2/D3) and imm8 (C0/C1),
 * counts 0, 1, random and at or beyond the operand width, and SHLD/SHRD
 * with imm8 and CL counts, in every operand size, register and memory.
 */
import { test } from 'node:test';
import { assertAgree, checkCases } from './test-support/diff.js';
import { rotateMask, shiftDoubleMask, shiftMask } from './test-support/flag-masks.js';
import { bySize, many, SIZES, VSIZES } from './test-support/forms.js';
import { Rng } from './test-support/gen.js';
import type { DiffCase } from './test-support/layout.js';

const OPS = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];

function maskFor(ext: number, masked: number, bits: number): number {
  if (ext < 4) return rotateMask(masked);
  return shiftMask(ext === 5 ? 'shr' : ext === 7 ? 'sar' : 'shl', masked, bits);
}

/** Counts worth trying for a width: 0, 1, small, the width and around it, beyond the 5/6-bit mask. */
function counts(rng: Rng, bits: number): number[] {
  const base = [0, 1, 2, bits - 1, bits, bits + 1, 31, 32, 33, 63, 64, 65, 255, 0x80];
  return [...base, ...Array.from({ length: 6 }, () => rng.int(256))];
}

test('shifts and rotates match the host CPU', (t) => {
  const rng = new Rng(2);
  const cases: DiffCase[] = [];
  for (let ext = 0; ext < 8; ext++) {
    for (const size of SIZES) {
      const bits = size * 8;
      const cmask = size === 8 ? 63 : 31;
      const name = OPS[ext]!;
      cases.push(...many(rng, 6, { name: `${name} E,1`, op: bySize(size, [0xd0], [0xd1]), ext, size, flagMask: maskFor(ext, 1, bits) }));
      for (const c of counts(rng, bits)) {
        const m = c & cmask;
        cases.push(...many(rng, 1, { name: `${name} E,${c}`, op: bySize(size, [0xc0], [0xc1]), ext, size, immBytes: [c], flagMask: maskFor(ext, m, bits) }));
        cases.push(...many(rng, 1, {
          name: `${name} E,cl=${c}`, op: bySize(size, [0xd2], [0xd3]), ext, size, flagMask: maskFor(ext, m, bits),
          setup: (b) => {
            b.reserve(1);
            b.setReg(1, 1, BigInt(c));
          },
        }));
      }
    }
  }
  // SHLD (0F A4 imm, 0F A5 CL) and SHRD (0F AC imm, 0F AD CL).
  for (const size of VSIZES) {
    const bits = size * 8;
    const cmask = size === 8 ? 63 : 31;
    for (const [opImm, name] of [[0xa4, 'shld'], [0xac, 'shrd']] as const) {
      for (const c of [...counts(rng, bits), ...counts(rng, bits)]) {
        const m = c & cmask;
        // Past the operand size the result is undefined (SDM): registers only, destination masked.
        const undef = m > bits;
        const opts = { size, flagMask: shiftDoubleMask(m, bits), memProb: undef ? 0 : 0.5, undefRegs: undef ? (g: { rm: { kind: string; r?: number } }) => [g.rm.r ?? -1] : undefined };
        cases.push(...many(rng, 1, { ...opts, name: `${name} E,G,${c}`, op: [0x0f, opImm], immBytes: [c] }));
        cases.push(...many(rng, 1, {
          ...opts, name: `${name} E,G,cl=${c}`, op: [0x0f, opImm + 1],
          setup: (b) => {
            b.reserve(1);
            b.setReg(1, 1, BigInt(c));
          },
        }));
      }
    }
  }
  assertAgree('shift', checkCases(t, cases));
});
