/**
 * Test support: random starting states for the differential tests (edge
 * values of every lane type, MXCSR rounding modes, x87 stacks), encoders
 * for the operand forms, and the comparison of host and emulator end
 * states with per-instruction masks. Not used by the emulator itself.
 */
import fc from 'fast-check';
import { blankState, type DiffResult, type DiffState, WIN, WIN_SIZE } from './sse-testkit.js';

/** Which value distribution fills XMM lanes and memory. */
export type LaneKind = 'f32' | 'f64' | 'int';

const F32_EDGES = [
  0, 0x80000000, 1, 0x80000001, 0x007fffff, 0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000,
  0x7fc00000, 0xffc00000, 0x7fc12345, 0x7f800001, 0xff812345, 0x7fbfffff, 0x3f800000, 0xbf800000, 0x3f800001, 0x3fffffff,
  0x4b000000, 0x4f000000, 0xcf000000, 0x4effffff, 0xcf000001, 0x5f000000, 0xdf000000, 0x5effffff, 0x3f000000, 0x3fc00000,
  0x40200000, 0xbfc00000, 0x3effffff, 0x0c000000, 0x70000000, 0x00400000, 0x00000400, 0x4cbebc20, 0x3eaaaaab, 0x40490fdb,
  0x1f800000, 0x5f800000, 0x00ffffff, 0x33800000, 0x7f000000,
].map((b) => b | 0);

const F64_EDGES: Array<[number, number]> = [
  [0, 0], [0, 0x80000000], [1, 0], [1, 0x80000000], [-1, 0x000fffff], [0, 0x00100000], [0, 0x80100000], [-1, 0x7fefffff],
  [-1, 0xffefffff], [0, 0x7ff00000], [0, 0xfff00000], [0, 0x7ff80000], [0, 0xfff80000], [0x1234, 0x7ff81234], [1, 0x7ff00000],
  [0x55, 0xfff00012], [0, 0x3ff00000], [0, 0xbff00000], [1, 0x3ff00000], [-1, 0x3fffffff], [0, 0x43300000], [0, 0x41e00000],
  [0, 0xc1e00000], [0x100000, 0x41dfffff], [0, 0x43e00000], [0, 0xc3e00000], [-1024, 0x43dfffff], [0, 0x3fe00000],
  [0, 0x3ff80000], [0, 0x40040000], [0, 0x47efffff], [0xe0000000, 0x47efffff], [0xf0000000, 0x47efffff], [0, 0x36a00000],
  [0x20000000, 0x36a00000], [0, 0x38100000], [0x10000000, 0x380fffff], [0x54442d18, 0x400921fb], [0x55555555, 0x3fd55555],
  [0, 0x7fe00000], [0, 0x00080000], [2, 0], [0, 0x43400000], [1, 0x43400000], [0, 0x3ca00000],
].map(([lo, hi]) => [lo | 0, hi | 0] as [number, number]);

const INT_EDGES = [0, -1, 1, 0x7fffffff, 0x80000000, 0x7f7f7f7f, 0x80808080, 0x00ff00ff, 0xff00ff00, 0x7fff8000, 0x00010001,
  0x80007fff, 0x01020304, 0xfffefdfc, 0x000000ff, 0x0000ffff, 0x00000040, 0x0000003f, 0x00000010, 0x00000020].map((v) => v | 0);

const bits32 = (v: number): number => new Int32Array(new Float32Array([v]).buffer)[0]!;
const bits64 = (v: number): [number, number] => {
  const a = new Int32Array(new Float64Array([v]).buffer);
  return [a[0]!, a[1]!];
};

const nice = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true }),
  fc.double({ noNaN: true }),
  fc.integer({ min: -40, max: 40 }).map((e) => 2 ** e * (1 + Math.random())),
);

/** One 32-bit lane holding a single-precision value (edges, random bits, ordinary numbers). */
export const lane32: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...F32_EDGES) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 4, arbitrary: nice.map((v) => bits32(v)) },
);

/** One 64-bit lane (low, high) holding a double-precision value. */
export const lane64: fc.Arbitrary<[number, number]> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...F64_EDGES) },
  { weight: 2, arbitrary: fc.tuple(fc.integer(), fc.integer()) },
  { weight: 4, arbitrary: nice.map(bits64) },
  { weight: 1, arbitrary: nice.map((v) => bits64(Math.fround(v))) },
);

/** One 32-bit lane of integer data. */
export const laneInt: fc.Arbitrary<number> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...INT_EDGES) },
  { weight: 3, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.integer({ min: -300, max: 300 }) },
);

/** `n` 32-bit words of the given kind. */
export function words(kind: LaneKind, n: number): fc.Arbitrary<number[]> {
  if (kind === 'f64') return fc.array(lane64, { minLength: n >> 1, maxLength: n >> 1 }).map((a) => a.flat());
  return fc.array(kind === 'f32' ? lane32 : laneInt, { minLength: n, maxLength: n });
}

/** MXCSR: any rounding mode, sometimes DAZ/FTZ, sometimes pre-set flags, all exceptions masked unless `unmask`. */
export function mxcsrArb(unmask = false): fc.Arbitrary<number> {
  return fc.record({
    rc: fc.integer({ min: 0, max: 3 }),
    daz: fc.boolean().map((b) => (b ? 0x40 : 0)),
    ftz: fc.boolean().map((b) => (b ? 0x8000 : 0)),
    dazftz: fc.boolean(),
    flags: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 63 })),
    masks: unmask ? fc.integer({ min: 0, max: 63 }) : fc.constant(63),
  }).map((r) => (r.rc << 13) | (r.dazftz ? r.daz | r.ftz : 0) | r.flags | (r.masks << 7));
}

/** A 64-bit GPR value with edge cases. */
export const gprArb: fc.Arbitrary<bigint> = fc.oneof(
  fc.constantFrom(0n, -1n, 1n, 0x7fffffffn, -0x80000000n, 0x80000000n, 0xffffffffn, (1n << 53n) + 1n, (1n << 63n) - 1n, -(1n << 63n),
    123456789n, -5n, 0x100000000n, (1n << 62n) + 12345n),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
  fc.integer().map((v) => BigInt(v)),
);

/** An 80-bit pattern written at `o` in an FXSAVE image. */
export function put80(fx: Uint8Array, o: number, lo: number, hi: number, se: number): void {
  const d = new DataView(fx.buffer, fx.byteOffset);
  d.setInt32(o, lo, true);
  d.setInt32(o + 4, hi, true);
  d.setUint16(o + 8, se, true);
}

/** Everything random a case needs besides the instruction. */
export interface CaseParts {
  xmm: number[];
  mem: number[];
  gpr: bigint[];
  mxcsr: number;
  mm: Array<[number, number]>;
  rflags: number;
}

/** Random parts for a case whose XMM registers and memory hold `kind` data. */
export function partsArb(kind: LaneKind, unmask = false): fc.Arbitrary<CaseParts> {
  return fc.record({
    xmm: words(kind, 64),
    mem: words(kind, WIN_SIZE / 4),
    gpr: fc.array(gprArb, { minLength: 16, maxLength: 16 }),
    mxcsr: mxcsrArb(unmask),
    mm: fc.array(fc.tuple(laneInt, laneInt), { minLength: 8, maxLength: 8 }),
    rflags: fc.integer({ min: 0, max: 0x8d5 }),
  });
}

/** Builds the starting state: the parts, MMX registers in the x87 slots (TOP 0, all valid), RBX = WIN + 0x80. */
export function stateFrom(code: number[], p: CaseParts): DiffState {
  const s = blankState(code);
  const d = new DataView(s.fx.buffer);
  d.setUint32(24, p.mxcsr, true);
  d.setUint8(4, 0xff);
  for (let r = 0; r < 8; r++) put80(s.fx, 32 + 16 * r, p.mm[r]![0], p.mm[r]![1], 0xffff);
  for (let k = 0; k < 64; k++) d.setInt32(160 + 4 * k, p.xmm[k]!, true);
  const m = new DataView(s.mem.buffer);
  for (let k = 0; k < WIN_SIZE / 4; k++) m.setInt32(4 * k, p.mem[k]!, true);
  s.gpr = p.gpr.slice();
  s.gpr[3] = BigInt(WIN + 0x80);
  s.rflags = p.rflags & 0x8d5;
  return s;
}

/** Masks for comparing end states. */
export interface Masks {
  /** MXCSR bits compared (default all). */
  mxcsr?: number;
  /** x87 status word bits compared (default all but the pointer-related ones). */
  sw?: number;
  /** RFLAGS bits compared (default the six arithmetic flags). */
  flags?: number;
  /** Compare x87 registers as doubles with this relative tolerance instead of bit-exactly. */
  x87Tolerance?: number;
  /** XMM lanes compared as singles with this relative tolerance (RCP/RSQRT). */
  xmmTolerance?: number;
  /** Memory window byte ranges [from, to) to ignore. */
  memIgnore?: Array<[number, number]>;
}

function to80Double(fx: Uint8Array, o: number): number {
  const d = new DataView(fx.buffer, fx.byteOffset);
  const lo = d.getUint32(o, true);
  const hi = d.getUint32(o + 4, true);
  const se = d.getUint16(o + 8, true);
  const e = se & 0x7fff;
  const sign = se & 0x8000 ? -1 : 1;
  if (e === 0x7fff) return (hi & 0x7fffffff) === 0 && lo === 0 ? sign * Infinity : NaN;
  return sign * (hi * 2 ** 32 + lo) * 2 ** ((e === 0 ? 1 : e) - 16383 - 63);
}

/** Differences between the host's and the emulator's end states (empty when they agree under `m`). */
export function compareStates(host: DiffResult, emu: DiffResult, m: Masks = {}): string[] {
  const out: string[] = [];
  if (host.sig !== emu.sig) return [`signal: host ${host.sig}, emulator ${emu.sig}`];
  if (host.sig !== 0) return out;
  const h = new DataView(host.fx.buffer);
  const e = new DataView(emu.fx.buffer);
  const cmp = (what: string, a: number, b: number): void => {
    if (a !== b) out.push(`${what}: host 0x${(a >>> 0).toString(16)}, emulator 0x${(b >>> 0).toString(16)}`);
  };
  cmp('FCW', h.getUint16(0, true), e.getUint16(0, true));
  const sw = m.sw ?? 0xffff;
  cmp('FSW', h.getUint16(2, true) & sw, e.getUint16(2, true) & sw);
  cmp('FTW', h.getUint8(4), e.getUint8(4));
  const mx = m.mxcsr ?? 0xffffffff;
  cmp('MXCSR', h.getUint32(24, true) & mx, e.getUint32(24, true) & mx);
  for (let j = 0; j < 8; j++) {
    const o = 32 + 16 * j;
    if (m.x87Tolerance !== undefined) {
      const a = to80Double(host.fx, o);
      const b = to80Double(emu.fx, o);
      const same = (a !== a && b !== b) || a === b || Math.abs(a - b) <= m.x87Tolerance * Math.abs(a);
      if (!same) out.push(`ST${j}: host ${a}, emulator ${b}`);
      continue;
    }
    for (let k = 0; k < 10; k += 2) cmp(`ST${j}[${k}]`, h.getUint16(o + k, true), e.getUint16(o + k, true));
  }
  for (let k = 0; k < 64; k++) {
    const a = h.getInt32(160 + 4 * k, true);
    const b = e.getInt32(160 + 4 * k, true);
    if (m.xmmTolerance !== undefined && a !== b) {
      const fa = h.getFloat32(160 + 4 * k, true);
      const fb = e.getFloat32(160 + 4 * k, true);
      if ((fa !== fa && fb !== fb) || Math.abs(fa - fb) <= m.xmmTolerance * Math.abs(fa)) continue;
    }
    cmp(`XMM${k >> 2}[${k & 3}]`, a, b);
  }
  for (let r = 0; r < 16; r++) {
    if (host.gpr[r] !== emu.gpr[r]) out.push(`GPR${r}: host ${host.gpr[r]}, emulator ${emu.gpr[r]}`);
  }
  const fm = m.flags ?? 0x8d5;
  cmp('RFLAGS', host.rflags & fm, emu.rflags & fm);
  const ignore = m.memIgnore ?? [];
  for (let k = 0; k < host.mem.length; k++) {
    if (ignore.some(([a, b]) => k >= a && k < b)) continue;
    if (host.mem[k] !== emu.mem[k]) {
      out.push(`mem[+0x${k.toString(16)}]: host ${host.mem[k]}, emulator ${emu.mem[k]}`);
      break;
    }
  }
  return out;
}

// ---- encoders -------------------------------------------------------------------------

/** Operand form of an encoded case. */
export interface Form {
  reg: number;
  rm: number;
  /** Memory operand [rbx + disp] instead of register rm. */
  mem: boolean;
  disp: number;
  w: boolean;
  imm?: number;
}

/** Encodes prefix bytes, REX (W/R/B as needed), the opcode bytes and ModRM (mod 3, or [rbx+disp8]). */
export function encode(pfx: number[], op: number[], f: Form): number[] {
  const rex = (f.w ? 8 : 0) | ((f.reg >> 3) & 1) << 2 | (f.mem ? 0 : (f.rm >> 3) & 1);
  const modrm = f.mem ? 0x43 | ((f.reg & 7) << 3) : 0xc0 | ((f.reg & 7) << 3) | (f.rm & 7);
  const out = [...pfx, ...(rex ? [0x40 | rex] : []), ...op, modrm];
  if (f.mem) out.push(f.disp & 0xff);
  if (f.imm !== undefined) out.push(f.imm & 0xff);
  return out;
}

/** Memory displacements from RBX (= WIN + 0x80): aligned, misaligned, page-crossing (the page ends at +0x80). */
export const DISP_ALIGNED = [-0x80, -0x40, 0x00, 0x10, 0x40];
export const DISP_ANY = [...DISP_ALIGNED, 0x01, 0x7c, 0x78, 0x7f, -0x3d];

/** Random operand forms: registers 0-15 (MMX ignores REX), or memory at one of `disps`. */
export function formArb(memOk: boolean, regOk: boolean, disps: number[], imm: boolean): fc.Arbitrary<Form> {
  return fc.record({
    reg: fc.integer({ min: 0, max: 15 }),
    rm: fc.integer({ min: 0, max: 15 }),
    mem: memOk && regOk ? fc.boolean() : fc.constant(memOk),
    disp: fc.constantFrom(...disps),
    w: fc.boolean(),
    imm: imm ? fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 1, 7, 8, 15, 16, 31, 32, 63, 64, 0x1b, 0x4e, 0xe4, 0xff)) : fc.constant(undefined),
  }).map((r) => (imm ? r : { reg: r.reg, rm: r.rm, mem: r.mem, disp: r.disp, w: r.w }));
}
