/**
 * Generic ModRM-form case makers used by the per-family differential tests:
 * one call produces one case of "op E, G" / "op G, E" / "op E, imm" /
 * "op E" in a given operand size, with E a register or a memory operand in
 * a random addressing form.
 */
import { Builder, Rng, value } from './gen.js';
import { encode, encodeOpReg, le, type RmOp } from './encode.js';
import type { DiffCase } from './layout.js';

/** Immediate kinds: byte, sign-extended byte, word, 16/32 by operand size ("z"). */
export type ImmKind = 'b' | 'w' | 'z';

/** What one ModRM case looks like. */
export interface FormOpts {
  readonly name: string;
  /** Opcode bytes (the caller picks the 8-bit or the v-size opcode). */
  readonly op: readonly number[];
  readonly size: number;
  /** /digit for group opcodes; otherwise a G register operand is allocated. */
  readonly ext?: number;
  /** Probability that E is memory (0 = never, 1 = always). */
  readonly memProb?: number;
  readonly imm?: ImmKind;
  /** Fixed immediate bytes (overrides `imm`). */
  readonly immBytes?: readonly number[];
  /** Compared flags, possibly depending on what was generated. */
  readonly flagMask: number | ((g: Generated) => number);
  /** Reserve implicit registers, set them up (runs before operands are picked). */
  readonly setup?: (b: Builder) => void;
  /** Value source for E and G (default: edge-or-random of the operand size). */
  readonly eValue?: (rng: Rng) => bigint;
  readonly gValue?: (rng: Rng) => bigint;
  /** Size of the G operand when it differs (MOVZX etc.); of E likewise. */
  readonly gSize?: number;
  readonly eSize?: number;
  /** No 66/REX.W for the size (the opcode fixes it). */
  readonly noSizePrefix?: boolean;
  /** Extra prefixes (F3 for POPCNT...). */
  readonly prefixes?: readonly number[];
  /** Registers whose result is undefined for this generated case. */
  readonly undefRegs?: (g: Generated) => number[];
}

/** What a form maker generated (for masks that depend on values). */
export interface Generated {
  readonly e: bigint;
  readonly g: bigint;
  readonly imm: bigint;
  readonly rm: RmOp;
  readonly reg: number;
  readonly builder: Builder;
}

/** Makes one ModRM case. */
export function modrmCase(rng: Rng, o: FormOpts): DiffCase {
  const size = o.size;
  const eSize = o.eSize ?? size;
  const gSize = o.gSize ?? size;
  const noRex = (eSize === 1 || gSize === 1) && size !== 8 && rng.chance(0.5);
  const b = new Builder(rng, noRex);
  o.setup?.(b);
  const e = o.eValue ? o.eValue(rng) : value(rng, eSize);
  const g = o.gValue ? o.gValue(rng) : value(rng, gSize);
  let reg = o.ext ?? 0;
  let regHi = false;
  let rm: RmOp;
  const mem = rng.next() < (o.memProb ?? 0.5);
  if (o.ext === undefined) {
    const gop = b.regOperand(gSize, g);
    reg = gop.r;
    regHi = gop.hi === true;
  }
  if (mem) rm = b.memOperand(eSize, e);
  else if (o.ext === undefined && rng.chance(0.08) && !regHi) {
    // Same register on both sides (xor eax, eax; xchg rbx, rbx).
    rm = { kind: 'reg', r: reg };
    b.setReg(reg, gSize, g);
  } else rm = b.regOperand(eSize, e);
  let immBytes: number[] = [];
  let imm = 0n;
  if (o.immBytes) immBytes = [...o.immBytes];
  else if (o.imm) {
    const n = o.imm === 'b' ? 1 : o.imm === 'w' ? 2 : Math.min(size, 4);
    imm = value(rng, n);
    immBytes = le(imm, n);
  }
  const prefixes = [...(o.prefixes ?? [])];
  if (size === 2 && !o.noSizePrefix) prefixes.unshift(0x66);
  const code = encode({ prefixes, w: size === 8 && !o.noSizePrefix, rex: !noRex && rng.chance(0.1), op: o.op, reg, regHi, rm, imm: immBytes, byteReg: gSize === 1 && o.ext === undefined, byteRm: eSize === 1 });
  const gen: Generated = { e, g, imm, rm, reg, builder: b };
  const mask = typeof o.flagMask === 'number' ? o.flagMask : o.flagMask(gen);
  const form = rm.kind === 'reg' ? 'reg' : rm.ripTarget !== undefined ? 'rip' : rm.a32 ? 'mem32' : 'mem';
  return b.build(`${o.name}/${size * 8} ${form}`, code, mask, o.undefRegs ? { undefRegs: o.undefRegs(gen) } : {});
}

/** Makes `n` cases of one form. */
export function many(rng: Rng, n: number, o: FormOpts): DiffCase[] {
  return Array.from({ length: n }, () => modrmCase(rng, o));
}

/** The opcode for a size: the 8-bit one for size 1, the v-size one otherwise. */
export function bySize(size: number, op8: readonly number[], opV: readonly number[]): readonly number[] {
  return size === 1 ? op8 : opV;
}

/** Size prefixes/REX.W options for encodeOpReg. */
export function opRegOpts(size: number, imm?: readonly number[]): { prefixes: number[]; w: boolean; imm?: readonly number[] } {
  return { prefixes: size === 2 ? [0x66] : [], w: size === 8, ...(imm ? { imm } : {}) };
}

/** Re-exported so tests building opcode-register forms need one import. */
export { encodeOpReg };

/** All operand sizes. */
export const SIZES = [1, 2, 4, 8] as const;
/** The operand sizes of v-size opcodes. */
export const VSIZES = [2, 4, 8] as const;
