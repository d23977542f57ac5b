/**
 * Regression tests for the bugs the differential tests found, on the
 * emulator alone (they run where there is no C compiler). Expected values
 * are what the host CPU produced for the same cases.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode } from './decoder.js';
import { EA } from './ea.js';
import { Instr } from './instr.js';
import { EmuRunner } from './test-support/emu.js';
import { BUF, type DiffCase, type DiffResult, STACK_TOP } from './test-support/layout.js';

const runner = new EmuRunner();

function run(code: number[], regs: Record<number, bigint>, patches: DiffCase['patches'] = []): DiffResult {
  const r: bigint[] = Array.from({ length: 16 }, (_, k) => 0x1111_0000_0000_0000n + BigInt(k));
  r[4] = BigInt(STACK_TOP);
  for (const [k, v] of Object.entries(regs)) r[Number(k)] = v;
  return runner.run({ name: 'regression', code: Uint8Array.from(code), regs: r, flags: 0, flagMask: 0, patches });
}

test('BSWAP takes its register from the second opcode byte', () => {
  const res = run([0x0f, 0xc9], { 1: 0x1122334455667788n, 7: 0xaabbn });
  assert.equal(res.regs[1], 0x88776655n);
  assert.equal(res.regs[7], 0xaabbn);
  assert.equal(run([0x49, 0x0f, 0xcc], { 12: 0x1122334455667788n }).regs[12], 0x8877665544332211n);
});

test('32-bit shifts by a zero count still zero-extend the register', () => {
  assert.equal(run([0x41, 0xc1, 0xe5, 0x00], { 13: 0xe8d1ba08c67591dcn }).regs[13], 0xc67591dcn); // shl r13d, 0
  assert.equal(run([0xd3, 0xc8], { 0: 0x130521aa001fffffn, 1: 32n }).regs[0], 0x1fffffn); // ror eax, cl=32
  assert.equal(run([0x0f, 0xa4, 0xd8, 0x00], { 0: 0xffff_0000_1234_5678n }).regs[0], 0x12345678n); // shld eax, ebx, 0
});

test('REP with a zero ECX under 32-bit addressing writes no register', () => {
  const res = run([0x67, 0xf3, 0xa4], { 1: 0x9854_43dd_0000_0000n, 6: 0xfedf_2a34_0011_1794n, 7: 0x0011_1500n });
  assert.equal(res.regs[1], 0x9854_43dd_0000_0000n);
  assert.equal(res.regs[6], 0xfedf_2a34_0011_1794n);
  assert.equal(res.land, 'next');
});

test('overlapping REP MOVS copies element by element', () => {
  const src = Array.from({ length: 96 }, (_, k) => (k * 37 + 11) & 0xff);
  const res = run([0xf3, 0x48, 0xa5], { 1: 10n, 6: BigInt(BUF), 7: BigInt(BUF + 1) }, [{ addr: BUF, bytes: Uint8Array.from(src) }]);
  // Reference: each 8-byte element read whole after the previous element's write.
  const mem = [...src];
  for (let e = 0; e < 10; e++) mem.splice(1 + 8 * e, 8, ...mem.slice(8 * e, 8 * e + 8));
  const got = new Map(res.mem.map((s) => s.split('=').map((h) => parseInt(h, 16)) as [number, number]));
  for (let k = 1; k <= 80; k++) assert.equal(got.get(BUF + k) ?? src[k], mem[k], `byte ${k}`);
});

test('64-bit effective addresses wrap exactly even with huge registers', () => {
  // [rbx + rcx*8] with rcx*8 = 2^64 (wraps to 0) and [rbp + rax*2] with inexact-in-double values.
  const bytes = Uint8Array.from([0x78, 0x56, 0x34, 0x12]);
  assert.equal(run([0x8b, 0x14, 0xcb], { 3: BigInt(BUF), 1: 0x2000_0000_0000_0000n }, [{ addr: BUF, bytes }]).regs[2], 0x12345678n);
  const rax = 0x00d5_19a8_39d9_215an;
  const rbp = BigInt.asUintN(64, BigInt(BUF + 0x40) - rax * 2n);
  assert.equal(run([0x8b, 0x54, 0x45, 0x00], { 0: rax, 5: rbp }, [{ addr: BUF + 0x40, bytes }]).regs[2], 0x12345678n);
});

test('LOCK on a register destination or a non-lockable instruction raises #UD', () => {
  assert.equal(run([0xf0, 0x01, 0xc0], {}).sig, 4); // lock add eax, eax
  assert.equal(run([0xf0, 0x8b, 0x03], { 3: BigInt(BUF) }).sig, 4); // lock mov eax, [rbx]
  assert.equal(run([0xf0, 0x01, 0x03], { 3: BigInt(BUF) }).land, 'next'); // lock add [rbx], eax
});

test('segment overrides reach string instructions and survive later null prefixes', () => {
  runner.cpu.segBase[4] = 0x800; // FS
  try {
    const res = run([0x64, 0xac], { 6: BigInt(BUF) }, [{ addr: BUF + 0x800, bytes: Uint8Array.of(0x5a) }]); // lodsb fs:
    assert.equal(res.regs[0]! & 0xffn, 0x5an);
    const res2 = run([0x64, 0x3e, 0x8a, 0x03], { 3: BigInt(BUF) }, [{ addr: BUF + 0x800, bytes: Uint8Array.of(0xa5) }]); // mov al, fs:ds:[rbx]
    assert.equal(res2.regs[0]! & 0xffn, 0xa5n);
  } finally {
    runner.cpu.segBase[4] = 0;
  }
  const i = new Instr(EA.abs!, EA.abs!);
  decode({ byte: (lin) => [0x65, 0x26, 0xa4][lin] ?? 0 }, { mode64: true, code32: false, csBase: 0 }, 0, i);
  assert.equal(i.seg, 5);
});
