/**
 * Differential test of the SSE/SSE2 floating-point instructions against
 * the host CPU: arithmetic, comparisons, conversions, logic and shuffles,
 * with random operands (edge values: zeros, denormals, infinities, QNaN,
 * SNaN, extremes, values that round) under every MXCSR rounding mode,
 * DAZ/FTZ, and some unmasked exceptions (#XM).
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { describeFailures, runSpecs, type Spec } from './sse-diffrun.js';
import { DISP_ALIGNED } from './sse-testgen.js';
import { hostHarness, hostSkipReason } from './sse-testkit.js';

const skip = hostHarness() ? false : `no host harness: ${hostSkipReason()}`;
const N = 60;
const PACKED_DISPS = [...DISP_ALIGNED, 0x01];

const P = [[], [0x66], [0xf3], [0xf2]] as const;
const KIND = ['f32', 'f64', 'f32', 'f64'] as const;
const SUFFIX = ['ps', 'pd', 'ss', 'sd'];

function four(name: string, op: number, extra: Partial<Spec> = {}): Spec[] {
  return P.map((pfx, k) => ({
    name: `${name}${SUFFIX[k]}`, pfx: [...pfx], op: [0x0f, op], kind: KIND[k]!, disps: k < 2 ? PACKED_DISPS : undefined, ...extra,
  }));
}

const arithmetic: Spec[] = [
  ...four('add', 0x58), ...four('sub', 0x5c), ...four('mul', 0x59), ...four('div', 0x5e), ...four('sqrt', 0x51),
  ...four('min', 0x5d), ...four('max', 0x5f),
  ...four('add(unmasked)', 0x58, { unmask: true }), ...four('div(unmasked)', 0x5e, { unmask: true }),
  ...four('sqrt(unmasked)', 0x51, { unmask: true }),
];

const compares: Spec[] = [
  ...four('cmp', 0xc2, { imm: true }),
  { name: 'ucomiss', pfx: [], op: [0x0f, 0x2e], kind: 'f32' },
  { name: 'comiss', pfx: [], op: [0x0f, 0x2f], kind: 'f32' },
  { name: 'ucomisd', pfx: [0x66], op: [0x0f, 0x2e], kind: 'f64' },
  { name: 'comisd', pfx: [0x66], op: [0x0f, 0x2f], kind: 'f64' },
  { name: 'comiss(unmasked)', pfx: [], op: [0x0f, 0x2f], kind: 'f32', unmask: true },
];

const gprSource = (w: boolean) => (f: { w: boolean }) => ({ ...f, w } as never);
const conversions: Spec[] = [
  { name: 'cvtsi2ss', pfx: [0xf3], op: [0x0f, 0x2a], kind: 'f32' },
  { name: 'cvtsi2sd', pfx: [0xf2], op: [0x0f, 0x2a], kind: 'f64' },
  { name: 'cvtsi2ss(32)', pfx: [0xf3], op: [0x0f, 0x2a], kind: 'f32', fix: gprSource(false) },
  { name: 'cvtsi2sd(64)', pfx: [0xf2], op: [0x0f, 0x2a], kind: 'f64', fix: gprSource(true) },
  { name: 'cvtss2si', pfx: [0xf3], op: [0x0f, 0x2d], kind: 'f32' },
  { name: 'cvttss2si', pfx: [0xf3], op: [0x0f, 0x2c], kind: 'f32' },
  { name: 'cvtsd2si', pfx: [0xf2], op: [0x0f, 0x2d], kind: 'f64' },
  { name: 'cvttsd2si', pfx: [0xf2], op: [0x0f, 0x2c], kind: 'f64' },
  { name: 'cvtpi2ps', pfx: [], op: [0x0f, 0x2a], kind: 'int' },
  { name: 'cvtpi2pd', pfx: [0x66], op: [0x0f, 0x2a], kind: 'int' },
  { name: 'cvtps2pi', pfx: [], op: [0x0f, 0x2d], kind: 'f32' },
  { name: 'cvttps2pi', pfx: [], op: [0x0f, 0x2c], kind: 'f32' },
  { name: 'cvtpd2pi', pfx: [0x66], op: [0x0f, 0x2d], kind: 'f64', disps: PACKED_DISPS },
  { name: 'cvttpd2pi', pfx: [0x66], op: [0x0f, 0x2c], kind: 'f64', disps: PACKED_DISPS },
  { name: 'cvtps2pd', pfx: [], op: [0x0f, 0x5a], kind: 'f32' },
  { name: 'cvtpd2ps', pfx: [0x66], op: [0x0f, 0x5a], kind: 'f64', disps: PACKED_DISPS },
  { name: 'cvtss2sd', pfx: [0xf3], op: [0x0f, 0x5a], kind: 'f32' },
  { name: 'cvtsd2ss', pfx: [0xf2], op: [0x0f, 0x5a], kind: 'f64' },
  { name: 'cvtsd2ss(unmasked)', pfx: [0xf2], op: [0x0f, 0x5a], kind: 'f64', unmask: true },
  { name: 'cvtdq2ps', pfx: [], op: [0x0f, 0x5b], kind: 'int', disps: PACKED_DISPS },
  { name: 'cvtps2dq', pfx: [0x66], op: [0x0f, 0x5b], kind: 'f32', disps: PACKED_DISPS },
  { name: 'cvttps2dq', pfx: [0xf3], op: [0x0f, 0x5b], kind: 'f32', disps: PACKED_DISPS },
  { name: 'cvttpd2dq', pfx: [0x66], op: [0x0f, 0xe6], kind: 'f64', disps: PACKED_DISPS },
  { name: 'cvtdq2pd', pfx: [0xf3], op: [0x0f, 0xe6], kind: 'int' },
  { name: 'cvtpd2dq', pfx: [0xf2], op: [0x0f, 0xe6], kind: 'f64', disps: PACKED_DISPS },
];

const logicAndShuffles: Spec[] = [
  ...[0x54, 0x55, 0x56, 0x57].flatMap((op) => [
    { name: `logic${op.toString(16)}ps`, pfx: [], op: [0x0f, op], kind: 'f32' as const, disps: PACKED_DISPS },
    { name: `logic${op.toString(16)}pd`, pfx: [0x66], op: [0x0f, op], kind: 'f64' as const, disps: PACKED_DISPS },
  ]),
  { name: 'unpcklps', pfx: [], op: [0x0f, 0x14], kind: 'f32', disps: PACKED_DISPS },
  { name: 'unpckhps', pfx: [], op: [0x0f, 0x15], kind: 'f32', disps: PACKED_DISPS },
  { name: 'unpcklpd', pfx: [0x66], op: [0x0f, 0x14], kind: 'f64', disps: PACKED_DISPS },
  { name: 'unpckhpd', pfx: [0x66], op: [0x0f, 0x15], kind: 'f64', disps: PACKED_DISPS },
  { name: 'shufps', pfx: [], op: [0x0f, 0xc6], kind: 'f32', imm: true, disps: PACKED_DISPS },
  { name: 'shufpd', pfx: [0x66], op: [0x0f, 0xc6], kind: 'f64', imm: true, disps: PACKED_DISPS },
  { name: 'movmskps', pfx: [], op: [0x0f, 0x50], kind: 'f32', mem: false },
  { name: 'movmskpd', pfx: [0x66], op: [0x0f, 0x50], kind: 'f64', mem: false },
  { name: 'rcpps', pfx: [], op: [0x0f, 0x53], kind: 'f32', disps: PACKED_DISPS, masks: { xmmTolerance: 2 ** -11 } },
  { name: 'rcpss', pfx: [0xf3], op: [0x0f, 0x53], kind: 'f32', masks: { xmmTolerance: 2 ** -11 } },
  { name: 'rsqrtps', pfx: [], op: [0x0f, 0x52], kind: 'f32', disps: PACKED_DISPS, masks: { xmmTolerance: 2 ** -11 } },
  { name: 'rsqrtss', pfx: [0xf3], op: [0x0f, 0x52], kind: 'f32', masks: { xmmTolerance: 2 ** -11 } },
];

for (const [title, specs] of [
  ['arithmetic (ADD SUB MUL DIV SQRT MIN MAX; PS PD SS SD)', arithmetic],
  ['comparisons (CMPxx with all predicates, COMIS, UCOMIS)', compares],
  ['conversions', conversions],
  ['logic, unpack, shuffle, movmsk, rcp/rsqrt', logicAndShuffles],
] as const) {
  test(`SSE/SSE2 ${title} agree with the host CPU`, { skip }, (t) => {
    const r = runSpecs(specs, N, 0x5eed);
    t.diagnostic(`${r.perSpec.size} instruction forms, ${r.cases} cases`);
    assert.equal(r.failures.length, 0, describeFailures(r));
  });
}
