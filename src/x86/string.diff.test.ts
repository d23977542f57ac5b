/**
 * Differential test of the string instructions against the host CPU:
 * MOVS, STOS, LODS, CMPS and SCAS in every element size, without REP and
 * with REP/REPE/REPNE, DF clear and set (the two flag variants of every
 * case), overlapping source and destination, counts from 0, 64- and 32-bit
 * addressing (ignored high halves of RSI/RDI/RCX), ignored segment
 * overrides.
 */
import { test } from 'node:test';
import { assertAgree, checkCases } from './test-support/diff.js';
import { ALL, DEFINED } from './test-support/flag-masks.js';
import { Builder, random64, Rng, value } from './test-support/gen.js';
import { BUF, type DiffCase } from './test-support/layout.js';

const OPS = [['movs', 0xa4], ['cmps', 0xa6], ['stos', 0xaa], ['lods', 0xac], ['scas', 0xae]] as const;

test('string instructions match the host CPU', (t) => {
  const rng = new Rng(9);
  const cases: DiffCase[] = [];
  for (const [name, op8] of OPS) {
    const compares = name === 'cmps' || name === 'scas';
    for (const size of [1, 2, 4, 8]) {
      for (let k = 0; k < 30; k++) {
        const b = new Builder(rng);
        const rep = rng.pick([0, 0xf3, 0xf2]);
        const a32 = rng.chance(0.25);
        const count = rep === 0 ? 0 : rng.pick([0, 1, 2, 3, 5 + rng.int(40)]);
        // Source and destination in the middle of the buffer, sometimes overlapping.
        const si = BUF + 1024 + rng.int(1024);
        const di = rng.chance(0.3) ? si + (rng.int(33) - 16) : BUF + 1024 + rng.int(1024);
        const hi = () => (a32 ? random64(rng) & 0xffffffff00000000n : 0n);
        b.regs[6] = hi() | BigInt(si);
        b.regs[7] = hi() | BigInt(di);
        b.regs[1] = hi() | BigInt(count);
        b.setReg(0, 8, random64(rng));
        if (compares) {
          // Equal runs (so REPE goes on) with a difference somewhere, or an AL..RAX match for REPNE.
          const n = (count + 2) * size;
          const bytes = Array.from({ length: n }, () => rng.int(256));
          const start = (p: number) => (rng.chance(0.5) ? p : p - n + size);
          b.poke(start(si), bytes);
          const other = [...bytes];
          if (rng.chance(0.7)) other[rng.int(n)] ^= 1 << rng.int(8);
          if (name === 'cmps') b.poke(start(di), other);
          else {
            b.poke(start(di), other);
            b.setReg(0, size, rng.chance(0.5) ? value(rng, size) : BigInt(other[0]!));
          }
        }
        const seg = rng.chance(0.2) ? [rng.pick([0x26, 0x2e, 0x36, 0x3e])] : [];
        const code = [...seg, ...(a32 ? [0x67] : []), ...(rep ? [rep] : []), ...(size === 2 ? [0x66] : []), ...(size === 8 ? [0x48] : []), size === 1 ? op8 : op8 + 1];
        const repName = rep === 0 ? '' : rep === 0xf3 ? 'rep ' : 'repne ';
        cases.push(b.build(`${repName}${name}${a32 ? '32' : ''}/${size * 8}`, Uint8Array.from(code), compares ? DEFINED : ALL));
      }
    }
  }
  // Overlapping REP MOVS closer than one element (each element is read after the previous write).
  for (const size of [1, 2, 4, 8]) {
    for (const delta of [-9, -3, -1, 1, 2, 3, 5, 7, 9]) {
      const b = new Builder(rng);
      b.regs[6] = BigInt(BUF + 1024);
      b.regs[7] = BigInt(BUF + 1024 + delta);
      b.regs[1] = BigInt(5 + rng.int(30));
      const code = [0xf3, ...(size === 2 ? [0x66] : []), ...(size === 8 ? [0x48] : []), size === 1 ? 0xa4 : 0xa5];
      cases.push(b.build(`rep movs overlap ${delta}/${size * 8}`, Uint8Array.from(code), ALL));
    }
  }
  assertAgree('string', checkCases(t, cases));
});
