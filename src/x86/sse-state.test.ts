/**
 * Availability and state rules the host cannot exercise from user mode:
 * CR0.TS/EM and CR4.OSFXSR/OSXMMEXCPT faults, #GP for reserved MXCSR bits
 * and misaligned FXSAVE areas, FXSAVE/FXRSTOR round trips, and how MMX
 * and x87 share registers.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import type { Cpu } from './cpu.js';
import { CpuFault, Vec } from './fault.js';
import { fxsaveImage } from './fxsave.js';
import { decodeOne, flatCpu } from './sse-testkit.js';
import { fwait } from './x87.js';

const BUF = 0x10000;

function exec(cpu: Cpu, bytes: number[]): number {
  const i = decodeOne(Uint8Array.from([...bytes, 0, 0, 0, 0, 0, 0]));
  try {
    i.fn(cpu, i);
    return -1;
  } catch (e) {
    if (e instanceof CpuFault) return e.vector;
    throw e;
  }
}

function cpuWith(cr0: number, cr4: number): Cpu {
  const cpu = flatCpu();
  cpu.cr0 = cr0;
  cpu.cr4 = cr4;
  cpu.R[3] = BUF;
  return cpu;
}

const ADDPS = [0x0f, 0x58, 0xc1];
const PADDB_MMX = [0x0f, 0xfc, 0xc1];
const FADD = [0xd8, 0xc1];
const FXSAVE = [0x0f, 0xae, 0x03];
const LDMXCSR = [0x0f, 0xae, 0x13];
const MOVNTI = [0x0f, 0xc3, 0x03];
const EMMS = [0x0f, 0x77];
const NONE = -1;

test('CR0.TS, CR0.EM and CR4.OSFXSR select #NM or #UD as the SDM says', () => {
  const PE = 0x11;
  const TS = 8;
  const EM = 4;
  const OSFXSR = 0x200;
  const rows: Array<[string, number, number, number[], number]> = [
    ['SSE, enabled', PE, OSFXSR, ADDPS, NONE],
    ['SSE, TS', PE | TS, OSFXSR, ADDPS, Vec.NM],
    ['SSE, EM', PE | EM, OSFXSR, ADDPS, Vec.UD],
    ['SSE, EM and TS', PE | EM | TS, OSFXSR, ADDPS, Vec.UD],
    ['SSE, no OSFXSR', PE, 0, ADDPS, Vec.UD],
    ['SSE, no OSFXSR and TS', PE | TS, 0, ADDPS, Vec.UD],
    ['MMX, TS', PE | TS, OSFXSR, PADDB_MMX, Vec.NM],
    ['MMX, EM', PE | EM, OSFXSR, PADDB_MMX, Vec.UD],
    ['MMX, no OSFXSR', PE, 0, PADDB_MMX, NONE],
    ['EMMS, TS', PE | TS, 0, EMMS, Vec.NM],
    ['x87, TS', PE | TS, 0, FADD, Vec.NM],
    ['x87, EM', PE | EM, 0, FADD, Vec.NM],
    ['x87, enabled', PE, 0, FADD, NONE],
    ['FXSAVE, TS', PE | TS, OSFXSR, FXSAVE, Vec.NM],
    ['FXSAVE, EM', PE | EM, OSFXSR, FXSAVE, Vec.NM],
    ['FXSAVE, no OSFXSR', PE, 0, FXSAVE, NONE],
    ['LDMXCSR, EM', PE | EM, OSFXSR, LDMXCSR, Vec.UD],
    ['LDMXCSR, no OSFXSR', PE, 0, LDMXCSR, Vec.UD],
    ['LDMXCSR, TS', PE | TS, OSFXSR, LDMXCSR, Vec.NM],
    ['MOVNTI ignores TS and EM', PE | TS | EM, 0, MOVNTI, NONE],
  ];
  for (const [what, cr0, cr4, bytes, vector] of rows) {
    const cpu = cpuWith(cr0, cr4);
    cpu.u8.fill(0, BUF, BUF + 512);
    new DataView(cpu.u8.buffer).setUint32(BUF, 0x1f80, true);
    assert.equal(exec(cpu, bytes), vector, what);
  }
  const cpu = cpuWith(0x11 | 8, 0);
  assert.doesNotThrow(() => fwait(cpu, decodeOne(Uint8Array.of(0x9b))), 'FWAIT without CR0.MP');
  cpu.cr0 |= 2;
  assert.throws(() => fwait(cpu, decodeOne(Uint8Array.of(0x9b))), (e) => e instanceof CpuFault && e.vector === Vec.NM);
});

test('LDMXCSR and FXRSTOR raise #GP for reserved MXCSR bits; FXSAVE/FXRSTOR need 16-byte alignment', () => {
  const cpu = cpuWith(0x33, 0x600);
  const dv = new DataView(cpu.u8.buffer);
  dv.setUint32(BUF, 0x10000 | 0x1f80, true);
  assert.equal(exec(cpu, LDMXCSR), Vec.GP);
  dv.setUint32(BUF, 0xffff, true);
  assert.equal(exec(cpu, LDMXCSR), NONE);
  assert.equal(cpu.fpu.mxcsr, 0xffff, 'DAZ and FTZ are implemented (MXCSR_MASK 0xFFFF)');
  dv.setUint32(BUF, 0x1f80, true);
  assert.equal(exec(cpu, LDMXCSR), NONE);
  cpu.R[3] = BUF + 8;
  assert.equal(exec(cpu, FXSAVE), Vec.GP);
  assert.equal(exec(cpu, [0x0f, 0xae, 0x0b]), Vec.GP, 'FXRSTOR misaligned');
  cpu.R[3] = BUF;
  assert.equal(exec(cpu, FXSAVE), NONE);
  assert.equal(dv.getUint32(BUF + 28, true), 0xffff, 'MXCSR_MASK');
  dv.setUint32(BUF + 24, 0x20000 | 0x1f80, true);
  assert.equal(exec(cpu, [0x0f, 0xae, 0x0b]), Vec.GP, 'FXRSTOR with a reserved MXCSR bit');
});

test('unmasked SIMD exceptions raise #XM with CR4.OSXMMEXCPT and #UD without, leaving the destination alone', () => {
  for (const [cr4, vector] of [[0x600, Vec.XM], [0x200, Vec.UD]] as const) {
    const cpu = cpuWith(0x33, cr4);
    cpu.fpu.mxcsr = 0x1f80 & ~0x200; // ZM clear
    cpu.fpu.f32[4] = 1;
    cpu.fpu.f32[8] = 0;
    assert.equal(exec(cpu, [0xf3, 0x0f, 0x5e, 0xca]), vector, 'divss xmm1, xmm2');
    assert.equal(cpu.fpu.f32[4], 1);
    assert.equal(cpu.fpu.mxcsr & 0x3f, 4, 'ZE is recorded');
  }
});

test('FXSAVE then FXRSTOR restores x87, MMX and SSE state exactly (64-bit and 32-bit forms)', () => {
  for (const rexW of [[0x48], []]) {
    const cpu = cpuWith(0x33, 0x600);
    const fp = cpu.fpu;
    for (let k = 0; k < 64; k++) fp.xmm[k] = Math.imul(k + 1, 0x9e3779b1);
    fp.mxcsr = 0x7fa5;
    exec(cpu, [0xd9, 0xeb]); // FLDPI
    exec(cpu, [0xd9, 0xe8]); // FLD1
    fp.cw = 0x27f;
    const before = new Uint8Array(512);
    fxsaveImage(fp, before, true, 16);
    assert.equal(exec(cpu, [...rexW, 0x0f, 0xae, 0x03]), NONE);
    exec(cpu, [0xdb, 0xe3]); // FNINIT
    fp.xmm.fill(0);
    fp.mxcsr = 0x1f80;
    assert.equal(exec(cpu, [...rexW, 0x0f, 0xae, 0x0b]), NONE);
    const after = new Uint8Array(512);
    fxsaveImage(fp, after, true, 16);
    assert.deepEqual(after, before);
  }
});

test('MMX writes set TOP to 0, tag every register valid and store exponent 0xFFFF; EMMS empties the tags', () => {
  const cpu = cpuWith(0x33, 0x600);
  const fp = cpu.fpu;
  exec(cpu, [0xd9, 0xe8]); // FLD1: TOP = 7
  assert.equal(fp.top, 7);
  cpu.R[0] = 0x12345678;
  exec(cpu, [0x0f, 0x6e, 0xc8]); // MOVD mm1, eax
  assert.equal(fp.top, 0);
  assert.equal(fp.abridgedTag(), 0xff);
  const img = new Uint8Array(512);
  fxsaveImage(fp, img, true, 16);
  const dv = new DataView(img.buffer);
  assert.equal(dv.getUint32(32 + 16, true), 0x12345678, 'ST1 = MM1 low half');
  assert.equal(dv.getUint16(32 + 16 + 8, true), 0xffff);
  // R7 still holds FLD1's 1.0 as an 80-bit value; MM7 reads its significand.
  exec(cpu, [0x0f, 0x7e, 0xfa]); // MOVD edx, mm7
  assert.equal(cpu.R[2], 0);
  exec(cpu, [0x48, 0x0f, 0x7e, 0xfa]); // MOVQ rdx, mm7
  assert.equal(cpu.H[2]! >>> 0, 0x80000000);
  exec(cpu, EMMS);
  assert.equal(fp.abridgedTag(), 0);
  // x87 code after EMMS works on doubles again.
  exec(cpu, [0xd9, 0xe8]);
  assert.equal(fp.st[fp.top], 1);
});
