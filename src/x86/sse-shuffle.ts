/**
 * SIMD operations that move data between lanes: unpack (PUNPCK*,
 * UNPCK*PS/PD), pack with saturation, shuffles (PSHUFD/LW/HW, PSHUFW,
 * SHUFPS, SHUFPD) and the lane-sign masks (PMOVMSKB, MOVMSKPS/PD). Results
 * are built in scratch slot T2 and then copied, since source and
 * destination may be the same register.
 */
import type { Cpu } from './cpu.js';
import { type FpuState, T2 } from './fpu-state.js';
import type { Instr } from './instr.js';
import { mmxEnter, mmOff, type LaneOp } from './mmx.js';
import { mmxCheck, sseCheck, writeGpr } from './sse-common.js';

function copy(fp: FpuState, d: number, n: number): void {
  const v = fp.i32;
  for (let k = 0; k < n >> 2; k++) v[(d >> 2) + k] = v[(T2 >> 2) + k]!;
}

/** Interleaves the low (high = false) or high halves of d and s in lanes of `lane` bytes. */
function unpack(lane: number, high: boolean): LaneOp {
  return (fp, d, s, n) => {
    const b = fp.u8;
    const half = n >> 1;
    const base = high ? half : 0;
    for (let k = 0, o = T2; k < half; k += lane) {
      for (let j = 0; j < lane; j++) b[o++] = b[d + base + k + j]!;
      for (let j = 0; j < lane; j++) b[o++] = b[s + base + k + j]!;
    }
    copy(fp, d, n);
  };
}

/** PUNPCKL/H BW WD DQ QDQ and UNPCKL/H PS PD. */
export const UNPACK = {
  lbw: unpack(1, false), lwd: unpack(2, false), ldq: unpack(4, false), lqdq: unpack(8, false),
  hbw: unpack(1, true), hwd: unpack(2, true), hdq: unpack(4, true), hqdq: unpack(8, true),
} satisfies Record<string, LaneOp>;

/** PACKSSWB (kind 0), PACKUSWB (kind 1), PACKSSDW (kind 2): d's lanes then s's, narrowed with saturation. */
function pack(kind: number): LaneOp {
  return (fp, d, s, n) => {
    if (kind === 2) {
      const w = fp.i16;
      const v = fp.i32;
      const m = n >> 2;
      for (let k = 0; k < m; k++) {
        w[(T2 >> 1) + k] = clamp(v[(d >> 2) + k]!, -32768, 32767);
        w[(T2 >> 1) + m + k] = clamp(v[(s >> 2) + k]!, -32768, 32767);
      }
    } else {
      const w = fp.i16;
      const m = n >> 1;
      const lo = kind === 0 ? -128 : 0;
      const hi = kind === 0 ? 127 : 255;
      for (let k = 0; k < m; k++) {
        fp.u8[T2 + k] = clamp(w[(d >> 1) + k]!, lo, hi);
        fp.u8[T2 + m + k] = clamp(w[(s >> 1) + k]!, lo, hi);
      }
    }
    copy(fp, d, n);
  };
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** PACKSSWB, PACKUSWB, PACKSSDW. */
export const PACK = { sswb: pack(0), uswb: pack(1), ssdw: pack(2) } satisfies Record<string, LaneOp>;

/** PSHUFD (sub 0), PSHUFLW (sub 1), PSHUFHW (sub 2), PSHUFW (sub 3): d = shuffle(s, imm8). */
export const pshuf: LaneOp = (fp, d, s, n, i) => {
  const imm = i.imm;
  if (i.sub === 0) {
    const v = fp.i32;
    for (let k = 0; k < 4; k++) v[(T2 >> 2) + k] = v[(s >> 2) + ((imm >> (2 * k)) & 3)]!;
  } else {
    const w = fp.u16;
    const t = T2 >> 1;
    // Words 0-3 (PSHUFLW, PSHUFW) or 4-7 (PSHUFHW) are shuffled; the other half is copied.
    const lo = i.sub === 2 ? 4 : 0;
    for (let k = 0; k < n >> 1; k++) w[t + k] = w[(s >> 1) + k]!;
    for (let k = 0; k < 4; k++) w[t + lo + k] = w[(s >> 1) + lo + ((imm >> (2 * k)) & 3)]!;
  }
  copy(fp, d, n);
};

/** SHUFPS: two lanes picked from d, two from s. */
export const shufps: LaneOp = (fp, d, s, _n, i) => {
  const v = fp.i32;
  const imm = i.imm;
  const t = T2 >> 2;
  v[t] = v[(d >> 2) + (imm & 3)]!;
  v[t + 1] = v[(d >> 2) + ((imm >> 2) & 3)]!;
  v[t + 2] = v[(s >> 2) + ((imm >> 4) & 3)]!;
  v[t + 3] = v[(s >> 2) + ((imm >> 6) & 3)]!;
  copy(fp, d, 16);
};

/** SHUFPD: one double picked from d, one from s. */
export const shufpd: LaneOp = (fp, d, s, _n, i) => {
  const v = fp.i32;
  const t = T2 >> 2;
  const a = (d >> 2) + ((i.imm & 1) << 1);
  const b = (s >> 2) + (i.imm & 2);
  v[t] = v[a]!;
  v[t + 1] = v[a + 1]!;
  v[t + 2] = v[b]!;
  v[t + 3] = v[b + 1]!;
  copy(fp, d, 16);
};

/** PMOVMSKB r32, xmm (66 0F D7) or mm (0F D7): the sign bit of every byte. */
export function pmovmskb(cpu: Cpu, i: Instr): void {
  const fp = cpu.fpu;
  let s: number;
  let n: number;
  if (i.pfx === 0x66) {
    sseCheck(cpu);
    s = i.rm << 4;
    n = 16;
  } else {
    mmxCheck(cpu);
    mmxEnter(fp);
    s = mmOff(i.rm);
    n = 8;
  }
  const b = fp.u8;
  let m = 0;
  for (let k = n - 1; k >= 0; k--) m = (m << 1) | (b[s + k]! >>> 7);
  writeGpr(cpu, i.reg, false, m, 0);
}

/** MOVMSKPS (i.sub = 4) / MOVMSKPD (i.sub = 8) r32, xmm: the sign bit of every lane. */
export function movmsk(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  const v = cpu.fpu.i32;
  const s = i.rm << 2;
  const m = i.sub === 4
    ? (v[s]! >>> 31) | ((v[s + 1]! >>> 31) << 1) | ((v[s + 2]! >>> 31) << 2) | ((v[s + 3]! >>> 31) << 3)
    : (v[s + 1]! >>> 31) | ((v[s + 3]! >>> 31) << 1);
  writeGpr(cpu, i.reg, false, m, 0);
}
