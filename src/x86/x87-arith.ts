/**
 * x87 arithmetic and comparisons: FADD FMUL FSUB FSUBR FDIV FDIVR in their
 * memory (m32/m64 real, m16/m32 integer), ST(0),ST(i), ST(i),ST(0) and
 * popping forms; FCOM, FCOMP, FCOMPP, FUCOM, FUCOMP, FUCOMPP, FICOM, FICOMP, FCOMI,
 * FUCOMI and their popping forms, FTST,
 * FXAM, FCHS, FABS, FXCH, FCMOVcc.
 */
import type { Cpu } from './cpu.js';
import { ARITH, CF, OP_NONE, PF, ZF } from './flags.js';
import type { FpuState } from './fpu-state.js';
import type { Instr } from './instr.js';
import { DE, hi64, IE, isSNaN64, lo64, ZE } from './sse-bits.js';
import { ctx, OP_ADD, OP_DIV, OP_MUL, OP_SUB } from './sse-round.js';
import {
  C0, C1, C2, C3, compareBits, getST, INDEFINITE, isEmpty, phys, pop, setCC, setST, underflow, x87Arith, x87Begin, x87End,
} from './x87-core.js';
import { arithOperand } from './x87-load.js';

/** ModRM.reg of D8/DC/DA/DE: 0 add, 1 mul, 2 com, 3 comp, 4 sub, 5 subr, 6 div, 7 divr. */
function compute(fp: FpuState, ext: number, a: number, b: number): number {
  switch (ext) {
    case 0: return x87Arith(fp, OP_ADD, a, b);
    case 1: return x87Arith(fp, OP_MUL, a, b);
    case 4: return x87Arith(fp, OP_SUB, a, b);
    case 5: return x87Arith(fp, OP_SUB, b, a);
    case 6: return x87Arith(fp, OP_DIV, a, b);
    default: return x87Arith(fp, OP_DIV, b, a);
  }
}

function isSNaN(v: number): boolean {
  if (v === v) return false;
  const lo = lo64(v);
  return isSNaN64(lo, hi64());
}

/** Sets C3/C2/C0 from comparing a with b (C1 = 0); `quiet` raises IE only for SNaNs. */
function compare(fp: FpuState, a: number, b: number, quiet: boolean): void {
  if (a !== a || b !== b) {
    if (!quiet || isSNaN(a) || isSNaN(b)) ctx.exc |= IE;
  }
  setCC(fp, C0 | C1 | C2 | C3, compareBits(a, b));
}

/** D8/DC/DA/DE memory forms: ST(0) = ST(0) op m32real/m64real/m32int/m16int, or FCOM(P)/FICOM(P). */
export function arithMem(cpu: Cpu, i: Instr): void {
  const fp = x87Begin(cpu);
  const b = arithOperand(cpu, i.op, i.ea(cpu, i));
  // A denormal operand only counts when no NaN, invalid operation or division by zero outranks it.
  const den = (ctx.exc & DE) !== 0;
  ctx.exc &= ~DE;
  const ext = i.ext;
  if (isEmpty(fp, 0)) {
    underflow(fp);
    if (ext === 2 || ext === 3) setCC(fp, C0 | C2 | C3, C0 | C2 | C3);
    else setST(fp, 0, INDEFINITE);
  } else {
    const a = getST(fp, 0);
    if (ext === 2 || ext === 3) compare(fp, a, b, false);
    else setST(fp, 0, compute(fp, ext, a, b));
    if (den && a === a && (ctx.exc & (IE | ZE)) === 0) ctx.exc |= DE;
  }
  if (ext === 3) pop(fp);
  x87End(fp);
}

/**
 * D8 (ST(0) = ST(0) op ST(i)), DC (ST(i) = ST(i) op ST(0)) and DE (the
 * same, then pop) register forms, including FCOM/FCOMP and their aliases
 * in DC and DE, and FCOMPP (DE D9).
 */
export function arithReg(cpu: Cpu, i: Instr): void {
  const fp = x87Begin(cpu);
  const k = i.rm & 7;
  let ext = i.ext;
  const popAfter = i.op === 0xde;
  if (ext === 2 || ext === 3) {
    if (isEmpty(fp, 0) || isEmpty(fp, k)) {
      underflow(fp);
      setCC(fp, C0 | C2 | C3, C0 | C2 | C3);
    } else compare(fp, getST(fp, 0), getST(fp, k), false);
    if (ext === 3 || popAfter) pop(fp);
    if (popAfter && ext === 3) pop(fp);
    x87End(fp);
    return;
  }
  const dest = i.op === 0xd8 ? 0 : k;
  const other = i.op === 0xd8 ? k : 0;
  // In DC and DE, reg 4/5 and 6/7 name the reversed operations (FSUBR ST(i),ST(0) is DC E0+i).
  if (i.op !== 0xd8 && ext >= 4) ext ^= 1;
  if (isEmpty(fp, dest) || isEmpty(fp, other)) {
    underflow(fp);
    setST(fp, dest, INDEFINITE);
  } else setST(fp, dest, compute(fp, ext, getST(fp, dest), getST(fp, other)));
  if (popAfter) pop(fp);
  x87End(fp);
}

/** FUCOM (DD E0+i), FUCOMP (DD E8+i), FUCOMPP (DA E9): i.sub = pops. */
export function fucom(cpu: Cpu, i: Instr): void {
  const fp = x87Begin(cpu);
  const k = i.rm & 7;
  if (isEmpty(fp, 0) || isEmpty(fp, k)) {
    underflow(fp);
    setCC(fp, C0 | C2 | C3, C0 | C2 | C3);
  } else compare(fp, getST(fp, 0), getST(fp, k), true);
  for (let n = 0; n < i.sub; n++) pop(fp);
  x87End(fp);
}

/** FCOMI (DB F0+i), FUCOMI (DB E8+i), FCOMIP (DF F0+i), FUCOMIP (DF E8+i): ZF, PF, CF; i.sub bit 0 = quiet, bit 1 = pop. */
export function fcomi(cpu: Cpu, i: Instr): void {
  const fp = x87Begin(cpu);
  const k = i.rm & 7;
  let bits: number;
  if (isEmpty(fp, 0) || isEmpty(fp, k)) {
    underflow(fp);
    bits = C0 | C2 | C3;
  } else {
    const a = getST(fp, 0);
    const b = getST(fp, k);
    if (a !== a || b !== b) {
      if ((i.sub & 1) === 0 || isSNaN(a) || isSNaN(b)) ctx.exc |= IE;
    }
    bits = compareBits(a, b);
  }
  setCC(fp, C1, 0);
  const f = ((bits & C3) !== 0 ? ZF : 0) | ((bits & C2) !== 0 ? PF : 0) | ((bits & C0) !== 0 ? CF : 0);
  // All six arithmetic flags are written: no need to materialise the lazy ones.
  cpu.fOp = OP_NONE;
  cpu.flags = (cpu.flags & ~ARITH) | f;
  if ((i.sub & 2) !== 0) pop(fp);
  x87End(fp);
}

/** FTST (D9 E4): compares ST(0) with 0.0. */
export function ftst(cpu: Cpu, _i: Instr): void {
  const fp = x87Begin(cpu);
  if (isEmpty(fp, 0)) {
    underflow(fp);
    setCC(fp, C0 | C2 | C3, C0 | C2 | C3);
  } else compare(fp, getST(fp, 0), 0, false);
  x87End(fp);
}

/** FXAM (D9 E5): classifies ST(0) into C3 C2 C0, sign in C1. */
export function fxam(cpu: Cpu, _i: Instr): void {
  const fp = x87Begin(cpu);
  const p = phys(fp, 0);
  const hi = fp.stBits[2 * p + 1]!;
  const sign = hi < 0 ? C1 : 0;
  let cls: number;
  if (isEmpty(fp, 0)) cls = C3 | C0;
  else {
    const v = fp.st[p]!;
    // Denormal doubles are normal extended values, so "denormal" never appears.
    cls = v !== v ? C0 : v === Infinity || v === -Infinity ? C2 | C0 : v === 0 ? C3 : C2;
  }
  setCC(fp, C0 | C1 | C2 | C3, cls | sign);
  x87End(fp);
}

/** FCHS (D9 E0, i.sub = 0) and FABS (D9 E1, i.sub = 1): the sign bit only, NaNs included. */
export function fchsAbs(cpu: Cpu, i: Instr): void {
  const fp = x87Begin(cpu);
  if (isEmpty(fp, 0)) {
    underflow(fp);
    setST(fp, 0, INDEFINITE);
  } else {
    const h = 2 * phys(fp, 0) + 1;
    fp.stBits[h] = i.sub === 0 ? fp.stBits[h]! ^ 0x80000000 : fp.stBits[h]! & 0x7fffffff;
    setCC(fp, C1, 0);
  }
  x87End(fp);
}

/** FXCH ST(i) (D9 C8+i and aliases): an empty operand is replaced by the indefinite first. */
export function fxch(cpu: Cpu, i: Instr): void {
  const fp = x87Begin(cpu);
  const k = i.rm & 7;
  if (isEmpty(fp, 0) || isEmpty(fp, k)) {
    underflow(fp);
    if (isEmpty(fp, 0)) setST(fp, 0, INDEFINITE);
    if (isEmpty(fp, k)) setST(fp, k, INDEFINITE);
  } else setCC(fp, C1, 0);
  const a = 2 * phys(fp, 0);
  const b = 2 * phys(fp, k);
  const s = fp.stBits;
  const lo = s[a]!;
  const hi = s[a + 1]!;
  s[a] = s[b]!;
  s[a + 1] = s[b + 1]!;
  s[b] = lo;
  s[b + 1] = hi;
  x87End(fp);
}

/** FCMOVcc ST(0), ST(i) (DA/DB C0..DF): i.sub = 0 B, 1 E, 2 BE, 3 U; +4 for the negated DB forms. */
export function fcmov(cpu: Cpu, i: Instr): void {
  const fp = x87Begin(cpu);
  const k = i.rm & 7;
  let c: boolean;
  switch (i.sub & 3) {
    case 0: c = cpu.getCF() !== 0; break;
    case 1: c = cpu.getZF(); break;
    case 2: c = cpu.getCF() !== 0 || cpu.getZF(); break;
    default: c = cpu.getPF();
  }
  if (i.sub >= 4) c = !c;
  if (isEmpty(fp, 0) || isEmpty(fp, k)) {
    underflow(fp);
    setST(fp, 0, INDEFINITE);
  } else {
    // C1 is only defined (0) for a stack underflow: otherwise it is left alone.
    if (c) {
      const a = 2 * phys(fp, 0);
      const b = 2 * phys(fp, k);
      fp.stBits[a] = fp.stBits[b]!;
      fp.stBits[a + 1] = fp.stBits[b + 1]!;
    }
  }
  x87End(fp);
}
