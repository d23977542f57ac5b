/**
 * Lazy arithmetic flags (QEMU's CC_OP, v86's flags_changed): an
 * instruction records its operation, size, operands and result; a flag is
 * only computed when something reads it. Condition codes after CMP/SUB and
 * TEST/AND are decided straight from the operands.
 *
 * Values are kept as int32 halves: for sizes 1 and 2 the low half is the
 * zero-extended result, for size 4 the signed int32, for size 8 low/high.
 */

/** RFLAGS bit values. */
export const CF = 0x1;
export const PF = 0x4;
export const AF = 0x10;
export const ZF = 0x40;
export const SF = 0x80;
export const TF = 0x100;
export const IF = 0x200;
export const DF = 0x400;
export const OF = 0x800;
/** The six arithmetic flags. */
export const ARITH = CF | PF | AF | ZF | SF | OF;

/** Kinds of the last flag-setting operation. */
export const OP_NONE = 0; // all arithmetic flags are in `flags`
export const OP_ADD = 1;
export const OP_ADC = 2;
export const OP_SUB = 3;
export const OP_SBB = 4;
export const OP_LOGIC = 5; // CF = OF = 0, AF = 0
export const OP_RES = 6; // ZF, SF, PF from the result; CF, OF, AF from `flags`

const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let b = i;
  b ^= b >> 4;
  b ^= b >> 2;
  b ^= b >> 1;
  PARITY[i] = (b & 1) === 0 ? PF : 0;
}

/** Masks a value to 1, 2 or 4 bytes (4 stays signed int32). */
export function trunc(size: number, v: number): number {
  return size === 1 ? v & 0xff : size === 2 ? v & 0xffff : v | 0;
}

/** Lazy flag state; the Cpu extends it. */
export class LazyFlags {
  /** RFLAGS except the arithmetic flags covered by `fOp`. Bit 1 always set. */
  flags = 2;
  fOp = OP_NONE;
  fSize = 4;
  fA = 0;
  fAH = 0;
  fB = 0;
  fBH = 0;
  fRes = 0;
  fResH = 0;

  /** Records an ADD/SUB-family result (sizes 1, 2, 4). */
  setArith(op: number, size: number, a: number, b: number, res: number): void {
    this.fOp = op;
    this.fSize = size;
    this.fA = a;
    this.fB = b;
    this.fRes = res;
  }

  /** Records a 64-bit ADD/SUB-family result. */
  setArith64(op: number, aL: number, aH: number, bL: number, bH: number, rL: number, rH: number): void {
    this.fOp = op;
    this.fSize = 8;
    this.fA = aL;
    this.fAH = aH;
    this.fB = bL;
    this.fBH = bH;
    this.fRes = rL;
    this.fResH = rH;
  }

  /** Records a logic result (AND/OR/XOR/TEST): CF = OF = 0. */
  setLogic(size: number, res: number, resH: number): void {
    this.fOp = OP_LOGIC;
    this.fSize = size;
    this.fRes = res;
    this.fResH = resH;
  }

  /**
   * Records a result whose ZF/SF/PF come from the value and whose CF, OF and
   * AF the instruction computed itself (`cfOfAf`, as RFLAGS bits).
   */
  setResult(size: number, res: number, resH: number, cfOfAf: number): void {
    this.flags = (this.flags & ~(CF | OF | AF)) | (cfOfAf & (CF | OF | AF));
    this.fOp = OP_RES;
    this.fSize = size;
    this.fRes = res;
    this.fResH = resH;
  }

  getCF(): number {
    const size = this.fSize;
    switch (this.fOp) {
      case OP_ADD:
        return ltu(size, this.fRes, this.fResH, this.fA, this.fAH);
      case OP_ADC:
        return ltu(size, this.fRes, this.fResH, this.fA, this.fAH) | (this.fCarryIn & eq(size, this.fRes, this.fResH, this.fA, this.fAH));
      case OP_SUB:
        return ltu(size, this.fA, this.fAH, this.fB, this.fBH);
      case OP_SBB:
        return ltu(size, this.fA, this.fAH, this.fB, this.fBH) | (this.fCarryIn & eq(size, this.fA, this.fAH, this.fB, this.fBH));
      case OP_LOGIC:
        return 0;
      default:
        return this.flags & CF;
    }
  }

  /** Carry-in of the last ADC/SBB. */
  fCarryIn = 0;

  getZF(): boolean {
    if (this.fOp === OP_NONE) return (this.flags & ZF) !== 0;
    return this.fSize === 8 ? (this.fRes | this.fResH) === 0 : this.fRes === 0;
  }

  getSF(): boolean {
    if (this.fOp === OP_NONE) return (this.flags & SF) !== 0;
    switch (this.fSize) {
      case 1:
        return (this.fRes & 0x80) !== 0;
      case 2:
        return (this.fRes & 0x8000) !== 0;
      case 4:
        return this.fRes < 0;
      default:
        return this.fResH < 0;
    }
  }

  getOF(): boolean {
    const size = this.fSize;
    switch (this.fOp) {
      case OP_ADD:
      case OP_ADC:
        return signBit(size, (this.fA ^ this.fRes) & (this.fB ^ this.fRes), (this.fAH ^ this.fResH) & (this.fBH ^ this.fResH));
      case OP_SUB:
      case OP_SBB:
        return signBit(size, (this.fA ^ this.fB) & (this.fA ^ this.fRes), (this.fAH ^ this.fBH) & (this.fAH ^ this.fResH));
      case OP_LOGIC:
        return false;
      default:
        return (this.flags & OF) !== 0;
    }
  }

  getPF(): boolean {
    if (this.fOp === OP_NONE) return (this.flags & PF) !== 0;
    return PARITY[this.fRes & 0xff] !== 0;
  }

  getAF(): boolean {
    switch (this.fOp) {
      case OP_ADD:
      case OP_ADC:
      case OP_SUB:
      case OP_SBB:
        return ((this.fA ^ this.fB ^ this.fRes) & 0x10) !== 0;
      case OP_LOGIC:
        return false;
      default:
        return (this.flags & AF) !== 0;
    }
  }

  /** The full RFLAGS value (low 32 bits; the high half is always zero). */
  getFlags(): number {
    if (this.fOp === OP_NONE) return this.flags;
    let f = this.flags & ~ARITH;
    if (this.getCF()) f |= CF;
    if (this.getPF()) f |= PF;
    if (this.getAF()) f |= AF;
    if (this.getZF()) f |= ZF;
    if (this.getSF()) f |= SF;
    if (this.getOF()) f |= OF;
    return f;
  }

  /** Materialises the lazy flags into `flags` (before instructions that touch single flags). */
  materialize(): void {
    if (this.fOp !== OP_NONE) {
      this.flags = this.getFlags();
      this.fOp = OP_NONE;
    }
  }

  /** Replaces the arithmetic flags (and others in `mask`) with `value`'s bits. */
  setFlagBits(value: number, mask: number): void {
    this.materialize();
    this.flags = ((this.flags & ~mask) | (value & mask) | 2) & ~(0x8 | 0x20 | 0x8000);
  }

  /** Evaluates condition code `cc` (0-15: O NO B AE E NE BE A S NS P NP L GE LE G). */
  cond(cc: number): boolean {
    const op = this.fOp;
    if (op === OP_SUB) {
      // Decide from the operands: CMP a, b.
      const size = this.fSize;
      switch (cc) {
        case 2: return ltu(size, this.fA, this.fAH, this.fB, this.fBH) !== 0;
        case 3: return ltu(size, this.fA, this.fAH, this.fB, this.fBH) === 0;
        case 4: return this.getZF();
        case 5: return !this.getZF();
        case 6: return ltu(size, this.fA, this.fAH, this.fB, this.fBH) !== 0 || this.getZF();
        case 7: return ltu(size, this.fA, this.fAH, this.fB, this.fBH) === 0 && !this.getZF();
        case 12: return lts(size, this.fA, this.fAH, this.fB, this.fBH);
        case 13: return !lts(size, this.fA, this.fAH, this.fB, this.fBH);
        case 14: return lts(size, this.fA, this.fAH, this.fB, this.fBH) || this.getZF();
        case 15: return !lts(size, this.fA, this.fAH, this.fB, this.fBH) && !this.getZF();
      }
    } else if (op === OP_LOGIC) {
      switch (cc) {
        case 2: return false;
        case 3: return true;
        case 4: return this.getZF();
        case 5: return !this.getZF();
        case 6: return this.getZF();
        case 7: return !this.getZF();
        case 12: return this.getSF();
        case 13: return !this.getSF();
        case 14: return this.getZF() || this.getSF();
        case 15: return !this.getZF() && !this.getSF();
      }
    }
    let r: boolean;
    switch (cc >> 1) {
      case 0: r = this.getOF(); break;
      case 1: r = this.getCF() !== 0; break;
      case 2: r = this.getZF(); break;
      case 3: r = this.getCF() !== 0 || this.getZF(); break;
      case 4: r = this.getSF(); break;
      case 5: r = this.getPF(); break;
      case 6: r = this.getSF() !== this.getOF(); break;
      default: r = this.getZF() || this.getSF() !== this.getOF(); break;
    }
    return (cc & 1) === 0 ? r : !r;
  }
}

// Unsigned a < b at `size` (as 0/1).
function ltu(size: number, a: number, aH: number, b: number, bH: number): number {
  if (size === 8) {
    if (aH !== bH) return (aH >>> 0) < (bH >>> 0) ? 1 : 0;
    return (a >>> 0) < (b >>> 0) ? 1 : 0;
  }
  if (size === 4) return (a >>> 0) < (b >>> 0) ? 1 : 0;
  return a < b ? 1 : 0;
}

function eq(size: number, a: number, aH: number, b: number, bH: number): number {
  return a === b && (size !== 8 || aH === bH) ? 1 : 0;
}

// Signed a < b at `size`.
function lts(size: number, a: number, aH: number, b: number, bH: number): boolean {
  switch (size) {
    case 1: return ((a << 24) >> 24) < ((b << 24) >> 24);
    case 2: return ((a << 16) >> 16) < ((b << 16) >> 16);
    case 4: return a < b;
    default: return aH !== bH ? aH < bH : (a >>> 0) < (b >>> 0);
  }
}

function signBit(size: number, v: number, vH: number): boolean {
  switch (size) {
    case 1: return (v & 0x80) !== 0;
    case 2: return (v & 0x8000) !== 0;
    case 4: return v < 0;
    default: return vH < 0;
  }
}
