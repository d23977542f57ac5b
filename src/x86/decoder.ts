/**
 * The x86-64 decoder: prefixes, REX, opcode maps, ModRM/SIB/displacement,
 * immediates. It fills an Instr and asks the opcode table for the handler
 * specialised to the operand form. One decoder serves the emulator and the
 * KVM backend's instruction fallback.
 */
import { CpuFault, Vec } from './fault.js';
import { Instr, SEG } from './instr.js';
import { OPCODES, type OpEntry, IMM, SZ } from './opcode-table.js';
import { EA_KIND, effectiveAddress } from './ea.js';
import { invalidOpcode } from './ops-misc.js';

/** Source of instruction bytes; throws CpuFault (#PF/#GP) when a byte cannot be fetched. */
export interface ByteSource {
  /** The byte at linear address `lin`. */
  byte(lin: number): number;
}

/** Decoding context: the CPU mode the bytes are interpreted in. */
export interface DecodeMode {
  /** 64-bit mode (long mode, CS.L). */
  readonly mode64: boolean;
  /** Default operand and address size 32 (CS.D) outside 64-bit mode. */
  readonly code32: boolean;
  /** CS base, to turn RIP into a linear fetch address. */
  readonly csBase: number;
}

/** The longest legal instruction. */
export const MAX_INSN_LEN = 15;

/**
 * Decodes the instruction at `rip` (an offset in CS) into `i`. Throws #UD
 * for encodings that are undefined or longer than 15 bytes, and whatever
 * the byte source throws.
 */
export function decode(src: ByteSource, mode: DecodeMode, rip: number, i: Instr): Instr {
  const base = mode.csBase + rip;
  let p = 0;
  const next = (): number => {
    if (p >= MAX_INSN_LEN) throw new CpuFault(Vec.GP, 0);
    return src.byte(base + p++);
  };
  const mode64 = mode.mode64;
  let opsize16 = false;
  let adsize = false;
  let seg = -1;
  let rep = 0;
  let lock = false;
  let rex = 0;
  let pfx = 0;
  let b: number;
  for (;;) {
    b = next();
    switch (b) {
      case 0x66: opsize16 = true; pfx = pfx || 0x66; rex = 0; continue;
      case 0x67: adsize = true; rex = 0; continue;
      case 0xf0: lock = true; rex = 0; continue;
      case 0xf2: rep = 2; pfx = 0xf2; rex = 0; continue;
      case 0xf3: rep = 1; pfx = 0xf3; rex = 0; continue;
      // In 64-bit mode ES/CS/SS/DS overrides are null prefixes: they do not undo an earlier FS/GS.
      case 0x26: if (!(mode64 && seg >= SEG.FS)) seg = SEG.ES; rex = 0; continue;
      case 0x2e: if (!(mode64 && seg >= SEG.FS)) seg = SEG.CS; rex = 0; continue;
      case 0x36: if (!(mode64 && seg >= SEG.FS)) seg = SEG.SS; rex = 0; continue;
      case 0x3e: if (!(mode64 && seg >= SEG.FS)) seg = SEG.DS; rex = 0; continue;
      case 0x64: seg = SEG.FS; rex = 0; continue;
      case 0x65: seg = SEG.GS; rex = 0; continue;
    }
    if (mode64 && (b & 0xf0) === 0x40) {
      rex = b;
      continue;
    }
    break;
  }
  // A 66 prefix after F2/F3 does not change the mandatory prefix; F2/F3 win.
  let op = b;
  if (b === 0x0f) {
    const b2 = next();
    if (b2 === 0x38) op = 0x200 + next();
    else if (b2 === 0x3a) op = 0x300 + next();
    else op = 0x100 + b2;
  }
  const entry: OpEntry | undefined = OPCODES[op];

  const rexW = (rex & 8) !== 0;
  i.rex = rex !== 0;
  i.op = op;
  i.rep = rep;
  i.lock = lock;
  i.pfx = pfx;
  i.rip = rip;
  i.mem = false;
  i.regHi = false;
  i.rmHi = false;
  i.imm = 0;
  i.immHi = 0;
  i.imm2 = 0;
  i.target = 0;
  i.ends = false;
  i.segOverride = seg >= 0;
  // Instructions without ModRM that read memory (string ops, XLAT) take the override from here.
  i.seg = seg >= 0 ? seg : SEG.DS;

  // Operand and address sizes.
  const def32 = mode64 || mode.code32;
  let osize = rexW ? 8 : opsize16 === def32 ? 2 : 4;
  const asize = mode64 ? (adsize ? 4 : 8) : adsize === mode.code32 ? 2 : 4;
  if (entry) {
    switch (entry.size) {
      case SZ.B: osize = 1; break;
      case SZ.D64: if (mode64 && !opsize16) osize = 8; break;
      case SZ.F64: if (mode64) osize = 8; break;
      case SZ.W: osize = 2; break;
    }
  }
  i.osize = osize;
  i.asize = asize;

  // ModRM, SIB, displacement.
  let ext = 0;
  let ripRel = false;
  if (entry?.modrm) {
    const modrm = next();
    const mod = modrm >> 6;
    ext = (modrm >> 3) & 7;
    const rmLow = modrm & 7;
    i.ext = ext;
    i.reg = ext | ((rex & 4) << 1);
    if (osize === 1 && rex === 0 && ext >= 4 && entry.size === SZ.B) {
      i.reg = ext - 4;
      i.regHi = true;
    }
    if (mod === 3) {
      i.mem = false;
      i.rm = rmLow | ((rex & 1) << 3);
      if (rex === 0 && rmLow >= 4 && ((osize === 1 && entry.size === SZ.B) || entry.rm8 === true)) {
        i.rm = rmLow - 4;
        i.rmHi = true;
      }
    } else {
      i.mem = true;
      ripRel = decodeMem(next, i, mod, rmLow, rex, asize, mode64, seg);
    }
  } else {
    i.ext = 0;
    i.reg = 0;
    i.rm = 0;
    if (entry?.ro) {
      // Register in the opcode's low bits (push r, mov r, imm, xchg, bswap).
      // From the last opcode byte: `b` is 0x0F for BSWAP (0F C8+r).
      i.reg = i.rm = (op & 7) | ((rex & 1) << 3);
      if (osize === 1 && rex === 0 && (op & 7) >= 4) {
        i.rm = i.reg = (op & 7) - 4;
        i.rmHi = i.regHi = true;
      }
    }
  }
  if (!entry) {
    i.len = p;
    i.next = rip + p;
    i.fn = invalidOpcode;
    i.ends = true;
    return i;
  }

  // Immediates.
  switch (entry.imm) {
    case IMM.NONE: break;
    case IMM.GRP3:
      if (ext < 2) {
        if (osize === 1) i.imm = next();
        else if (osize === 2) i.imm = next() | (next() << 8);
        else {
          i.imm = next() | (next() << 8) | (next() << 16) | (next() << 24);
          i.immHi = i.imm >> 31;
        }
      }
      break;
    case IMM.B: i.imm = next(); break;
    case IMM.BS: i.imm = (next() << 24) >> 24; i.immHi = i.imm >> 31; break;
    case IMM.W: i.imm = next() | (next() << 8); break;
    case IMM.Z:
      if (osize === 2) i.imm = next() | (next() << 8);
      else {
        i.imm = next() | (next() << 8) | (next() << 16) | (next() << 24);
        i.immHi = i.imm >> 31;
      }
      break;
    case IMM.V:
      if (osize === 2) i.imm = next() | (next() << 8);
      else {
        i.imm = next() | (next() << 8) | (next() << 16) | (next() << 24);
        i.immHi = osize === 8 ? next() | (next() << 8) | (next() << 16) | (next() << 24) : 0;
      }
      break;
    case IMM.ENTER: i.imm = next() | (next() << 8); i.imm2 = next(); break;
    case IMM.FAR: {
      // ptr16:16 or ptr16:32 (invalid in 64-bit mode: the table rejects it).
      const n = osize === 2 ? 2 : 4;
      let off = 0;
      for (let k = 0; k < n; k++) off |= next() << (8 * k);
      i.imm = off >>> 0;
      i.imm2 = next() | (next() << 8);
      break;
    }
    case IMM.MOFFS: {
      // An absolute address of the address size (8 bytes in 64-bit mode).
      let lo = 0;
      let hi = 0;
      const n = asize;
      for (let k = 0; k < Math.min(n, 4); k++) lo |= next() << (8 * k);
      for (let k = 4; k < n; k++) hi |= next() << (8 * (k - 4));
      i.mem = true;
      i.base = -1;
      i.index = -1;
      i.disp = n === 8 ? hi * 4294967296 + (lo >>> 0) : lo >>> 0;
      i.seg = seg >= 0 ? seg : SEG.DS;
      i.eaKind = pickEa(i, mode64, seg);
      i.ea = effectiveAddress;
      break;
    }
    case IMM.REL8: {
      const d = (next() << 24) >> 24;
      i.imm = d;
      break;
    }
    case IMM.REL32: {
      if (osize === 2 && !mode64) i.imm = (next() | (next() << 8)) << 16 >> 16;
      else i.imm = next() | (next() << 8) | (next() << 16) | (next() << 24);
      break;
    }
  }
  i.len = p;
  i.next = rip + p;
  if (!mode64) i.next = mode.code32 ? i.next >>> 0 : i.next & 0xffff;
  if (ripRel) i.disp += i.next;
  if (entry.imm === IMM.REL8 || entry.imm === IMM.REL32) {
    const t = i.next + i.imm;
    i.target = mode64 ? t : osize === 2 ? t & 0xffff : t >>> 0;
  }
  i.ends = entry.ends === true;
  // LOCK is only legal on the read-modify-write instructions with a memory destination (SDM vol. 2, LOCK).
  const fn = lock && !(i.mem && lockable(op, ext)) ? null : entry.h(i, mode64);
  i.fn = fn ?? invalidOpcode;
  if (!fn) i.ends = true;
  return i;
}

/** The instructions LOCK may prefix (when their destination is memory). */
function lockable(op: number, ext: number): boolean {
  if (op < 0x40) return (op & 7) <= 1 && op !== 0x38 && op !== 0x39; // ADD..XOR E,G (not CMP)
  switch (op) {
    case 0x80: case 0x81: case 0x83: return ext !== 7; // group 1 except CMP
    case 0x86: case 0x87: return true; // XCHG
    case 0xf6: case 0xf7: return ext === 2 || ext === 3; // NOT, NEG
    case 0xfe: case 0xff: return ext <= 1; // INC, DEC
    case 0x1ab: case 0x1b3: case 0x1bb: return true; // BTS, BTR, BTC
    case 0x1ba: return ext >= 5;
    case 0x1b0: case 0x1b1: case 0x1c0: case 0x1c1: return true; // CMPXCHG, XADD
    case 0x1c7: return ext === 1; // CMPXCHG8B/16B
    default: return false;
  }
}

/** Decodes a memory operand; returns true for RIP-relative addressing. */
function decodeMem(
  next: () => number,
  i: Instr,
  mod: number,
  rmLow: number,
  rex: number,
  asize: number,
  mode64: boolean,
  seg: number,
): boolean {
  let ripRel = false;
  i.base = -1;
  i.index = -1;
  i.scale = 0;
  i.disp = 0;
  let defSeg: number = SEG.DS;
  if (asize === 2) {
    // 16-bit addressing: [BX+SI], [BX+DI], [BP+SI], [BP+DI], [SI], [DI], [BP]/disp16, [BX].
    const bases = [3, 3, 5, 5, 6, 7, 5, 3];
    const idx = [6, 7, 6, 7, -1, -1, -1, -1];
    if (mod === 0 && rmLow === 6) {
      i.disp = next() | (next() << 8);
    } else {
      i.base = bases[rmLow]!;
      i.index = idx[rmLow]!;
      if (rmLow === 2 || rmLow === 3 || rmLow === 6) defSeg = SEG.SS;
      if (mod === 1) i.disp = (next() << 24) >> 24;
      else if (mod === 2) i.disp = ((next() | (next() << 8)) << 16) >> 16;
    }
    i.seg = seg >= 0 ? seg : defSeg;
    i.eaKind = EA_KIND.a16;
    i.ea = effectiveAddress;
    return false;
  }
  if (rmLow === 4) {
    const sib = next();
    const sbase = sib & 7;
    const sidx = ((sib >> 3) & 7) | ((rex & 2) << 2);
    i.scale = sib >> 6;
    if (sidx !== 4) i.index = sidx;
    if (sbase === 5 && mod === 0) {
      i.disp = next() | (next() << 8) | (next() << 16) | (next() << 24);
    } else {
      i.base = sbase | ((rex & 1) << 3);
      if (i.base === 4 || i.base === 5) defSeg = SEG.SS;
    }
  } else if (rmLow === 5 && mod === 0) {
    i.disp = next() | (next() << 8) | (next() << 16) | (next() << 24);
    ripRel = mode64;
  } else {
    i.base = rmLow | ((rex & 1) << 3);
    if (i.base === 4 || i.base === 5) defSeg = SEG.SS;
  }
  if (mod === 1) i.disp = (next() << 24) >> 24;
  else if (mod === 2) i.disp = next() | (next() << 8) | (next() << 16) | (next() << 24);
  i.seg = seg >= 0 ? seg : defSeg;
  i.eaKind = pickEa(i, mode64, seg);
  i.ea = effectiveAddress;
  return ripRel;
}

/** Chooses the addressing form (EA_KIND) of a memory operand. */
function pickEa(i: Instr, mode64: boolean, seg: number): number {
  if (i.asize === 2) return EA_KIND.a16;
  if (!mode64 || i.asize === 4) {
    // 32-bit addressing: segment bases always apply outside 64-bit mode.
    return mode64 && seg !== SEG.FS && seg !== SEG.GS ? EA_KIND.a32flat : EA_KIND.a32;
  }
  const fsgs = seg === SEG.FS || seg === SEG.GS;
  if (i.base < 0 && i.index < 0) return fsgs ? EA_KIND.absSeg : EA_KIND.abs;
  if (i.index < 0) return fsgs ? EA_KIND.bSeg : EA_KIND.b;
  if (i.base < 0) return fsgs ? EA_KIND.iSeg : EA_KIND.i;
  return fsgs ? EA_KIND.biSeg : EA_KIND.bi;
}
