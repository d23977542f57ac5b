/**
 * The opcode maps: for each opcode (one-byte 0x00-0xFF, 0F xx as 0x100+xx,
 * 0F 38 xx as 0x200+xx, 0F 3A xx as 0x300+xx) whether it has ModRM, its
 * immediate, its operand-size rule, whether it ends a block, and a chooser
 * that picks the handler for the decoded form (null = #UD).
 */
import type { Handler, Instr } from './instr.js';
import * as alu from './ops-alu.js';
import { bsfBsr, bt, popcnt } from './ops-bit.js';
import { callFar, jmpFar, retFar } from './ops-far.js';
import { inOp, outOp } from './ops-io.js';
import * as mov from './ops-mov.js';
import { divOne, imulTwo, mulOne } from './ops-muldiv.js';
import { shiftDouble, shiftGroup } from './ops-shift.js';
import * as stk from './ops-stack.js';
import { cmpsScas, insOuts, lods, movs, stos } from './ops-string.js';
import * as sys from './ops-system.js';
import { sseHandler } from './sse.js';
import { fwait, x87Handler } from './x87.js';

/** Immediate kinds. */
export const IMM = {
  NONE: 0, B: 1, BS: 2, W: 3, Z: 4, V: 5, ENTER: 6, FAR: 7, MOFFS: 8, REL8: 9, REL32: 10,
  /** F6/F7: an immediate only for /0 and /1 (TEST). */
  GRP3: 11,
} as const;

/** Operand-size rules. */
export const SZ = {
  /** 16/32/64 by prefixes and REX.W. */
  V: 0,
  /** Always 8-bit. */
  B: 1,
  /** Defaults to 64 in 64-bit mode (PUSH, POP, ...); 66 gives 16. */
  D64: 2,
  /** Always 64 in 64-bit mode (near branches). */
  F64: 3,
  /** Always 16. */
  W: 4,
} as const;

/** One opcode's decoding rules. */
export interface OpEntry {
  readonly modrm: boolean;
  readonly imm: number;
  readonly size: number;
  /** Ends a decoded block (branches, mode and flag changes, I/O, HLT...). */
  readonly ends?: boolean;
  /** The register is in the opcode's low three bits. */
  readonly ro?: boolean;
  /** ModRM.rm names an 8-bit register even though the operand size is not 8 (MOVZX/MOVSX Eb). */
  readonly rm8?: boolean;
  /** Picks the handler; may adjust the Instr (sub, osize). Null raises #UD. */
  readonly h: (i: Instr, mode64: boolean) => Handler | null;
}

/** All opcode maps, indexed as described above. */
export const OPCODES: (OpEntry | undefined)[] = new Array(0x400);

function def(op: number, e: OpEntry): void {
  OPCODES[op] = e;
}

const bySize = (h8: Handler, h16: Handler, h32: Handler, h64: Handler) => (i: Instr): Handler =>
  i.osize === 1 ? h8 : i.osize === 2 ? h16 : i.osize === 4 ? h32 : h64;
const only = (h: Handler) => (): Handler => h;
const not64 = (h: Handler) => (_i: Instr, mode64: boolean): Handler | null => (mode64 ? null : h);
const withSub = (sub: number, h: Handler) => (i: Instr): Handler => {
  i.sub = sub;
  return h;
};

// ---- one-byte map ----------------------------------------------------------------

for (let op = 0; op < 8; op++) {
  const b = op << 3;
  const sub = (i: Instr) => {
    i.sub = op;
  };
  def(b + 0, { modrm: true, imm: IMM.NONE, size: SZ.B, h: (i) => (sub(i), alu.aluEG8) });
  def(b + 1, { modrm: true, imm: IMM.NONE, size: SZ.V, h: (i) => (sub(i), bySize(alu.aluEG8, alu.aluEG16, alu.aluEG32, alu.aluEG64)(i)) });
  def(b + 2, { modrm: true, imm: IMM.NONE, size: SZ.B, h: (i) => (sub(i), alu.aluGE8) });
  def(b + 3, { modrm: true, imm: IMM.NONE, size: SZ.V, h: (i) => (sub(i), bySize(alu.aluGE8, alu.aluGE16, alu.aluGE32, alu.aluGE64)(i)) });
  def(b + 4, { modrm: false, imm: IMM.B, size: SZ.B, h: (i) => (sub(i), (i.rm = 0), alu.aluEI8) });
  def(b + 5, { modrm: false, imm: IMM.Z, size: SZ.V, h: (i) => (sub(i), (i.rm = 0), bySize(alu.aluEI8, alu.aluEI16, alu.aluEI32, alu.aluEI64)(i)) });
}
// Segment pushes/pops (invalid in 64-bit mode).
for (const [op, seg, isPop] of [[0x06, 0, false], [0x07, 0, true], [0x0e, 1, false], [0x16, 2, false], [0x17, 2, true], [0x1e, 3, false], [0x1f, 3, true]] as const) {
  def(op, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: isPop, h: (i, m64) => (m64 ? null : (i.sub = seg, isPop ? sys.popSreg : sys.pushSreg)) });
}
for (let r = 0; r < 8; r++) {
  def(0x40 + r, { modrm: false, imm: IMM.NONE, size: SZ.V, ro: true, h: (i, m64) => (m64 ? null : (i.mem = false, alu.inc)) });
  def(0x48 + r, { modrm: false, imm: IMM.NONE, size: SZ.V, ro: true, h: (i, m64) => (m64 ? null : (i.mem = false, alu.dec)) });
  def(0x50 + r, { modrm: false, imm: IMM.NONE, size: SZ.D64, ro: true, h: only(stk.pushReg) });
  def(0x58 + r, { modrm: false, imm: IMM.NONE, size: SZ.D64, ro: true, h: only(stk.popReg) });
  def(0x90 + r, { modrm: false, imm: IMM.NONE, size: SZ.V, ro: true, h: (i) => (i.reg === 0 && i.osize !== 8 ? (i.pfx === 0xf3 ? sys.pause : sys.nop) : mov.xchgAx) });
  def(0xb0 + r, { modrm: false, imm: IMM.B, size: SZ.B, ro: true, h: only(mov.movEI) });
  def(0xb8 + r, { modrm: false, imm: IMM.V, size: SZ.V, ro: true, h: only(mov.movEI) });
}
def(0x63, { modrm: true, imm: IMM.NONE, size: SZ.V, h: (_i, m64) => (m64 ? mov.movsxd : null) });
def(0x68, { modrm: false, imm: IMM.Z, size: SZ.D64, h: only(stk.pushImm) });
def(0x69, { modrm: true, imm: IMM.Z, size: SZ.V, h: only(imulTwo) });
def(0x6a, { modrm: false, imm: IMM.BS, size: SZ.D64, h: only(stk.pushImm) });
def(0x6b, { modrm: true, imm: IMM.BS, size: SZ.V, h: only(imulTwo) });
def(0x6c, { modrm: false, imm: IMM.NONE, size: SZ.B, ends: true, h: withSub(0, insOuts) });
def(0x6d, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: (i) => ((i.sub = 0), i.osize === 8 && (i.osize = 4), insOuts) });
def(0x6e, { modrm: false, imm: IMM.NONE, size: SZ.B, ends: true, h: withSub(1, insOuts) });
def(0x6f, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: (i) => ((i.sub = 1), i.osize === 8 && (i.osize = 4), insOuts) });
for (let cc = 0; cc < 16; cc++) {
  def(0x70 + cc, { modrm: false, imm: IMM.REL8, size: SZ.F64, ends: true, h: withSub(cc, stk.jcc) });
  def(0x180 + cc, { modrm: false, imm: IMM.REL32, size: SZ.F64, ends: true, h: withSub(cc, stk.jcc) });
  def(0x140 + cc, { modrm: true, imm: IMM.NONE, size: SZ.V, h: withSub(cc, mov.cmov) });
  def(0x190 + cc, { modrm: true, imm: IMM.NONE, size: SZ.B, h: withSub(cc, mov.setcc) });
}
const grp1 = (i: Instr) => {
  i.sub = i.ext;
  return bySize(alu.aluEI8, alu.aluEI16, alu.aluEI32, alu.aluEI64)(i);
};
def(0x80, { modrm: true, imm: IMM.B, size: SZ.B, h: grp1 });
def(0x81, { modrm: true, imm: IMM.Z, size: SZ.V, h: grp1 });
def(0x82, { modrm: true, imm: IMM.B, size: SZ.B, h: (i, m64) => (m64 ? null : grp1(i)) });
def(0x83, { modrm: true, imm: IMM.BS, size: SZ.V, h: grp1 });
def(0x84, { modrm: true, imm: IMM.NONE, size: SZ.B, h: withSub(0, alu.test) });
def(0x85, { modrm: true, imm: IMM.NONE, size: SZ.V, h: withSub(0, alu.test) });
def(0x86, { modrm: true, imm: IMM.NONE, size: SZ.B, h: only(mov.xchg) });
def(0x87, { modrm: true, imm: IMM.NONE, size: SZ.V, h: only(mov.xchg) });
def(0x88, { modrm: true, imm: IMM.NONE, size: SZ.B, h: only(mov.movEG) });
def(0x89, { modrm: true, imm: IMM.NONE, size: SZ.V, h: only(mov.movEG) });
def(0x8a, { modrm: true, imm: IMM.NONE, size: SZ.B, h: only(mov.movGE) });
def(0x8b, { modrm: true, imm: IMM.NONE, size: SZ.V, h: only(mov.movGE) });
def(0x8c, { modrm: true, imm: IMM.NONE, size: SZ.V, h: only(sys.movESreg) });
def(0x8d, { modrm: true, imm: IMM.NONE, size: SZ.V, h: (i) => (i.mem ? mov.lea : null) });
def(0x8e, { modrm: true, imm: IMM.NONE, size: SZ.W, ends: true, h: only(sys.movSregE) });
def(0x8f, { modrm: true, imm: IMM.NONE, size: SZ.D64, h: (i) => (i.ext === 0 ? stk.popE : null) });
def(0x98, { modrm: false, imm: IMM.NONE, size: SZ.V, h: only(mov.cbw) });
def(0x99, { modrm: false, imm: IMM.NONE, size: SZ.V, h: only(mov.cwd) });
def(0x9a, { modrm: false, imm: IMM.FAR, size: SZ.V, ends: true, h: not64(callFar) });
def(0x9b, { modrm: false, imm: IMM.NONE, size: SZ.V, h: only(fwait) });
def(0x9c, { modrm: false, imm: IMM.NONE, size: SZ.D64, h: only(stk.pushf) });
def(0x9d, { modrm: false, imm: IMM.NONE, size: SZ.D64, ends: true, h: only(stk.popf) });
def(0x9e, { modrm: false, imm: IMM.NONE, size: SZ.V, h: only(mov.sahf) });
def(0x9f, { modrm: false, imm: IMM.NONE, size: SZ.V, h: only(mov.lahf) });
def(0xa0, { modrm: false, imm: IMM.MOFFS, size: SZ.B, h: withSub(0, mov.movMoffs) });
def(0xa1, { modrm: false, imm: IMM.MOFFS, size: SZ.V, h: withSub(0, mov.movMoffs) });
def(0xa2, { modrm: false, imm: IMM.MOFFS, size: SZ.B, h: withSub(1, mov.movMoffs) });
def(0xa3, { modrm: false, imm: IMM.MOFFS, size: SZ.V, h: withSub(1, mov.movMoffs) });
// String instructions end their block: a REP may stop half-way and re-execute.
const str = (size: number, h: Handler, sub = 0): OpEntry => ({ modrm: false, imm: IMM.NONE, size, ends: true, h: withSub(sub, h) });
def(0xa4, str(SZ.B, movs));
def(0xa5, str(SZ.V, movs));
def(0xa6, str(SZ.B, cmpsScas, 0));
def(0xa7, str(SZ.V, cmpsScas, 0));
def(0xa8, { modrm: false, imm: IMM.B, size: SZ.B, h: (i) => ((i.sub = 1), (i.rm = 0), (i.mem = false), alu.test) });
def(0xa9, { modrm: false, imm: IMM.Z, size: SZ.V, h: (i) => ((i.sub = 1), (i.rm = 0), (i.mem = false), alu.test) });
def(0xaa, str(SZ.B, stos));
def(0xab, str(SZ.V, stos));
def(0xac, str(SZ.B, lods));
def(0xad, str(SZ.V, lods));
def(0xae, str(SZ.B, cmpsScas, 1));
def(0xaf, str(SZ.V, cmpsScas, 1));
const grp2 = (sub: number) => (i: Instr) => ((i.sub = sub), shiftGroup);
def(0xc0, { modrm: true, imm: IMM.B, size: SZ.B, h: grp2(2) });
def(0xc1, { modrm: true, imm: IMM.B, size: SZ.V, h: grp2(2) });
def(0xd0, { modrm: true, imm: IMM.NONE, size: SZ.B, h: grp2(0) });
def(0xd1, { modrm: true, imm: IMM.NONE, size: SZ.V, h: grp2(0) });
def(0xd2, { modrm: true, imm: IMM.NONE, size: SZ.B, h: grp2(1) });
def(0xd3, { modrm: true, imm: IMM.NONE, size: SZ.V, h: grp2(1) });
def(0xc2, { modrm: false, imm: IMM.W, size: SZ.F64, ends: true, h: withSub(1, stk.ret) });
def(0xc3, { modrm: false, imm: IMM.NONE, size: SZ.F64, ends: true, h: withSub(0, stk.ret) });
def(0xc6, { modrm: true, imm: IMM.B, size: SZ.B, h: (i) => (i.ext === 0 ? mov.movEI : null) });
def(0xc7, { modrm: true, imm: IMM.Z, size: SZ.V, h: (i) => (i.ext === 0 ? mov.movEI : null) });
def(0xc8, { modrm: false, imm: IMM.ENTER, size: SZ.D64, h: only(stk.enter) });
def(0xc9, { modrm: false, imm: IMM.NONE, size: SZ.D64, h: only(stk.leave) });
def(0xca, { modrm: false, imm: IMM.W, size: SZ.V, ends: true, h: withSub(1, retFar) });
def(0xcb, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: withSub(0, retFar) });
def(0xcc, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: only(sys.intN) });
def(0xcd, { modrm: false, imm: IMM.B, size: SZ.V, ends: true, h: only(sys.intN) });
def(0xce, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: only(sys.intN) });
def(0xcf, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: only(sys.iretOp) });
def(0xd7, { modrm: false, imm: IMM.NONE, size: SZ.B, h: (i) => ((i.seg = i.segOverride ? i.seg : 3), mov.xlat) });
for (let op = 0xd8; op <= 0xdf; op++) def(op, { modrm: true, imm: IMM.NONE, size: SZ.V, h: (i) => x87Handler(i) });
for (let k = 0; k < 4; k++) {
  def(0xe0 + k, { modrm: false, imm: IMM.REL8, size: SZ.F64, ends: true, h: withSub(k, stk.loop) });
}
def(0xe4, { modrm: false, imm: IMM.B, size: SZ.B, ends: true, h: withSub(0, inOp) });
def(0xe5, { modrm: false, imm: IMM.B, size: SZ.V, ends: true, h: withSub(0, inOp) });
def(0xe6, { modrm: false, imm: IMM.B, size: SZ.B, ends: true, h: withSub(0, outOp) });
def(0xe7, { modrm: false, imm: IMM.B, size: SZ.V, ends: true, h: withSub(0, outOp) });
def(0xec, { modrm: false, imm: IMM.NONE, size: SZ.B, ends: true, h: withSub(1, inOp) });
def(0xed, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: withSub(1, inOp) });
def(0xee, { modrm: false, imm: IMM.NONE, size: SZ.B, ends: true, h: withSub(1, outOp) });
def(0xef, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: withSub(1, outOp) });
def(0xe8, { modrm: false, imm: IMM.REL32, size: SZ.F64, ends: true, h: only(stk.callRel) });
def(0xe9, { modrm: false, imm: IMM.REL32, size: SZ.F64, ends: true, h: only(stk.jmpRel) });
def(0xea, { modrm: false, imm: IMM.FAR, size: SZ.V, ends: true, h: not64(jmpFar) });
def(0xeb, { modrm: false, imm: IMM.REL8, size: SZ.F64, ends: true, h: only(stk.jmpRel) });
def(0xf1, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: only(sys.intN) });
def(0xf4, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: only(sys.hlt) });
for (const op of [0xf5, 0xf8, 0xf9, 0xfc, 0xfd]) {
  def(op, { modrm: false, imm: IMM.NONE, size: SZ.V, h: withSub(op, sys.flagOp) });
}
def(0xfa, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: withSub(0, sys.cliSti) });
def(0xfb, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: withSub(1, sys.cliSti) });
const grp3 = (i: Instr): Handler | null => {
  switch (i.ext) {
    case 0: case 1: i.sub = 1; return alu.test;
    case 2: return alu.not;
    case 3: return alu.neg;
    case 4: case 5: return mulOne;
    default: return divOne;
  }
};
def(0xf6, { modrm: true, imm: IMM.GRP3, size: SZ.B, h: grp3 });
def(0xf7, { modrm: true, imm: IMM.GRP3, size: SZ.V, h: grp3 });
def(0xfe, { modrm: true, imm: IMM.NONE, size: SZ.B, h: (i) => (i.ext === 0 ? alu.inc : i.ext === 1 ? alu.dec : null) });
def(0xff, {
  modrm: true, imm: IMM.NONE, size: SZ.V,
  h: (i, m64) => {
    switch (i.ext) {
      case 0: return alu.inc;
      case 1: return alu.dec;
      case 2: if (m64) i.osize = 8; i.ends = true; return stk.callInd;
      case 3: i.ends = true; return callFar;
      case 4: if (m64) i.osize = 8; i.ends = true; return stk.jmpInd;
      case 5: i.ends = true; return jmpFar;
      case 6: if (m64 && i.osize === 4) i.osize = 8; return stk.pushE;
      default: return null;
    }
  },
});

// ---- two-byte map (0F xx) -----------------------------------------------------

def(0x100, { modrm: true, imm: IMM.NONE, size: SZ.V, ends: true, h: only(sys.group6) });
def(0x101, {
  modrm: true, imm: IMM.NONE, size: SZ.V, ends: true,
  h: (i) => {
    switch (i.ext) {
      case 0: case 1: case 2: case 3: return i.mem ? sys.descTable : null;
      case 4: case 6: return sys.msw;
      case 7: return sys.group7rm7;
      default: return null;
    }
  },
});
def(0x102, { modrm: true, imm: IMM.NONE, size: SZ.V, h: withSub(0, sys.larLsl) });
def(0x103, { modrm: true, imm: IMM.NONE, size: SZ.V, h: withSub(1, sys.larLsl) });
def(0x105, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: only(sys.syscall) });
def(0x106, { modrm: false, imm: IMM.NONE, size: SZ.V, h: only(sys.clts) });
def(0x107, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: only(sys.sysret) });
def(0x108, { modrm: false, imm: IMM.NONE, size: SZ.V, h: only(sys.cacheOp) });
def(0x109, { modrm: false, imm: IMM.NONE, size: SZ.V, h: only(sys.cacheOp) });
def(0x10b, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: only(sys.ud2) });
def(0x10d, { modrm: true, imm: IMM.NONE, size: SZ.V, h: only(sys.nop) });
for (let op = 0x118; op <= 0x11f; op++) def(op, { modrm: true, imm: IMM.NONE, size: SZ.V, h: only(sys.nop) });
const crdr = (sub: number, h: Handler) => (i: Instr, m64: boolean): Handler => {
  i.sub = sub;
  i.osize = m64 ? 8 : 4;
  i.mem = false; // mod is ignored: always register operands
  return h;
};
def(0x120, { modrm: true, imm: IMM.NONE, size: SZ.V, ends: true, h: crdr(0, sys.movCr) });
def(0x121, { modrm: true, imm: IMM.NONE, size: SZ.V, h: crdr(0, sys.movDr) });
def(0x122, { modrm: true, imm: IMM.NONE, size: SZ.V, ends: true, h: crdr(1, sys.movCr) });
def(0x123, { modrm: true, imm: IMM.NONE, size: SZ.V, h: crdr(1, sys.movDr) });
def(0x130, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: only(sys.wrmsrOp) });
def(0x131, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: only(sys.rdtsc) });
def(0x132, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: only(sys.rdmsrOp) });
def(0x1a0, { modrm: false, imm: IMM.NONE, size: SZ.D64, h: withSub(4, sys.pushSreg) });
def(0x1a1, { modrm: false, imm: IMM.NONE, size: SZ.D64, ends: true, h: withSub(4, sys.popSreg) });
def(0x1a8, { modrm: false, imm: IMM.NONE, size: SZ.D64, h: withSub(5, sys.pushSreg) });
def(0x1a9, { modrm: false, imm: IMM.NONE, size: SZ.D64, ends: true, h: withSub(5, sys.popSreg) });
def(0x1a2, { modrm: false, imm: IMM.NONE, size: SZ.V, ends: true, h: only(sys.cpuidOp) });
const btReg = (sub: number) => (i: Instr) => ((i.sub = sub), (i.imm2 = 0), bt);
def(0x1a3, { modrm: true, imm: IMM.NONE, size: SZ.V, h: btReg(0) });
def(0x1ab, { modrm: true, imm: IMM.NONE, size: SZ.V, h: btReg(1) });
def(0x1b3, { modrm: true, imm: IMM.NONE, size: SZ.V, h: btReg(2) });
def(0x1bb, { modrm: true, imm: IMM.NONE, size: SZ.V, h: btReg(3) });
def(0x1ba, { modrm: true, imm: IMM.B, size: SZ.V, h: (i) => (i.ext >= 4 ? ((i.sub = i.ext - 4), (i.imm2 = 1), bt) : null) });
def(0x1a4, { modrm: true, imm: IMM.B, size: SZ.V, h: withSub(2, shiftDouble) });
def(0x1a5, { modrm: true, imm: IMM.NONE, size: SZ.V, h: withSub(1, shiftDouble) });
def(0x1ac, { modrm: true, imm: IMM.B, size: SZ.V, h: withSub(2, shiftDouble) });
def(0x1ad, { modrm: true, imm: IMM.NONE, size: SZ.V, h: withSub(1, shiftDouble) });
def(0x1af, { modrm: true, imm: IMM.NONE, size: SZ.V, h: only(imulTwo) });
def(0x1b0, { modrm: true, imm: IMM.NONE, size: SZ.B, h: only(mov.cmpxchg) });
def(0x1b1, { modrm: true, imm: IMM.NONE, size: SZ.V, h: only(mov.cmpxchg) });
def(0x1b2, { modrm: true, imm: IMM.NONE, size: SZ.V, ends: true, h: withSub(2, sys.loadFarPointer) });
def(0x1b4, { modrm: true, imm: IMM.NONE, size: SZ.V, h: withSub(4, sys.loadFarPointer) });
def(0x1b5, { modrm: true, imm: IMM.NONE, size: SZ.V, h: withSub(5, sys.loadFarPointer) });
const ext = (sub: number, sign: number) => (i: Instr) => ((i.sub = sub), (i.imm2 = sign), mov.movExtend);
def(0x1b6, { modrm: true, imm: IMM.NONE, size: SZ.V, rm8: true, h: ext(1, 0) });
def(0x1b7, { modrm: true, imm: IMM.NONE, size: SZ.V, h: ext(2, 0) });
def(0x1be, { modrm: true, imm: IMM.NONE, size: SZ.V, rm8: true, h: ext(1, 1) });
def(0x1bf, { modrm: true, imm: IMM.NONE, size: SZ.V, h: ext(2, 1) });
def(0x1b8, { modrm: true, imm: IMM.NONE, size: SZ.V, h: (i) => (i.pfx === 0xf3 ? popcnt : null) });
def(0x1bc, { modrm: true, imm: IMM.NONE, size: SZ.V, h: withSub(0, bsfBsr) });
def(0x1bd, { modrm: true, imm: IMM.NONE, size: SZ.V, h: withSub(1, bsfBsr) });
def(0x1c0, { modrm: true, imm: IMM.NONE, size: SZ.B, h: only(mov.xadd) });
def(0x1c1, { modrm: true, imm: IMM.NONE, size: SZ.V, h: only(mov.xadd) });
def(0x1c7, { modrm: true, imm: IMM.NONE, size: SZ.V, h: (i) => (i.ext === 1 && i.mem ? mov.cmpxchg8b : null) });
for (let r = 0; r < 8; r++) def(0x1c8 + r, { modrm: false, imm: IMM.NONE, size: SZ.V, ro: true, h: only(mov.bswap) });
def(0x1ae, {
  modrm: true, imm: IMM.NONE, size: SZ.V,
  h: (i) => {
    if (!i.mem && i.ext >= 5) return sys.fence;
    if (i.mem && i.ext === 7) return sys.nop; // CLFLUSH
    return sseHandler(i);
  },
});

def(0x177, { modrm: false, imm: IMM.NONE, size: SZ.V, h: (i) => sseHandler(i) }); // EMMS
// SSE, MMX and the 0F 38 / 0F 3A maps: defined by sse.ts.
for (const op of sseOpcodes()) {
  if (!OPCODES[op]) def(op, { modrm: true, imm: sseImm(op), size: SZ.V, h: (i) => sseHandler(i) });
}

function sseOpcodes(): number[] {
  const ops: number[] = [];
  const ranges: Array<[number, number]> = [[0x110, 0x117], [0x128, 0x12f], [0x150, 0x17f], [0x1c2, 0x1c6], [0x1d0, 0x1ff], [0x200, 0x2ff], [0x300, 0x3ff]];
  for (const [a, b] of ranges) for (let op = a; op <= b; op++) ops.push(op);
  return ops.filter((op) => op !== 0x177);
}

function sseImm(op: number): number {
  // Opcodes with an 8-bit immediate: pshuf*, shifts by immediate, cmpps/sd, pinsrw/pextrw, shufps, 0F 3A xx.
  if (op === 0x170 || op === 0x171 || op === 0x172 || op === 0x173 || op === 0x1c2 || op === 0x1c4 || op === 0x1c5 || op === 0x1c6) return IMM.B;
  return op >= 0x300 ? IMM.B : IMM.NONE;
}
