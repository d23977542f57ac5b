/**
 * Which RFLAGS bits each instruction leaves architecturally undefined, so
 * the differential tests compare only what the SDM defines. Each entry
 * quotes the "Flags Affected" section of the Intel SDM vol. 2 (order
 * number 325383, 2024) for the instruction; AMD's APM vol. 3 agrees on all
 * of these. The mask returned is the set of bits to COMPARE.
 */
import { TESTED_FLAGS } from './layout.js';

const CF = 0x1;
const PF = 0x4;
const AF = 0x10;
const ZF = 0x40;
const SF = 0x80;
const OF = 0x800;

/** Compare everything the tests set (arithmetic flags and DF). */
export const ALL = TESTED_FLAGS;

/**
 * ADD ADC SUB SBB CMP NEG INC DEC XADD CMPXCHG CMPS SCAS, and every
 * instruction that leaves flags alone (MOV, LEA, CMOVcc, SETcc, XCHG,
 * PUSH/POP, BSWAP, NOT, string moves, branches): SDM "The OF, SF, ZF, AF,
 * CF, and PF flags are set according to the result" / "None".
 */
export const DEFINED = ALL;

/** AND OR XOR TEST: "The state of the AF flag is undefined." */
export const LOGIC = ALL & ~AF;

/** MUL, IMUL (all forms): "The SF, ZF, AF, and PF flags are undefined." */
export const MUL = ALL & ~(SF | ZF | AF | PF);

/** DIV, IDIV: "The CF, OF, SF, ZF, AF, and PF flags are undefined." */
export const DIV = ALL & ~(CF | OF | SF | ZF | AF | PF);

/** BT BTS BTR BTC: "The ZF flag is unaffected. The OF, SF, AF, and PF flags are undefined." */
export const BT = ALL & ~(OF | SF | AF | PF);

/** BSF, BSR: "The CF, OF, SF, AF, and PF flags are undefined." (ZF defined.) */
export const BSF = ALL & ~(CF | OF | SF | AF | PF);

/**
 * SHL SHR SAL SAR: "If the count is 0, the flags are not affected." Else
 * "The OF flag is affected only on 1-bit shifts ... otherwise it is
 * undefined", "For a non-zero count, the AF flag is undefined", and CF "is
 * undefined for SHL and SHR instructions where the count is greater than or
 * equal to the size (in bits) of the destination operand". `count` is the
 * masked count (5 bits, 6 with REX.W).
 */
export function shiftMask(kind: 'shl' | 'shr' | 'sar', count: number, bits: number): number {
  if (count === 0) return ALL;
  let m = ALL & ~AF;
  if (count !== 1) m &= ~OF;
  if (kind !== 'sar' && count >= bits) m &= ~CF;
  return m;
}

/**
 * ROL ROR RCL RCR: "If the masked count is 0, the flags are not affected.
 * If the masked count is 1, then the OF flag is affected, otherwise (masked
 * count is greater than 1) the OF flag is undefined. The CF flag is
 * affected when the masked count is non-zero. The SF, ZF, AF, and PF flags
 * are always unaffected." (They are compared: they must not change.)
 */
export function rotateMask(count: number): number {
  return count > 1 ? ALL & ~OF : ALL;
}

/**
 * SHLD, SHRD: "If the count is 1 or greater, the CF flag is filled with the
 * last bit shifted out ... For a 1-bit shift, the OF flag is set if a sign
 * change occurred; otherwise, it is cleared. For shifts greater than 1 bit,
 * the OF flag is undefined. ... For a non-zero count, the AF flag is
 * undefined. If the count operand is 0, the flags are not affected. If the
 * count is greater than the operand size, the flags are undefined."
 */
export function shiftDoubleMask(count: number, bits: number): number {
  if (count === 0) return ALL;
  if (count > bits) return ALL & ~(CF | OF | SF | ZF | AF | PF);
  let m = ALL & ~AF;
  if (count !== 1) m &= ~OF;
  return m;
}
