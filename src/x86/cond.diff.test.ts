/**
 * Differential test of condition-code consumers against the host CPU:
 * CMOVcc and SETcc for all 16 conditions, Jcc (rel8, rel32, forward and
 * backward, taken or not), LOOP/LOOPE/LOOPNE/JrCXZ (RCX and, with 67, ECX),
 * LAHF/SAHF and CLC/STC/CMC. Each case starts with a flag-setting
 * instruction (CMP, SUB, ADD, TEST, INC, SHL, SAHF or none) so every lazy
 * flag path of the emulator feeds the condition.
 */
import { test } from 'node:test';
import { assertAgree, checkCases } from './test-support/diff.js';
import { ALL, LOGIC } from './test-support/flag-masks.js';
import { VSIZES } from './test-support/forms.js';
import { Builder, Rng, value } from './test-support/gen.js';
import { encode, le } from './test-support/encode.js';
import type { DiffCase } from './test-support/layout.js';

/**
 * A flag-setting instruction on two fresh registers (or nothing). TEST and
 * the shifts leave AF undefined (flag-masks.ts), so `definedAf` excludes
 * them; shifts are by 1 only, where OF is defined.
 */
function flagSetter(rng: Rng, b: Builder, definedAf: boolean): number[] {
  const size = rng.pick([1, 2, 4, 8]);
  let kind = rng.int(8);
  if (definedAf && (kind === 3 || kind === 5)) kind = 0;
  if (kind === 7) return [];
  const r1 = b.takeReg((x) => x >= 8);
  const a = value(rng, size);
  b.setReg(r1, size, a);
  if (kind === 6) {
    b.setReg(0, 1, value(rng, 1), true); // SAHF: flags from AH (RAX is reserved by the callers)
    return [0x9e];
  }
  const r2 = b.takeReg((x) => x >= 8);
  b.setReg(r2, size, rng.chance(0.3) ? a : value(rng, size));
  const pre = size === 2 ? [0x66] : [];
  const w = size === 8;
  const rm = { kind: 'reg' as const, r: r1 };
  const op = (o8: number, ov: number) => [size === 1 ? o8 : ov];
  const enc = (o: number[], reg: number, imm?: number[]) => [...encode({ prefixes: pre, w, op: o, reg, rm, byteReg: size === 1, byteRm: size === 1, ...(imm ? { imm } : {}) })];
  switch (kind) {
    case 0: return enc(op(0x38, 0x39), r2); // cmp
    case 1: return enc(op(0x28, 0x29), r2); // sub
    case 2: return enc(op(0x00, 0x01), r2); // add
    case 3: return enc(op(0x84, 0x85), r2); // test
    case 4: return enc(op(0xfe, 0xff), rng.int(2)); // inc/dec
    default: return enc(op(0xd0, 0xd1), rng.pick([4, 5, 7, 0])); // shifts and rotates by 1
  }
}

/** Builds one case "setter; body" where the body may branch to a second pad. */
function withSetter(rng: Rng, name: string, body: (b: Builder, at: number) => { code: number[]; target?: number }, afUsed = false): DiffCase {
  const b = new Builder(rng);
  b.reserve(0);
  b.reserve(1);
  const pre = flagSetter(rng, b, afUsed);
  // AF after the setter may be undefined; only LAHF (afUsed) reads it, and then the setter defines it.
  const flagMask = afUsed ? ALL : LOGIC;
  const { code, target } = body(b, pre.length);
  return b.build(name, Uint8Array.from([...pre, ...code]), flagMask, target !== undefined ? { target } : {});
}

/** A branch displacement that lands clear of the fall-through pad (22 bytes) both ways. */
function displacement(rng: Rng, long: boolean): number {
  const d = 32 + rng.int(long ? 1500 : 90);
  return rng.chance(0.5) ? d : -d - 40;
}

test('conditions, branches and flag ops match the host CPU', (t) => {
  const rng = new Rng(6);
  const cases: DiffCase[] = [];
  for (let cc = 0; cc < 16; cc++) {
    for (let k = 0; k < 10; k++) {
      cases.push(withSetter(rng, `set${cc}`, (b) => {
        const hi = rng.chance(0.3);
        const r = b.takeReg((x) => (hi ? x < 4 : true));
        const rm = rng.chance(0.5) ? { kind: 'reg' as const, r, hi } : b.memOperand(1, value(rng, 1));
        return { code: [...encode({ op: [0x0f, 0x90 + cc], reg: 0, rm, byteRm: true })] };
      }));
      const size = rng.pick(VSIZES);
      cases.push(withSetter(rng, `cmov${cc}/${size * 8}`, (b) => {
        const reg = b.takeReg();
        b.setReg(reg, 8, value(rng, 8));
        const rm = rng.chance(0.5) ? b.regOperand(size, value(rng, size)) : b.memOperand(size, value(rng, size));
        return { code: [...encode({ prefixes: size === 2 ? [0x66] : [], w: size === 8, op: [0x0f, 0x40 + cc], reg, rm })] };
      }));
      const long = rng.chance(0.5);
      cases.push(withSetter(rng, `j${cc}${long ? ' rel32' : ' rel8'}`, (_b, at) => {
        const d = displacement(rng, long);
        const code = long ? [0x0f, 0x80 + cc, ...le(d, 4)] : [0x70 + cc, ...le(d, 1)];
        return { code, target: at + code.length + d };
      }));
    }
  }
  for (const [op, name] of [[0xe0, 'loopne'], [0xe1, 'loope'], [0xe2, 'loop'], [0xe3, 'jrcxz']] as const) {
    for (let k = 0; k < 24; k++) {
      const a32 = rng.chance(0.4);
      cases.push(withSetter(rng, `${name}${a32 ? '32' : ''}`, (b, at) => {
        b.setReg(1, 8, rng.pick([0n, 1n, 2n, 0x100000000n, 0x100000001n, value(rng, 8)]));
        const d = displacement(rng, false);
        const code = [...(a32 ? [0x67] : []), op, ...le(d, 1)];
        return { code, target: at + code.length + d };
      }));
    }
  }
  for (const [op, name] of [[0x9f, 'lahf'], [0x9e, 'sahf'], [0xf8, 'clc'], [0xf9, 'stc'], [0xf5, 'cmc']] as const) {
    for (let k = 0; k < 24; k++) {
      cases.push(withSetter(rng, name, (b) => {
        b.setReg(0, 1, value(rng, 1), true);
        return { code: [op] };
      }, op === 0x9f));
    }
  }
  assertAgree('cond', checkCases(t, cases));
});
