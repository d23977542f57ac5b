/**
 * A small x86-64 encoder for the differential tests: legacy prefixes, REX,
 * opcode, ModRM/SIB/displacement (every 64- and 32-bit addressing form,
 * RIP-relative included) and immediates, so the generators can ask for an
 * exact form ("SIB with no base", "disp8 on r13", "AH with no REX").
 */
import { CODE_IP } from './layout.js';

/** A register operand (r 0-15; hi = AH/CH/DH/BH, encoded as 4-7 without REX). */
export interface RegOp {
  readonly kind: 'reg';
  readonly r: number;
  readonly hi?: boolean;
}

/** A memory operand. `ripTarget` makes it RIP-relative to that absolute address. */
export interface MemOp {
  readonly kind: 'mem';
  readonly base?: number;
  readonly index?: number;
  readonly scale?: number;
  readonly disp: number;
  /** Force a displacement width (0, 1 or 4 bytes) where the form allows it. */
  readonly dispSize?: 0 | 1 | 4;
  readonly ripTarget?: number;
  /** 32-bit address size (a 67 prefix). */
  readonly a32?: boolean;
}

/** Either kind of ModRM.rm operand. */
export type RmOp = RegOp | MemOp;

/** What to encode. */
export interface EncodeSpec {
  /** Legacy prefixes (66, F2, F3, segment), emitted in this order. */
  readonly prefixes?: readonly number[];
  readonly w?: boolean;
  /** Emit a REX byte even when no bit is needed (SPL..DIL naming). */
  readonly rex?: boolean;
  readonly op: readonly number[];
  /** ModRM.reg: a register number (0-15) or a /digit. */
  readonly reg: number;
  readonly regHi?: boolean;
  readonly rm: RmOp;
  readonly imm?: readonly number[];
  /** G (ModRM.reg) is a byte register: 4-7 without `regHi` need a REX (SPL..DIL). */
  readonly byteReg?: boolean;
  /** E is a byte register likewise. */
  readonly byteRm?: boolean;
}

/** Little-endian bytes of the low `n` bytes of `v`. */
export function le(v: number | bigint, n: number): number[] {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  for (let k = 0; k < n; k++, x >>= 8n) out.push(Number(x & 0xffn));
  return out;
}

/** Encodes a ModRM instruction placed at CODE_IP. */
export function encode(s: EncodeSpec): Uint8Array {
  const rm = s.rm;
  const bytes: number[] = [];
  const pre = [...(s.prefixes ?? [])];
  if (rm.kind === 'mem' && rm.a32) pre.push(0x67);
  let rex = s.w ? 8 : 0;
  if (s.reg & 8) rex |= 4;
  let needRex = s.rex === true;
  if (s.byteReg && !s.regHi && s.reg >= 4 && s.reg < 8) needRex = true;
  if (s.byteRm && rm.kind === 'reg' && !rm.hi && rm.r >= 4 && rm.r < 8) needRex = true;
  const tail: number[] = [];
  let modrm: number;
  let ripFix = -1;
  if (rm.kind === 'reg') {
    if (rm.r & 8) rex |= 1;
    modrm = 0xc0 | ((s.reg & 7) << 3) | (rm.hi ? rm.r + 4 : rm.r & 7);
  } else {
    const reg3 = (s.reg & 7) << 3;
    if (rm.ripTarget !== undefined) {
      modrm = reg3 | 5;
      ripFix = tail.length;
      tail.push(0, 0, 0, 0);
    } else {
      const base = rm.base;
      const index = rm.index;
      const d = rm.disp | 0;
      const small = d >= -128 && d <= 127;
      let mod: number;
      let dsz: number;
      if (base === undefined) {
        mod = 0;
        dsz = 4;
      } else if (rm.dispSize !== undefined && !(rm.dispSize === 0 && (base & 7) === 5)) {
        mod = rm.dispSize === 0 ? 0 : rm.dispSize === 1 ? 1 : 2;
        dsz = rm.dispSize;
      } else if (d === 0 && (base & 7) !== 5) {
        mod = 0;
        dsz = 0;
      } else {
        mod = small ? 1 : 2;
        dsz = small ? 1 : 4;
      }
      if (index !== undefined || base === undefined || (base & 7) === 4) {
        // SIB: no index is encoded as 4 (without REX.X); no base as 5 with mod 0.
        const idx = index ?? 4;
        if (idx & 8) rex |= 2;
        if (base !== undefined && base & 8) rex |= 1;
        const sib = ((rm.scale ?? 0) << 6) | ((idx & 7) << 3) | (base === undefined ? 5 : base & 7);
        modrm = (mod << 6) | reg3 | 4;
        tail.push(sib);
      } else {
        if (base & 8) rex |= 1;
        modrm = (mod << 6) | reg3 | (base & 7);
      }
      tail.push(...le(d, dsz));
    }
  }
  if (rex !== 0) needRex = true;
  bytes.push(...pre);
  if (needRex) bytes.push(0x40 | rex);
  bytes.push(...s.op, modrm, ...tail, ...(s.imm ?? []));
  if (ripFix >= 0 && rm.kind === 'mem') {
    const at = bytes.length - (s.imm?.length ?? 0) - tail.length + ripFix;
    const rel = rm.ripTarget! - (CODE_IP + bytes.length);
    bytes.splice(at, 4, ...le(rel, 4));
  }
  return Uint8Array.from(bytes);
}

/** Encodes an instruction with the register in the opcode's low bits (PUSH r, MOV r, imm, BSWAP, XCHG rAX). */
export function encodeOpReg(op: readonly number[], r: number, opts: { prefixes?: readonly number[]; w?: boolean; imm?: readonly number[]; rex?: boolean } = {}): Uint8Array {
  const rex = (opts.w ? 8 : 0) | (r & 8 ? 1 : 0);
  const out = [...(opts.prefixes ?? [])];
  if (rex !== 0 || opts.rex) out.push(0x40 | rex);
  const last = op.length - 1;
  out.push(...op.slice(0, last), op[last]! + (r & 7), ...(opts.imm ?? []));
  return Uint8Array.from(out);
}
