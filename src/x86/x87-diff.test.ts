/**
 * Differential test of the x87 instructions against the host CPU. Stacks
 * (TOP, tags, values) and memory operands are random with edge values
 * (zeros, infinities, QNaN, SNaN, empty registers for stack underflow,
 * full stacks for overflow), under every rounding mode.
 *
 * The emulator computes in doubles, so the exact comparisons run with
 * precision control 53 and operands whose results stay in the double
 * exponent range; with PC = 64 results are compared as doubles to within
 * 2^-52, and the transcendentals (computed with Math) to within 2^-40,
 * with the precision flag and C1 masked.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { describeFailures, runSpecs, type Spec } from './sse-diffrun.js';
import { type Form, type Masks, put80 } from './sse-testgen.js';
import { type DiffState, hostHarness, hostSkipReason } from './sse-testkit.js';

const skip = hostHarness() ? false : `no host harness: ${hostSkipReason()}`;
const N = 40;

const dv = (s: DiffState) => new DataView(s.fx.buffer);

/** Keeps specials (0, inf, NaN) and moves other exponents into [-spread, spread] around `centre`. */
function tame(lo: number, hi: number, centre: number, spread: number): [number, number] {
  const e = (hi >>> 20) & 0x7ff;
  if (e === 0x7ff || (e === 0 && (hi & 0xfffff) === 0 && lo === 0)) return [lo, hi];
  const ne = 1023 + centre + ((((e * 7919) % (2 * spread + 1)) + 2 * spread + 1) % (2 * spread + 1)) - spread;
  return [lo, (hi & 0x800fffff) | (ne << 20)];
}

/** 80-bit pattern of a double given as (lo, hi). */
function to80(lo: number, hi: number): [number, number, number] {
  const sign = (hi >>> 16) & 0x8000;
  const e = (hi >>> 20) & 0x7ff;
  const mh = (0x80000000 | ((hi & 0xfffff) << 11) | (lo >>> 21)) | 0;
  const ml = lo << 11;
  if (e === 0x7ff) return [ml, mh, sign | 0x7fff];
  if (e === 0) return [0, 0, sign];
  return [ml, mh, sign | (e - 1023 + 16383)];
}

interface StackOpts {
  cw: number;
  /** Number of valid registers from ST(0) up (8 = full), or -1 for random tags. */
  depth?: number;
  centre?: number;
  spread?: number;
}

/** Fills the x87 part of the state from its random XMM lanes: values, TOP, tags, control and status words. */
function stack(o: StackOpts) {
  return (s: DiffState, _f: Form): void => {
    const d = dv(s);
    const top = d.getUint8(160) & 7;
    const sw = (d.getUint16(162, true) & 0x4700 & (d.getUint8(165) < 128 ? 0 : 0xffff)) | (top << 11);
    d.setUint16(0, o.cw, true);
    d.setUint16(2, sw, true);
    let tags = 0;
    const depth = o.depth ?? 2 + (d.getUint8(166) % 7);
    for (let j = 0; j < 8; j++) {
      const p = (top + j) & 7;
      if (depth < 0 ? (d.getUint8(170 + j) & 3) !== 0 : j < depth) tags |= 1 << p;
      const [lo, hi] = tame(d.getInt32(160 + 8 * (j + 2), true), d.getInt32(164 + 8 * (j + 2), true), o.centre ?? 0, o.spread ?? 400);
      const [ml, mh, se] = to80(lo, hi);
      put80(s.fx, 32 + 16 * j, ml, mh, se);
    }
    d.setUint8(4, tags);
  };
}

/** Tames the 8-byte memory operand the same way (for m64 real operands). */
function memDouble(s: DiffState, f: Form): void {
  const m = new DataView(s.mem.buffer);
  const o = 0x80 + f.disp;
  const [lo, hi] = tame(m.getInt32(o, true), m.getInt32(o + 4, true), 0, 400);
  m.setInt32(o, lo, true);
  m.setInt32(o + 4, hi, true);
}

/** A representable 80-bit value at the memory operand (FLD m80). */
function mem80(s: DiffState, f: Form): void {
  const m = new DataView(s.mem.buffer);
  const o = 0x80 + f.disp;
  const [lo, hi] = tame(m.getInt32(o, true), m.getInt32(o + 4, true), 0, 400);
  const [ml, mh, se] = to80(lo, hi);
  put80(s.mem, o, ml, mh, se);
}

const both = (...fs: Array<(s: DiffState, f: Form) => void>) => (s: DiffState, f: Form): void => fs.forEach((g) => g(s, f));

const RC = [0x000, 0x400, 0x800, 0xc00];
// Any rounding mode, chosen per case from the state's random bytes.
function rc(s: DiffState): number {
  return RC[dv(s).getUint8(167) & 3]!;
}

/** A spec for D8-DF with ModRM.reg = ext; memory or register (rm = ST(i)) form. */
function x87(name: string, op: number, ext: number, form: 'mem' | 'reg', extra: Partial<Spec> & { st?: StackOpts } = {}): Spec {
  const st = extra.st;
  const setup = (s: DiffState, f: Form): void => {
    stack({ cw: 0x27f, ...st })(s, f);
    dv(s).setUint16(0, (st?.cw ?? 0x27f) | rc(s), true);
    extra.setup?.(s, f);
  };
  return {
    name, pfx: [], op: [op], kind: 'f64', mem: form === 'mem', reg: form === 'reg', disps: [-0x40, 0, 0x10, 0x78],
    enc: (f) => (form === 'mem' ? [op, 0x43 | (ext << 3), f.disp & 0xff] : [op, 0xc0 | (ext << 3) | (f.rm & 7)]),
    ...extra, setup,
  };
}

const ARITH = ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'];
const CC_UNDEF = 0xffff & ~0x4500; // C0, C2, C3 are undefined after arithmetic
const arithMask = (ext: number): Masks => (ext === 2 || ext === 3 ? {} : { sw: CC_UNDEF });

const arithmetic: Spec[] = ARITH.flatMap((name, ext) => [
  x87(`${name} m32`, 0xd8, ext, 'mem', { masks: arithMask(ext) }),
  x87(`${name} m64`, 0xdc, ext, 'mem', { masks: arithMask(ext), setup: memDouble }),
  x87(`fi${name.slice(1)} m32`, 0xda, ext, 'mem', { masks: arithMask(ext) }),
  x87(`fi${name.slice(1)} m16`, 0xde, ext, 'mem', { masks: arithMask(ext) }),
  x87(`${name} st,st(i)`, 0xd8, ext, 'reg', { masks: arithMask(ext), st: { cw: 0x27f, depth: -1 } }),
  x87(`${name} st(i),st [dc]`, 0xdc, ext, 'reg', { masks: arithMask(ext) }),
  x87(`${name}p st(i),st [de]`, 0xde, ext, 'reg', { masks: arithMask(ext), fix: ext === 3 ? (f) => ({ ...f, rm: 1 }) : undefined }),
]);

const PC64_TOL: Masks = { x87Tolerance: 2 ** -52, sw: CC_UNDEF & ~0x220 };
const precision64: Spec[] = ['fadd', 'fmul', 'fsub', 'fdiv'].map((name) =>
  x87(`${name} (PC=64)`, 0xd8, ARITH.indexOf(name), 'reg', { masks: PC64_TOL, st: { cw: 0x37f } }));

const d9 = (name: string, rm: number, extra: Partial<Spec> & { st?: StackOpts } = {}): Spec =>
  x87(name, 0xd9, rm >> 3, 'reg', { fix: (f) => ({ ...f, rm: rm & 7 }), ...extra });
const TRANS: Masks = { x87Tolerance: 2 ** -40, sw: 0xffff & ~0x0230 };

// PC = 24 rounds to single precision (operands kept where results fit the single exponent range).
const precision24: Spec[] = ['fadd', 'fmul', 'fsub', 'fdiv'].map((name) =>
  x87(`${name} (PC=24)`, 0xd8, ARITH.indexOf(name), 'reg', { masks: { sw: CC_UNDEF }, st: { cw: 0x07f, spread: 50 } }));
precision24.push(d9('fsqrt (PC=24)', 0x3a, { masks: { sw: CC_UNDEF }, st: { cw: 0x07f, spread: 50 } }));

const misc: Spec[] = [
  d9('fchs', 0x20), d9('fabs', 0x21), d9('ftst', 0x24), d9('fxam', 0x25),
  ...['fld1', 'fldl2t', 'fldl2e', 'fldpi', 'fldlg2', 'fldln2', 'fldz'].map((n, k) => d9(n, 0x28 + k, { masks: { x87Tolerance: 2 ** -52 } })),
  d9('fxtract', 0x34, { masks: { sw: CC_UNDEF } }), d9('fprem1', 0x35, { st: { cw: 0x27f, spread: 40 } }),
  d9('fdecstp', 0x36), d9('fincstp', 0x37), d9('fprem', 0x38, { st: { cw: 0x27f, spread: 40 } }),
  d9('fprem (far)', 0x38, { st: { cw: 0x27f, spread: 200 }, masks: { sw: 0xffff & ~0x4300 } }),
  d9('fsqrt', 0x3a, { masks: { sw: CC_UNDEF } }), d9('frndint', 0x3c, { masks: { sw: CC_UNDEF }, st: { cw: 0x27f, spread: 60 } }),
  d9('fscale', 0x3d, { masks: { sw: CC_UNDEF }, st: { cw: 0x27f, spread: 6 } }), d9('fnop', 0x10),
  d9('f2xm1', 0x30, { masks: TRANS, st: { cw: 0x27f, spread: 1, centre: -2 } }),
  d9('fyl2x', 0x31, { masks: TRANS, st: { cw: 0x27f, spread: 30 } }),
  d9('fptan', 0x32, { masks: TRANS, st: { cw: 0x27f, spread: 8, centre: -2 } }),
  d9('fpatan', 0x33, { masks: TRANS, st: { cw: 0x27f, spread: 30 } }),
  d9('fyl2xp1', 0x39, { masks: TRANS, st: { cw: 0x27f, spread: 4, centre: -5 } }),
  d9('fsincos', 0x3b, { masks: TRANS, st: { cw: 0x27f, spread: 8, centre: -2 } }),
  d9('fsin', 0x3e, { masks: TRANS, st: { cw: 0x27f, spread: 8, centre: -2 } }),
  d9('fcos', 0x3f, { masks: TRANS, st: { cw: 0x27f, spread: 8, centre: -2 } }),
  x87('fld st(i)', 0xd9, 0, 'reg', { st: { cw: 0x27f, depth: -1 } }), x87('fxch', 0xd9, 1, 'reg', { st: { cw: 0x27f, depth: -1 } }),
  x87('fstp1', 0xd9, 3, 'reg'), x87('ffree', 0xdd, 0, 'reg'), x87('fst st(i)', 0xdd, 2, 'reg'),
  x87('fstp st(i)', 0xdd, 3, 'reg'), x87('fucom', 0xdd, 4, 'reg'), x87('fucomp', 0xdd, 5, 'reg'),
  x87('fucompp', 0xda, 5, 'reg', { fix: (f) => ({ ...f, rm: 1 }) }),
  ...[0, 1, 2, 3].flatMap((k) => [x87(`fcmov${k}`, 0xda, k, 'reg'), x87(`fcmovn${k}`, 0xdb, k, 'reg')]),
  // The SDM has FCOMI clear C1; AMD hosts leave it alone.
  ...[['fucomi', 0xdb, 5], ['fcomi', 0xdb, 6], ['fucomip', 0xdf, 5], ['fcomip', 0xdf, 6]].map(([n, op, ext]) =>
    x87(n as string, op as number, ext as number, 'reg', { masks: { sw: 0xffff & ~0x200 } })),
  x87('ffreep', 0xdf, 0, 'reg'),
  x87('fnstsw ax', 0xdf, 4, 'reg', { fix: (f) => ({ ...f, rm: 0 }) }),
  x87('fnclex', 0xdb, 4, 'reg', { fix: (f) => ({ ...f, rm: 2 }) }),
  x87('fninit', 0xdb, 4, 'reg', { fix: (f) => ({ ...f, rm: 3 }) }),
  x87('fld (full stack)', 0xd9, 0, 'reg', { st: { cw: 0x27f, depth: 8 } }),
];

const INTS = { cw: 0x27f, centre: 20, spread: 46 };
const loadsStores: Spec[] = [
  x87('fld m32', 0xd9, 0, 'mem'), x87('fst m32', 0xd9, 2, 'mem'), x87('fstp m32', 0xd9, 3, 'mem'),
  x87('fst m32 (narrowing)', 0xd9, 2, 'mem', { st: { cw: 0x27f, spread: 160 } }),
  x87('fld m64', 0xdd, 0, 'mem'), x87('fst m64', 0xdd, 2, 'mem'), x87('fstp m64', 0xdd, 3, 'mem'),
  x87('fld m80', 0xdb, 5, 'mem', { setup: mem80 }), x87('fstp m80', 0xdb, 7, 'mem'),
  x87('fild m16', 0xdf, 0, 'mem'), x87('fild m32', 0xdb, 0, 'mem'), x87('fild m64', 0xdf, 5, 'mem', { setup: (s, f) => {
    const m = new DataView(s.mem.buffer);
    m.setInt32(0x84 + f.disp, m.getInt32(0x84 + f.disp, true) >> 10, true);
  } }),
  x87('fist m16', 0xdf, 2, 'mem', { st: INTS }), x87('fistp m16', 0xdf, 3, 'mem', { st: INTS }),
  x87('fist m32', 0xdb, 2, 'mem', { st: INTS }), x87('fistp m32', 0xdb, 3, 'mem', { st: INTS }),
  x87('fistp m64', 0xdf, 7, 'mem', { st: INTS }), x87('fisttp m16', 0xdf, 1, 'mem', { st: INTS }),
  x87('fisttp m32', 0xdb, 1, 'mem', { st: INTS }), x87('fisttp m64', 0xdd, 1, 'mem', { st: INTS }),
  x87('fbstp', 0xdf, 6, 'mem', { st: { cw: 0x27f, centre: 20, spread: 45 } }),
  x87('fnstcw', 0xd9, 7, 'mem'), x87('fnstsw m16', 0xdd, 7, 'mem'),
  x87('fldcw', 0xd9, 5, 'mem', { setup: (s, f) => new DataView(s.mem.buffer).setUint16(0x80 + f.disp, 0x0f7f & (0x1f00 | new DataView(s.mem.buffer).getUint16(0x80 + f.disp, true)), true) }),
  x87('fnstenv', 0xd9, 6, 'mem'), x87('fnsave', 0xdd, 6, 'mem', { disps: [-0x80, 0] }),
  { ...x87('fnstenv (16-bit)', 0xd9, 6, 'mem'), enc: (f) => [0x66, 0xd9, 0x73, f.disp & 0xff] },
];

// FLDENV and FRSTOR read what FNSTENV/FNSAVE of a random state would write.
function envInMemory(save: boolean) {
  return both(memDouble, (s: DiffState, f: Form) => {
    const m = new DataView(s.mem.buffer);
    const o = 0x80 + f.disp;
    m.setUint32(o, 0xffff0000 | 0x37f | (m.getUint8(o + 1) & 0x0c) << 8, true);
    m.setUint32(o + 4, 0xffff0000 | (m.getUint16(o + 4, true) & 0x7f7f), true);
    m.setUint32(o + 8, 0xffff0000 | m.getUint16(o + 8, true), true);
    for (let k = 12; k < 28; k += 4) m.setUint32(o + k, k === 24 ? 0xffff0000 : 0, true);
    if (save) {
      for (let j = 0; j < 8; j++) {
        const [lo, hi] = tame(m.getInt32(o + 28 + 10 * j, true), m.getInt32(o + 32 + 10 * j, true), 0, 400);
        const [ml, mh, se] = to80(lo, hi);
        put80(s.mem, o + 28 + 10 * j, ml, mh, se);
      }
    }
  });
}
const envs: Spec[] = [
  x87('fldenv', 0xd9, 4, 'mem', { disps: [-0x80, 0], setup: envInMemory(false) }),
  x87('frstor', 0xdd, 4, 'mem', { disps: [-0x80, 0], setup: envInMemory(true) }),
];

for (const [title, specs] of <Array<[string, Spec[]]>>[
  ['arithmetic and comparisons (all memory and register forms)', arithmetic],
  ['arithmetic with PC = 64 (to 2^-52) and PC = 24', [...precision64, ...precision24]],
  ['stack, constants, FPREM, FSCALE, FRNDINT, transcendentals, FCOMI, FCMOV, control', misc],
  ['loads, stores, integer and BCD conversions, FNSTENV/FNSAVE', loadsStores],
  ['FLDENV and FRSTOR', envs],
]) {
  test(`x87 ${title} agree with the host CPU`, { skip }, (t) => {
    const r = runSpecs(specs, N, 0x87);
    t.diagnostic(`${r.perSpec.size} instruction forms, ${r.cases} cases`);
    assert.equal(r.failures.length, 0, describeFailures(r));
  });
}
