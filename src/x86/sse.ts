/**
 * SSE/SSE2/MMX instructions and FXSAVE/FXRSTOR/LDMXCSR/STMXCSR. Chooses the
 * handler for an opcode in the 0F map by mandatory prefix (none, 66, F3,
 * F2) and operand form; null means #UD (an encoding the CPU does not
 * implement, or one for a feature CPUID does not advertise: SSE3 and
 * later, so the whole 0F 38 / 0F 3A maps).
 */
import type { Cpu } from './cpu.js';
import { fxrstor, fxsave, ldmxcsr, stmxcsr } from './fxsave.js';
import type { Handler, Instr } from './instr.js';
import { emms, type LaneOp, mmOff, mmWritten, mmxEnter, mmxForm } from './mmx.js';
import { mmxCheck, sseCheck, srcX } from './sse-common.js';
import { cmpPD, cmpPS, cmpSD, cmpSS, comisd, comiss } from './sse-cmp.js';
import * as cvt from './sse-cvt.js';
import * as fast from './sse-fast.js';
import { approxPS, approxSS, arithPD, arithPS, arithSD, arithSS, F_MAX, F_MIN } from './sse-float.js';
import { INT_OPS, shiftByImm, shiftByReg, shiftBytes } from './sse-int.js';
import * as mv from './sse-move.js';
import { OP_ADD, OP_DIV, OP_MUL, OP_SQRT, OP_SUB } from './sse-round.js';
import { movmsk, PACK, pmovmskb, pshuf, shufpd, shufps, UNPACK } from './sse-shuffle.js';

/** Picks a handler for a decoded form (and sets i.sub); null = #UD. */
type Choice = (i: Instr) => Handler | null;

/** The XMM form (xmm, xmm/m128) of a SIMD operation; memory operands must be 16-byte aligned. */
function xmmForm(op: LaneOp): Handler {
  return (cpu: Cpu, i: Instr): void => {
    sseCheck(cpu);
    const s = srcX(cpu, i, true);
    op(cpu.fpu, i.reg << 4, s, 16, i);
  };
}

const any = (h: Handler, sub = 0): Choice => (i) => ((i.sub = sub), h);
const memOnly = (h: Handler, sub = 0): Choice => (i) => (i.mem ? ((i.sub = sub), h) : null);
const regOnly = (h: Handler, sub = 0): Choice => (i) => (i.mem ? null : ((i.sub = sub), h));
const split = (m: Choice, r: Choice): Choice => (i) => (i.mem ? m(i) : r(i));

/** Per opcode (0F xx), the choices for no prefix, 66, F3, F2. */
const TABLE: Array<Array<Choice | null> | undefined> = new Array(256);

function row(op: number, none: Choice | null, p66: Choice | null = null, f3: Choice | null = null, f2: Choice | null = null): void {
  TABLE[op] = [none, p66, f3, f2];
}

/** An integer SIMD op in both its MMX (no prefix) and XMM (66) forms. */
function simd(op: number, f: LaneOp, sub = 0, mmxMemBytes = 8): void {
  row(op, any(mmxForm(f, mmxMemBytes), sub), any(xmmForm(f), sub));
}

// ---- moves -----------------------------------------------------------------------
row(0x10, any(mv.movLoad128), any(mv.movLoad128), any(mv.movssLoad), any(mv.movsdLoad, 0));
row(0x11, any(mv.movStore128), any(mv.movStore128), any(mv.movssStore), any(mv.movStoreLow64, 0));
row(0x12, split(any(mv.movHalfLoad, 0), any(mv.movHalfReg, 0)), memOnly(mv.movHalfLoad, 0));
row(0x13, memOnly(mv.movStoreLow64), memOnly(mv.movStoreLow64));
row(0x16, split(any(mv.movHalfLoad, 1), any(mv.movHalfReg, 1)), memOnly(mv.movHalfLoad, 1));
row(0x17, memOnly(mv.movHighStore), memOnly(mv.movHighStore));
row(0x28, any(mv.movLoad128, 1), any(mv.movLoad128, 1));
row(0x29, any(mv.movStore128, 1), any(mv.movStore128, 1));
row(0x2b, memOnly(mv.movStore128, 1), memOnly(mv.movStore128, 1));
row(0x6e, any(mv.movdToMm), any(mv.movdToXmm));
row(0x6f, any(mv.movqToMm), any(mv.movLoad128, 1), any(mv.movLoad128, 0));
row(0x7e, any(mv.movdFromMm), any(mv.movdFromXmm), any(mv.movsdLoad, 1));
row(0x7f, any(mv.movqFromMm), any(mv.movStore128, 1), any(mv.movStore128, 0));
row(0xc3, memOnly(mv.movnti));
row(0xc4, any(mv.pinsrw), any(mv.pinsrw));
row(0xc5, regOnly(mv.pextrw), regOnly(mv.pextrw));
row(0xd6, null, any(mv.movStoreLow64, 1), regOnly(mv.movq2dq), regOnly(mv.movdq2q));
row(0xe7, memOnly(mv.movqFromMm), memOnly(mv.movStore128, 1));
row(0xf7, regOnly(mv.maskmov), regOnly(mv.maskmov));
row(0x77, any(emms));

// ---- floating point ----------------------------------------------------------------
function farith(op: number, sub: number): void {
  row(op, any(arithPS, sub), any(arithPD, sub), any(arithSS, sub), any(arithSD, sub));
}
farith(0x51, OP_SQRT);
farith(0x58, OP_ADD);
farith(0x59, OP_MUL);
farith(0x5c, OP_SUB);
farith(0x5d, F_MIN);
farith(0x5e, OP_DIV);
farith(0x5f, F_MAX);
row(0x52, any(approxPS, 1), null, any(approxSS, 1));
row(0x53, any(approxPS, 0), null, any(approxSS, 0));
const logic = (f: LaneOp): Choice => any(xmmForm(f));
for (let k = 0; k < 4; k++) row(0x54 + k, any(fast.logicX, k), any(fast.logicX, k));
row(0x14, logic(UNPACK.ldq), logic(UNPACK.lqdq));
row(0x15, logic(UNPACK.hdq), logic(UNPACK.hqdq));
row(0xc6, logic(shufps), logic(shufpd));
row(0x50, regOnly(movmsk, 4), regOnly(movmsk, 8));
row(0xc2, any(cmpPS), any(cmpPD), any(cmpSS), any(cmpSD));
row(0x2e, any(comiss, 0), any(comisd, 0));
row(0x2f, any(comiss, 1), any(comisd, 1));

// ---- conversions -------------------------------------------------------------------
row(0x2a, any(cvt.cvtpi2ps), any(cvt.cvtpi2pd), any(cvt.cvtsi2s), any(cvt.cvtsi2s));
row(0x2c, any(cvt.cvtp2pi, 1), any(cvt.cvtp2pi, 1), any(cvt.cvts2si, 1), any(cvt.cvts2si, 1));
row(0x2d, any(cvt.cvtp2pi, 0), any(cvt.cvtp2pi, 0), any(cvt.cvts2si, 0), any(cvt.cvts2si, 0));
row(0x5a, any(cvt.cvtps2pd), any(cvt.cvtpd2ps), any(cvt.cvtss2sd), any(cvt.cvtsd2ss));
row(0x5b, any(cvt.cvtdq2ps), any(cvt.cvtps2dq), any(cvt.cvtps2dq));
row(0xe6, null, any(cvt.cvtpd2dq), any(cvt.cvtdq2pd), any(cvt.cvtpd2dq));

// ---- integer SIMD ------------------------------------------------------------------
simd(0x60, UNPACK.lbw, 0, 4);
simd(0x61, UNPACK.lwd, 0, 4);
simd(0x62, UNPACK.ldq, 0, 4);
simd(0x63, PACK.sswb);
simd(0x64, INT_OPS.pcmpgtb);
simd(0x65, INT_OPS.pcmpgtw);
simd(0x66, INT_OPS.pcmpgtd);
simd(0x67, PACK.uswb);
simd(0x68, UNPACK.hbw);
simd(0x69, UNPACK.hwd);
simd(0x6a, UNPACK.hdq);
simd(0x6b, PACK.ssdw);
row(0x6c, null, any(xmmForm(UNPACK.lqdq)));
row(0x6d, null, any(xmmForm(UNPACK.hqdq)));
row(0x70, any(mmxForm(pshuf), 3), any(xmmForm(pshuf), 0), any(xmmForm(pshuf), 2), any(xmmForm(pshuf), 1));
simd(0x74, INT_OPS.pcmpeqb);
simd(0x75, INT_OPS.pcmpeqw);
simd(0x76, INT_OPS.pcmpeqd);
// Shifts by register: i.sub = kind * 16 + lane bytes (kind 0 logical right, 1 arithmetic right, 2 left).
simd(0xd1, shiftByReg, 0x02);
simd(0xd2, shiftByReg, 0x04);
simd(0xd3, shiftByReg, 0x08);
simd(0xe1, shiftByReg, 0x12);
simd(0xe2, shiftByReg, 0x14);
simd(0xf1, shiftByReg, 0x22);
simd(0xf2, shiftByReg, 0x24);
simd(0xf3, shiftByReg, 0x28);
const intOps: Array<[number, LaneOp]> = [
  [0xd4, INT_OPS.paddq], [0xd5, INT_OPS.pmullw], [0xd8, INT_OPS.psubusb], [0xd9, INT_OPS.psubusw],
  [0xda, INT_OPS.pminub], [0xdb, INT_OPS.pand], [0xdc, INT_OPS.paddusb], [0xdd, INT_OPS.paddusw],
  [0xde, INT_OPS.pmaxub], [0xdf, INT_OPS.pandn], [0xe0, INT_OPS.pavgb], [0xe3, INT_OPS.pavgw],
  [0xe4, INT_OPS.pmulhuw], [0xe5, INT_OPS.pmulhw], [0xe8, INT_OPS.psubsb], [0xe9, INT_OPS.psubsw],
  [0xea, INT_OPS.pminsw], [0xeb, INT_OPS.por], [0xec, INT_OPS.paddsb], [0xed, INT_OPS.paddsw],
  [0xee, INT_OPS.pmaxsw], [0xef, INT_OPS.pxor], [0xf4, INT_OPS.pmuludq], [0xf5, INT_OPS.pmaddwd],
  [0xf6, INT_OPS.psadbw], [0xf8, INT_OPS.psubb], [0xf9, INT_OPS.psubw], [0xfa, INT_OPS.psubd],
  [0xfb, INT_OPS.psubq], [0xfc, INT_OPS.paddb], [0xfd, INT_OPS.paddw], [0xfe, INT_OPS.paddd],
];
for (const [op, f] of intOps) simd(op, f);
TABLE[0xd7] = [regOnly(pmovmskb), regOnly(fast.pmovmskbX), null, null];
// The XMM forms glibc's string functions loop on get dedicated handlers.
const fastXmm: Array<[number, Handler, number]> = [
  [0x74, fast.pcmpeqbX, 0], [0xda, fast.pminubX, 0], [0xde, fast.pmaxubX, 0], [0xdb, fast.logicX, 0], [0xdf, fast.logicX, 1],
  [0xeb, fast.logicX, 2], [0xef, fast.logicX, 3], [0xfc, fast.addSubBX, 0], [0xf8, fast.addSubBX, 1],
];
for (const [op, h, sub] of fastXmm) TABLE[op]![1] = any(h, sub);

// ---- shift groups 0F 71/72/73 by imm8 (register operand only) ------------------------
function shiftImmX(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  shiftByImm(cpu.fpu, i.rm << 4, 16, i);
}

function shiftImmM(cpu: Cpu, i: Instr): void {
  mmxCheck(cpu);
  const fp = cpu.fpu;
  mmxEnter(fp);
  shiftByImm(fp, mmOff(i.rm), 8, i);
  mmWritten(fp, i.rm);
}

function byteShift(cpu: Cpu, i: Instr): void {
  sseCheck(cpu);
  shiftBytes(cpu.fpu, i.rm << 4, i.imm & 0xff, i.sub === 1);
}

// Per group, /2 /4 /6 (and /3 /7 for 0F 73): i.sub as for the register forms.
function shiftGroup(lane: number): Choice {
  return (i) => {
    if (i.mem) return null;
    const x = i.pfx === 0x66;
    if (i.pfx !== 0 && !x) return null;
    const ext = i.ext;
    if (lane === 8 && (ext === 3 || ext === 7)) {
      if (!x) return null;
      i.sub = ext === 3 ? 1 : 0;
      return byteShift;
    }
    const kind = ext === 2 ? 0 : ext === 4 && lane !== 8 ? 1 : ext === 6 ? 2 : -1;
    if (kind < 0) return null;
    i.sub = kind * 16 + lane;
    return x ? shiftImmX : shiftImmM;
  };
}
const g71 = shiftGroup(2);
const g72 = shiftGroup(4);
const g73 = shiftGroup(8);
TABLE[0x71] = [g71, g71, null, null];
TABLE[0x72] = [g72, g72, null, null];
TABLE[0x73] = [g73, g73, null, null];

// ---- 0F AE: FXSAVE, FXRSTOR, LDMXCSR, STMXCSR (memory forms; the rest is handled by the opcode table) --
const STATE_OPS = [fxsave, fxrstor, ldmxcsr, stmxcsr];
const stateOp: Choice = (i) => (i.mem && i.ext < 4 ? STATE_OPS[i.ext]! : null);
// NP encodings: a 66, F3 or F2 prefix makes them #UD.
TABLE[0xae] = [stateOp, null, null, null];

/** The handler for an SSE/MMX-map instruction, or null for #UD. */
export function sseHandler(i: Instr): Handler | null {
  if (i.lock || i.op < 0x100 || i.op >= 0x200) return null;
  const r = TABLE[i.op - 0x100];
  if (r === undefined) return null;
  const c = r[i.pfx === 0 ? 0 : i.pfx === 0x66 ? 1 : i.pfx === 0xf3 ? 2 : 3];
  return c ? c(i) : null;
}
