/**
 * x87, MMX and SSE register state. The x87 stack holds doubles (64-bit
 * precision, not 80-bit: enough for what userland computes; FXSAVE stores
 * them in the 80-bit layout). MMX registers alias the x87 mantissas, kept
 * as 32-bit halves. XMM registers are four 32-bit lanes each.
 */

/** The FPU/SSE state of one CPU. */
export class FpuState {
  /** x87 physical registers R0..R7 as doubles. */
  readonly st = new Float64Array(8);
  /** MMX / raw 64-bit mantissa view of R0..R7 (low, high halves) when written as MMX. */
  readonly mm = new Int32Array(16);
  /** Which physical registers currently hold an MMX (integer) value rather than a double. */
  mmxMode = 0;
  /** Tag word, 2 bits per physical register (11 = empty). */
  tag = 0xffff;
  top = 0;
  /** Control word (FINIT: 0x37F). */
  cw = 0x37f;
  /** Status word except TOP (bits 11..13, kept in `top`). */
  sw = 0;
  /** Last instruction / operand pointers and opcode (FXSAVE fields). */
  fip = 0;
  fdp = 0;
  fop = 0;
  /** XMM0..XMM15, 4 x 32-bit lanes each. */
  readonly xmm = new Int32Array(64);
  mxcsr = 0x1f80;

  /** FNINIT state. */
  init(): void {
    this.cw = 0x37f;
    this.sw = 0;
    this.top = 0;
    this.tag = 0xffff;
    this.fip = 0;
    this.fdp = 0;
    this.fop = 0;
    this.mmxMode = 0;
  }

  /** Status word with TOP folded in. */
  statusWord(): number {
    return (this.sw & ~0x3800) | ((this.top & 7) << 11);
  }
}
