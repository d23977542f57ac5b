/**
 * Interrupt contracts. Devices raise interrupts through an `IrqLine` (a GSI)
 * or an `MsiTarget`; the backend decides what is behind them (KVM's
 * in-kernel irqchip, or the chipset/ models for the emulator). The
 * emulator's vCPU pulls interrupts from an `InterruptSource` (its LAPIC).
 */

/** A wire from a device to an interrupt controller input (a GSI). */
export interface IrqLine {
  /** The global system interrupt number this line drives. */
  readonly gsi: number;
  /** Drives a level-triggered line high (true) or low (false). */
  set(level: boolean): void;
  /** An edge: raise then lower. */
  pulse(): void;
}

/** An MSI message as the device writes it (address and data, 32-bit each). */
export interface MsiMessage {
  readonly addressLo: number;
  readonly addressHi: number;
  readonly data: number;
}

/** Where a device sends message-signalled interrupts. */
export interface MsiTarget {
  /** Delivers one MSI. */
  signal(msg: MsiMessage): void;
}

/** Receives GSI changes; what the backend puts behind IrqLines. */
export interface IrqSink {
  setIrq(gsi: number, level: boolean): void;
}

/** An IrqLine over an IrqSink. Level state is remembered so repeated sets are cheap. */
export class GsiLine implements IrqLine {
  private level = false;

  constructor(
    readonly gsi: number,
    private readonly sink: IrqSink,
  ) {}

  set(level: boolean): void {
    if (level === this.level) return;
    this.level = level;
    this.sink.setIrq(this.gsi, level);
  }

  pulse(): void {
    this.sink.setIrq(this.gsi, true);
    this.sink.setIrq(this.gsi, false);
    this.level = false;
  }

  /** The line's current level (for inspect and save). */
  get asserted(): boolean {
    return this.level;
  }
}

/**
 * What the emulator's vCPU asks before each block of instructions. Its
 * implementation is the LAPIC model in chipset/, wired up by vm/.
 *
 * DEVNOTE: `pending` is a cheap flag the vCPU polls between instruction
 * blocks; the heavier calls only happen when it is set.
 */
export interface InterruptSource {
  /** True when something may need the vCPU's attention (interrupt, NMI, INIT, SIPI). */
  readonly pending: boolean;
  /**
   * The vector of the highest-priority maskable interrupt that can be
   * delivered now, or -1. Called only when RFLAGS.IF is set and no
   * interrupt shadow is active.
   */
  peekInterrupt(): number;
  /** Marks `vector` as being serviced (IRR -> ISR): the CPU's INTA cycle. */
  acknowledgeInterrupt(vector: number): void;
  /** Takes a pending NMI, if any. */
  takeNmi(): boolean;
  /** Takes a pending INIT (reset the vCPU, then wait for SIPI), if any. */
  takeInit(): boolean;
  /** Takes a pending start-up IPI: its vector (the start page number), or -1. */
  takeSipi(): number;
}

/** An InterruptSource that never interrupts (single test guests without a LAPIC). */
export const noInterrupts: InterruptSource = {
  pending: false,
  peekInterrupt: () => -1,
  acknowledgeInterrupt: () => {},
  takeNmi: () => false,
  takeInit: () => false,
  takeSipi: () => -1,
};
