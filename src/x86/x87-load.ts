/**
 * x87 loads and stores: FLD/FST/FSTP (m32, m64, m80, ST(i)), FILD, FIST,
 * FISTP, FISTTP (m16, m32, m64), the constants (FLD1, FLDPI, ...), FBLD and
 * FBSTP. Memory is read before the stack changes and written before it
 * pops, so a page fault leaves the x87 state untouched.
 */
import type { Cpu } from './cpu.js';
import type { Instr } from './instr.js';
import { DE, f32, f64, hi64, IE, isDen32, isDen64, isNaN32, isSNaN64, lo64, nextDown, nextUp, RD, RU, RZ } from './sse-bits.js';
import { fpuCheck } from './sse-common.js';
import { ctx, fromInt64, roundToInt, toSingle } from './sse-round.js';
import { C1, getST, INDEFINITE, isEmpty, phys, pop, push, setCC, setST, underflow, x87Begin, x87End } from './x87-core.js';
import { D80, F80, fromF80, toF80 } from './x87-f80.js';

/** A 32-bit real from memory as a double: an SNaN stays signalling (the caller raises IE), denormals raise DE. */
function real32(b: number): number {
  if (isNaN32(b)) return f64(b << 29, (b & 0x80000000) | 0x7ff00000 | ((b & 0x7fffff) >>> 3));
  if (isDen32(b)) ctx.exc |= DE;
  return f32(b);
}

/** A 64-bit real from memory (DE for denormals). */
function real64(lo: number, hi: number): number {
  if (isDen64(lo, hi)) ctx.exc |= DE;
  return f64(lo, hi);
}

/** The memory operand of the D8/DC/DA/DE arithmetic forms: m32 real, m64 real, m32 int, m16 int. */
export function arithOperand(cpu: Cpu, op: number, ea: number): number {
  switch (op) {
    case 0xd8: return real32(cpu.rd32(ea));
    case 0xdc: {
      const lo = cpu.rd64(ea);
      return real64(lo, cpu.hi);
    }
    case 0xda: return cpu.rd32(ea);
    default: return (cpu.rd16(ea) << 16) >> 16;
  }
}

// A loaded SNaN raises IE and becomes quiet.
function quietLoaded(v: number): number {
  if (v !== v) {
    const lo = lo64(v);
    const hi = hi64();
    if (isSNaN64(lo, hi)) {
      ctx.exc |= IE;
      return f64(lo, hi | 0x80000);
    }
  }
  return v;
}

/** FLD m32 (D9 /0), FLD m64 (DD /0), FLD m80 (DB /5), FILD m16/m32/m64 (DF /0, DB /0, DF /5): i.sub selects. */
export function fldMem(cpu: Cpu, i: Instr): void {
  fpuCheck(cpu);
  const ea = i.ea(cpu, i);
  let v: number;
  ctx.exc = 0;
  ctx.mode = (cpu.fpu.cw >> 10) & 3;
  switch (i.sub) {
    case 0: v = real32(cpu.rd32(ea)); break;
    case 1: {
      const lo = cpu.rd64(ea);
      v = real64(lo, cpu.hi);
      break;
    }
    case 2: {
      const lo = cpu.rd64(ea);
      const hi = cpu.hi;
      fromF80(lo, hi, cpu.rd16(ea + 8));
      v = f64(D80.lo, D80.hi);
      break;
    }
    case 3: v = (cpu.rd16(ea) << 16) >> 16; break;
    case 4: v = cpu.rd32(ea); break;
    default: {
      const lo = cpu.rd64(ea);
      // Exact below 2^53; beyond, rounded to 53 bits (FILD itself never rounds: a limitation).
      v = fromInt64(lo, cpu.hi, true, false);
      break;
    }
  }
  const loadExc = i.sub <= 1 ? ctx.exc : 0;
  const fp = x87Begin(cpu);
  // A stack overflow replaces the operand's own exceptions.
  ctx.exc = isEmpty(fp, 7) ? loadExc : 0;
  setCC(fp, C1, 0);
  push(fp, i.sub <= 1 ? quietLoaded(v) : v);
  x87End(fp);
}

/** FLD ST(i) (D9 C0+i). */
export function fldSt(cpu: Cpu, i: Instr): void {
  const fp = x87Begin(cpu);
  const k = i.rm & 7;
  setCC(fp, C1, 0);
  if (isEmpty(fp, k)) {
    // Underflow wins over overflow: C1 ends up 0.
    push(fp, INDEFINITE);
    underflow(fp);
  } else push(fp, getST(fp, k));
  x87End(fp);
}

/** FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ (D9 E8..EE): i.sub = 0..6. */
export function fldConst(cpu: Cpu, i: Instr): void {
  const fp = x87Begin(cpu);
  setCC(fp, C1, 0);
  push(fp, constant(i.sub, ctx.mode));
  x87End(fp);
}

// Nearest doubles to 1, log2(10), log2(e), pi, log10(2), ln(2), 0 and whether the true value lies above (+1) or below (-1).
const CONSTS = [1, 3.321928094887362, 1.4426950408889634, 3.141592653589793, 0.3010299956639812, 0.6931471805599453, 0];
const CONST_DIR = [0, 1, 1, 1, -1, 1, 0];

function constant(k: number, mode: number): number {
  const v = CONSTS[k]!;
  const dir = CONST_DIR[k]!;
  if (dir < 0 && (mode === RD || mode === RZ)) return nextDown(v);
  if (dir > 0 && mode === RU) return nextUp(v);
  return v;
}

/** FST/FSTP m32 (D9 /2 /3), m64 (DD /2 /3), FSTP m80 (DB /7): i.sub = 0, 1, 2; i.imm2 = 1 pops. */
export function fstMem(cpu: Cpu, i: Instr): void {
  const fp = x87Begin(cpu);
  const ea = i.ea(cpu, i);
  let v: number;
  if (isEmpty(fp, 0)) {
    underflow(fp);
    v = INDEFINITE;
  } else {
    v = getST(fp, 0);
    setCC(fp, C1, 0);
  }
  if (i.sub === 2) {
    toF80(lo64(v), hi64());
    cpu.checkWritable(ea, 10);
    cpu.wr64(ea, F80.lo, F80.hi);
    cpu.wr16(ea + 8, F80.se);
  } else if (i.sub === 1) {
    v = quietLoaded(v);
    cpu.wr64(ea, lo64(v), hi64());
  } else {
    let bits: number;
    if (v !== v) {
      const lo = lo64(v);
      const hi = hi64();
      if (isSNaN64(lo, hi)) ctx.exc |= IE;
      bits = (hi & 0x80000000) | 0x7fc00000 | ((hi & 0x7ffff) << 3) | (lo >>> 29);
    } else {
      const r = toSingle(v);
      if (ctx.up) setCC(fp, C1, C1);
      bits = f32Bits(r);
    }
    cpu.wr32(ea, bits);
  }
  if (i.imm2 === 1) pop(fp);
  x87End(fp);
}

const b32 = new Float32Array(1);
const i32 = new Int32Array(b32.buffer);

function f32Bits(v: number): number {
  b32[0] = v;
  return i32[0]!;
}

/** FST ST(i) (DD D0+i) and FSTP ST(i) (DD D8+i and the aliases D9 D8+i, DF D0+i, DF D8+i): i.imm2 = 1 pops. */
export function fstSt(cpu: Cpu, i: Instr): void {
  const fp = x87Begin(cpu);
  const k = i.rm & 7;
  if (isEmpty(fp, 0)) {
    underflow(fp);
    setST(fp, k, INDEFINITE);
  } else {
    setCC(fp, C1, 0);
    fp.stBits[2 * phys(fp, k)] = fp.stBits[2 * fp.top]!;
    fp.stBits[2 * phys(fp, k) + 1] = fp.stBits[2 * fp.top + 1]!;
    fp.valid |= 1 << phys(fp, k);
  }
  if (i.imm2 === 1) pop(fp);
  x87End(fp);
}

const INT_MIN = [-32768, -2147483648, -9223372036854775808];
const INT_LIMIT = [32768, 2147483648, 9223372036854775808];

/** FIST/FISTP m16 m32 m64 and FISTTP: i.sub = 0, 1, 2 for the size; i.imm2 bit 0 pops, bit 1 truncates. */
export function fistMem(cpu: Cpu, i: Instr): void {
  const fp = x87Begin(cpu);
  const ea = i.ea(cpu, i);
  const size = i.sub;
  let lo = 0;
  let hi = 0;
  let indefinite = false;
  if (isEmpty(fp, 0)) {
    underflow(fp);
    indefinite = true;
  } else {
    const v = getST(fp, 0);
    setCC(fp, C1, 0);
    if (v !== v) {
      ctx.exc |= IE;
      indefinite = true;
    } else {
      const saved = ctx.exc;
      const r = roundToInt(v, (i.imm2 & 2) !== 0 ? RZ : ctx.mode);
      if (r < INT_MIN[size]! || r >= INT_LIMIT[size]!) {
        ctx.exc = saved | IE;
        indefinite = true;
      } else {
        if (ctx.up && (i.imm2 & 2) === 0) setCC(fp, C1, C1);
        hi = Math.floor(r / 4294967296);
        lo = (r - hi * 4294967296) | 0;
        hi |= 0;
      }
    }
  }
  if (indefinite) {
    lo = size === 0 ? 0x8000 : size === 1 ? 0x80000000 | 0 : 0;
    hi = 0x80000000 | 0;
  }
  if (size === 0) cpu.wr16(ea, lo & 0xffff);
  else if (size === 1) cpu.wr32(ea, lo);
  else cpu.wr64(ea, lo, hi);
  if ((i.imm2 & 1) !== 0) pop(fp);
  x87End(fp);
}

/** FBLD m80 (DF /4): an 18-digit packed BCD integer (rounded to 53 bits beyond 2^53). */
export function fbld(cpu: Cpu, i: Instr): void {
  fpuCheck(cpu);
  const ea = i.ea(cpu, i);
  let n = 0n;
  for (let k = 8; k >= 0; k--) {
    const b = cpu.rd8(ea + k);
    n = n * 100n + BigInt((b >> 4) * 10 + (b & 15));
  }
  const neg = (cpu.rd8(ea + 9) & 0x80) !== 0;
  const fp = x87Begin(cpu);
  const v = Number(n);
  setCC(fp, C1, 0);
  push(fp, neg ? -v : v);
  x87End(fp);
}

/** FBSTP m80 (DF /6): ST(0) rounded by RC to packed BCD, then popped; out of range gives the BCD indefinite. */
export function fbstp(cpu: Cpu, i: Instr): void {
  const fp = x87Begin(cpu);
  const ea = i.ea(cpu, i);
  const out = new Uint8Array(10);
  setCC(fp, C1, 0);
  let v = NaN;
  if (isEmpty(fp, 0)) underflow(fp);
  else v = getST(fp, 0);
  let ok = v === v;
  if (ok) {
    const saved = ctx.exc;
    const r = roundToInt(v, ctx.mode);
    setCC(fp, C1, ctx.up ? C1 : 0);
    if (Math.abs(r) >= 1e18) {
      ctx.exc = saved | IE;
      setCC(fp, C1, 0);
      ok = false;
    } else {
      let n = BigInt(Math.abs(r));
      for (let k = 0; k < 9; k++) {
        const d = Number(n % 100n);
        n /= 100n;
        out[k] = ((Math.floor(d / 10) << 4) | (d % 10)) & 0xff;
      }
      out[9] = r < 0 || (r === 0 && 1 / r < 0) ? 0x80 : 0;
    }
  } else ctx.exc |= IE;
  if (!ok) {
    out.fill(0);
    out[7] = 0xc0;
    out[8] = 0xff;
    out[9] = 0xff;
  }
  cpu.checkWritable(ea, 10);
  for (let k = 0; k < 10; k++) cpu.wr8(ea + k, out[k]!);
  pop(fp);
  x87End(fp);
}
