/**
 * x87, MMX and SSE register state.
 *
 * XMM and MMX registers live in one ArrayBuffer (`buf`) with a view per
 * lane type, so SIMD handlers work on byte offsets with the same code for
 * an XMM register, an MMX register or a scratch slot holding a memory
 * operand. XMM r is at byte 16*r, scratch slots at T0/T1/T2, MMX r at
 * MM_OFF + 8*r.
 *
 * The x87 stack holds doubles (53-bit precision and the double exponent
 * range, not 80-bit: a documented limitation; FLD/FSTP m80 and FXSAVE
 * convert exactly where a value is representable). An MMX register and the
 * x87 register it aliases are kept as follows: `raw` has bit p set when
 * physical register p's authoritative value is the 80-bit pattern
 * (mantissa in `mm`, sign+exponent in `exp`), which is what MMX writes
 * produce (exponent 0xFFFF, as on hardware) and what FXRSTOR/FRSTOR load.
 * An MMX instruction first turns every double into its 80-bit pattern; an
 * x87 instruction that uses register values first turns raw patterns back
 * into doubles (lossy only for MMX data read as floating point, which no
 * correct program does).
 */

/** Byte offsets in FpuState.buf of the scratch slots and the MMX registers. */
export const T0 = 256;
export const T1 = 272;
export const T2 = 288;
export const MM_OFF = 304;
const BUF_SIZE = 384;

/** MXCSR bits: exception flags 0-5, DAZ, masks 7-12, rounding 13-14, FTZ. */
export const MXCSR_DAZ = 0x40;
export const MXCSR_FTZ = 0x8000;
/** The MXCSR bits this CPU implements (FXSAVE's MXCSR_MASK). */
export const MXCSR_MASK = 0xffff;

/** The FPU/SSE state of one CPU. */
export class FpuState {
  /** XMM, scratch and MMX storage (see the file comment). */
  readonly buf = new ArrayBuffer(BUF_SIZE);
  readonly u8 = new Uint8Array(this.buf);
  readonly i8 = new Int8Array(this.buf);
  readonly u16 = new Uint16Array(this.buf);
  readonly i16 = new Int16Array(this.buf);
  readonly i32 = new Int32Array(this.buf);
  readonly f32 = new Float32Array(this.buf);
  readonly f64 = new Float64Array(this.buf);
  /** XMM0..XMM15, 4 x 32-bit lanes each (a view of `buf`). */
  readonly xmm = new Int32Array(this.buf, 0, 64);
  /** MM0..MM7 as (low, high) halves: the mantissas of physical registers R0..R7 (a view of `buf`). */
  readonly mm = new Int32Array(this.buf, MM_OFF, 16);

  /** x87 physical registers R0..R7 as doubles. */
  readonly st = new Float64Array(8);
  /** The same registers' bits (low, high halves) for NaN payloads. */
  readonly stBits = new Int32Array(this.st.buffer);
  /** Sign and exponent of the 80-bit pattern of registers whose `raw` bit is set. */
  readonly exp = new Uint16Array(8);
  /** Bit p: physical register p's value is the 80-bit pattern in mm/exp, not st[p]. */
  raw = 0;
  /** Bit p: physical register p is not empty (the abridged tag word). */
  valid = 0;
  top = 0;
  /** Control word (FINIT: 0x37F). */
  cw = 0x37f;
  /** Status word except TOP (bits 11..13, kept in `top`). */
  sw = 0;
  /** Last instruction / operand pointers and opcode (stored by FXSAVE/FNSTENV; not tracked: always 0). */
  fip = 0;
  fdp = 0;
  fop = 0;
  mxcsr = 0x1f80;

  /** FNINIT state (register contents are kept, as on hardware). */
  init(): void {
    this.cw = 0x37f;
    this.sw = 0;
    this.top = 0;
    this.valid = 0;
    this.fip = 0;
    this.fdp = 0;
    this.fop = 0;
  }

  /** Power-on / RESET state: FNINIT plus cleared registers and the default MXCSR. */
  reset(): void {
    this.init();
    this.cw = 0x40;
    this.u8.fill(0);
    this.st.fill(0);
    this.exp.fill(0);
    this.raw = 0;
    this.mxcsr = 0x1f80;
  }

  /** Status word with TOP folded in. */
  statusWord(): number {
    return (this.sw & ~0x3800) | ((this.top & 7) << 11);
  }

  /** Sets the status word (TOP goes to `top`). */
  setStatusWord(v: number): void {
    this.top = (v >> 11) & 7;
    this.sw = v & 0xc7ff;
  }

  /** Recomputes ES and B (bits 7, 15) from the exception flags the control word leaves unmasked, as loads of CW/SW do. */
  syncErrorSummary(): void {
    if ((this.sw & ~this.cw & 0x3f) !== 0) this.sw |= 0x8080;
    else this.sw &= ~0x8080;
  }

  /** The abridged tag word of FXSAVE: bit p set when physical register p is not empty. */
  abridgedTag(): number {
    return this.valid & 0xff;
  }
}
