/**
 * Differential test of the SSE/SSE2/MMX moves and of the state
 * instructions (LDMXCSR, STMXCSR, FXSAVE, FXRSTOR with and without REX.W)
 * against the host CPU: register and memory forms, aligned, misaligned
 * (#GP for the aligned forms) and page-crossing operands.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { describeFailures, runSpecs, type Spec } from './sse-diffrun.js';
import { DISP_ANY, type Form } from './sse-testgen.js';
import { type DiffState, hostHarness, hostSkipReason, WIN } from './sse-testkit.js';

const skip = hostHarness() ? false : `no host harness: ${hostSkipReason()}`;
const N = 40;

const spec = (name: string, pfx: number[], op: number, extra: Partial<Spec> = {}): Spec => ({
  name, pfx, op: [0x0f, op], kind: 'int', disps: DISP_ANY, ...extra,
});
const memOnly = { reg: false };
const regOnly = { mem: false };
const withW = (w: boolean) => ({ fix: (f: Form): Form => ({ ...f, w }) });

const moves: Spec[] = [
  spec('movups load', [], 0x10), spec('movupd load', [0x66], 0x10), spec('movss load', [0xf3], 0x10), spec('movsd load', [0xf2], 0x10),
  spec('movups store', [], 0x11), spec('movupd store', [0x66], 0x11), spec('movss store', [0xf3], 0x11), spec('movsd store', [0xf2], 0x11),
  spec('movlps/movhlps', [], 0x12), spec('movlpd', [0x66], 0x12, memOnly), spec('movlps store', [], 0x13, memOnly),
  spec('movlpd store', [0x66], 0x13, memOnly), spec('movhps/movlhps', [], 0x16), spec('movhpd', [0x66], 0x16, memOnly),
  spec('movhps store', [], 0x17, memOnly), spec('movhpd store', [0x66], 0x17, memOnly),
  spec('movaps load', [], 0x28), spec('movapd load', [0x66], 0x28), spec('movaps store', [], 0x29), spec('movapd store', [0x66], 0x29),
  spec('movntps', [], 0x2b, memOnly), spec('movntpd', [0x66], 0x2b, memOnly),
  spec('movd mm,r/m32', [], 0x6e, withW(false)), spec('movq mm,r/m64', [], 0x6e, withW(true)),
  spec('movd xmm,r/m32', [0x66], 0x6e, withW(false)), spec('movq xmm,r/m64', [0x66], 0x6e, withW(true)),
  spec('movq mm,mm/m64', [], 0x6f), spec('movdqa load', [0x66], 0x6f), spec('movdqu load', [0xf3], 0x6f),
  spec('movd r/m32,mm', [], 0x7e, withW(false)), spec('movq r/m64,mm', [], 0x7e, withW(true)),
  spec('movd r/m32,xmm', [0x66], 0x7e, withW(false)), spec('movq r/m64,xmm', [0x66], 0x7e, withW(true)),
  spec('movq xmm,xmm/m64', [0xf3], 0x7e),
  spec('movq mm/m64,mm', [], 0x7f), spec('movdqa store', [0x66], 0x7f), spec('movdqu store', [0xf3], 0x7f),
  spec('movnti m32', [], 0xc3, { ...memOnly, ...withW(false) }), spec('movnti m64', [], 0xc3, { ...memOnly, ...withW(true) }),
  spec('movq xmm/m64,xmm', [0x66], 0xd6), spec('movq2dq', [0xf3], 0xd6, regOnly), spec('movdq2q', [0xf2], 0xd6, regOnly),
  spec('movntq', [], 0xe7, memOnly), spec('movntdq', [0x66], 0xe7, memOnly),
];

// MASKMOVQ/MASKMOVDQU store through RDI: point it into the window (sometimes across the page end).
function rdiIntoWindow(s: DiffState, f: Form): void {
  s.gpr[7] = BigInt(WIN + 0x80 + f.disp);
}

const masked: Spec[] = [
  spec('maskmovq', [], 0xf7, { ...regOnly, setup: rdiIntoWindow }),
  spec('maskmovdqu', [0x66], 0xf7, { ...regOnly, setup: rdiIntoWindow }),
];

const group = (ext: number, w = false) => (f: Form): Form => ({ ...f, reg: ext, w });

// A plausible MXCSR (sometimes with reserved bits set) at the memory operand.
function mxcsrInMemory(s: DiffState, f: Form): void {
  const d = new DataView(s.mem.buffer);
  const o = 0x80 + f.disp;
  if (o < 0 || o + 4 > s.mem.length) return;
  const v = d.getUint32(o, true);
  d.setUint32(o, (v & 0xff) === 1 ? v : v & 0xffff, true);
}

// A valid FXSAVE image at [rbx]: random registers (any 80-bit patterns), sane header fields.
function imageInMemory(s: DiffState, f: Form): void {
  const o = 0x80 + f.disp;
  if (o < 0 || o + 512 > s.mem.length) return;
  const d = new DataView(s.mem.buffer);
  d.setUint16(o, (d.getUint16(o, true) & 0x0f3f) | 0x40, true);
  d.setUint32(o + 24, d.getUint32(o + 24, true) & 0xffff, true);
  for (let j = 0; j < 8; j++) d.setUint32(o + 32 + 16 * j + 10, 0, true);
}

// FOP/FIP/FDP (not tracked) and MXCSR_MASK (0x2FFFF on hosts with misaligned-SSE support, 0xFFFF here).
const FX_POINTERS: Array<[number, number]> = [[6, 24], [28, 32]];
const state: Spec[] = [
  spec('ldmxcsr', [], 0xae, { ...memOnly, fix: group(2), setup: mxcsrInMemory }),
  spec('stmxcsr', [], 0xae, { ...memOnly, fix: group(3) }),
  spec('fxsave', [], 0xae, { ...memOnly, disps: [-0x80, -0x7f, -0x78], fix: group(0), masks: { memIgnore: FX_POINTERS } }),
  spec('fxsave64', [], 0xae, { ...memOnly, disps: [-0x80, -0x78], fix: group(0, true), masks: { memIgnore: FX_POINTERS } }),
  spec('fxrstor', [], 0xae, { ...memOnly, disps: [-0x80, -0x7c], fix: group(1), setup: imageInMemory }),
  spec('fxrstor64', [], 0xae, { ...memOnly, disps: [-0x80], fix: group(1, true), setup: imageInMemory }),
];

test('SSE/SSE2/MMX moves agree with the host CPU', { skip }, (t) => {
  const r = runSpecs([...moves, ...masked], N, 0x30e);
  t.diagnostic(`${r.perSpec.size} instruction forms, ${r.cases} cases`);
  assert.equal(r.failures.length, 0, describeFailures(r));
});

test('LDMXCSR, STMXCSR, FXSAVE and FXRSTOR agree with the host CPU', { skip }, (t) => {
  const r = runSpecs(state, N, 0x30f);
  t.diagnostic(`${r.perSpec.size} instruction forms, ${r.cases} cases`);
  assert.equal(r.failures.length, 0, describeFailures(r));
});
