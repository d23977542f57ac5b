/**
 * Differential test of the MMX and SSE2 integer instructions against the
 * host CPU: every lane-wise operation, shift (by register, memory and
 * immediate), pack/unpack/shuffle, insert/extract and mask in both the MMX
 * (no prefix) and XMM (66) forms, from states where the MMX registers
 * hold MMX data or leftover x87 values with any TOP.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { describeFailures, runSpecs, type Spec } from './sse-diffrun.js';
import { DISP_ALIGNED, DISP_ANY, type Form, put80 } from './sse-testgen.js';
import { type DiffState, hostHarness, hostSkipReason } from './sse-testkit.js';

const skip = hostHarness() ? false : `no host harness: ${hostSkipReason()}`;
const N = 40;
const XMM_DISPS = [...DISP_ALIGNED, 0x01];

/** Both forms of a lane-wise op: MMX (no prefix) and XMM (66). */
function both(name: string, op: number, extra: Partial<Spec> = {}): Spec[] {
  return [
    { name: `${name}(mmx)`, pfx: [], op: [0x0f, op], kind: 'int', disps: DISP_ANY, ...extra },
    { name: `${name}(xmm)`, pfx: [0x66], op: [0x0f, op], kind: 'int', disps: XMM_DISPS, ...extra },
  ];
}

const OPS: Array<[string, number]> = [
  ['punpcklbw', 0x60], ['punpcklwd', 0x61], ['punpckldq', 0x62], ['packsswb', 0x63], ['pcmpgtb', 0x64], ['pcmpgtw', 0x65],
  ['pcmpgtd', 0x66], ['packuswb', 0x67], ['punpckhbw', 0x68], ['punpckhwd', 0x69], ['punpckhdq', 0x6a], ['packssdw', 0x6b],
  ['pcmpeqb', 0x74], ['pcmpeqw', 0x75], ['pcmpeqd', 0x76], ['psrlw', 0xd1], ['psrld', 0xd2], ['psrlq', 0xd3], ['paddq', 0xd4],
  ['pmullw', 0xd5], ['psubusb', 0xd8], ['psubusw', 0xd9], ['pminub', 0xda], ['pand', 0xdb], ['paddusb', 0xdc],
  ['paddusw', 0xdd], ['pmaxub', 0xde], ['pandn', 0xdf], ['pavgb', 0xe0], ['psraw', 0xe1], ['psrad', 0xe2], ['pavgw', 0xe3],
  ['pmulhuw', 0xe4], ['pmulhw', 0xe5], ['psubsb', 0xe8], ['psubsw', 0xe9], ['pminsw', 0xea], ['por', 0xeb], ['paddsb', 0xec],
  ['paddsw', 0xed], ['pmaxsw', 0xee], ['pxor', 0xef], ['psllw', 0xf1], ['pslld', 0xf2], ['psllq', 0xf3], ['pmuludq', 0xf4],
  ['pmaddwd', 0xf5], ['psadbw', 0xf6], ['psubb', 0xf8], ['psubw', 0xf9], ['psubd', 0xfa], ['psubq', 0xfb], ['paddb', 0xfc],
  ['paddw', 0xfd], ['paddd', 0xfe],
];

const regOnly = (ext: number) => (f: Form): Form => ({ ...f, mem: false, reg: ext });

const groups: Spec[] = [
  ...[[0x71, 2, 'psrlw'], [0x71, 4, 'psraw'], [0x71, 6, 'psllw'], [0x72, 2, 'psrld'], [0x72, 4, 'psrad'], [0x72, 6, 'pslld'],
    [0x73, 2, 'psrlq'], [0x73, 6, 'psllq']].flatMap(([op, ext, name]) =>
    both(`${name} imm`, op as number, { imm: true, mem: false, fix: regOnly(ext as number) })),
  { name: 'psrldq', pfx: [0x66], op: [0x0f, 0x73], kind: 'int', imm: true, mem: false, fix: regOnly(3) },
  { name: 'pslldq', pfx: [0x66], op: [0x0f, 0x73], kind: 'int', imm: true, mem: false, fix: regOnly(7) },
];

const shuffles: Spec[] = [
  { name: 'pshufw', pfx: [], op: [0x0f, 0x70], kind: 'int', imm: true, disps: DISP_ANY },
  { name: 'pshufd', pfx: [0x66], op: [0x0f, 0x70], kind: 'int', imm: true, disps: XMM_DISPS },
  { name: 'pshufhw', pfx: [0xf3], op: [0x0f, 0x70], kind: 'int', imm: true, disps: XMM_DISPS },
  { name: 'pshuflw', pfx: [0xf2], op: [0x0f, 0x70], kind: 'int', imm: true, disps: XMM_DISPS },
  { name: 'punpcklqdq', pfx: [0x66], op: [0x0f, 0x6c], kind: 'int', disps: XMM_DISPS },
  { name: 'punpckhqdq', pfx: [0x66], op: [0x0f, 0x6d], kind: 'int', disps: XMM_DISPS },
  ...both('pinsrw', 0xc4, { imm: true, disps: DISP_ANY }),
  ...both('pextrw', 0xc5, { imm: true, mem: false }),
  ...both('pmovmskb', 0xd7, { mem: false }),
];

// Leftover x87 values (any exponent, any TOP, some registers empty) before an MMX instruction.
function x87Leftovers(s: DiffState): void {
  const d = new DataView(s.fx.buffer);
  d.setUint16(2, (d.getUint16(160, true) & 7) << 11, true);
  d.setUint8(4, d.getUint8(161));
  for (let j = 0; j < 8; j++) {
    const o = 32 + 16 * j;
    put80(s.fx, o, d.getInt32(o, true), d.getInt32(o + 4, true), d.getUint16(164 + 2 * j, true));
  }
}

const transitions: Spec[] = [
  { name: 'paddb(mmx, from x87)', pfx: [], op: [0x0f, 0xfc], kind: 'int', setup: x87Leftovers },
  { name: 'movq mm,mm/m64(from x87)', pfx: [], op: [0x0f, 0x6f], kind: 'int', setup: x87Leftovers },
  { name: 'movd r/m,mm(from x87)', pfx: [], op: [0x0f, 0x7e], kind: 'int', setup: x87Leftovers },
  { name: 'emms', pfx: [], op: [0x0f, 0x77], kind: 'int', enc: () => [0x0f, 0x77], setup: x87Leftovers },
  { name: 'pmovmskb(from x87)', pfx: [], op: [0x0f, 0xd7], kind: 'int', mem: false, setup: x87Leftovers },
];

test('MMX and SSE2 lane-wise integer instructions agree with the host CPU', { skip }, (t) => {
  const r = runSpecs(OPS.flatMap(([name, op]) => both(name, op)), N, 0x1d1);
  t.diagnostic(`${r.perSpec.size} instruction forms, ${r.cases} cases`);
  assert.equal(r.failures.length, 0, describeFailures(r));
});

test('shift groups, shuffles, PINSRW/PEXTRW/PMOVMSKB agree with the host CPU', { skip }, (t) => {
  const r = runSpecs([...groups, ...shuffles], N, 0x1d2);
  t.diagnostic(`${r.perSpec.size} instruction forms, ${r.cases} cases`);
  assert.equal(r.failures.length, 0, describeFailures(r));
});

test('MMX instructions after x87 use (TOP, tags, exponents) and EMMS agree with the host CPU', { skip }, (t) => {
  const r = runSpecs(transitions, N, 0x1d3);
  t.diagnostic(`${r.perSpec.size} instruction forms, ${r.cases} cases`);
  assert.equal(r.failures.length, 0, describeFailures(r));
});
