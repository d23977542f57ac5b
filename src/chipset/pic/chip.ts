/**
 * One 8259A: request, in-service and mask registers, the priority resolver,
 * and the ICW/OCW command state machine. pic.ts pairs two of them.
 */
import * as R from './regs.js';

/** The saved state of one 8259A (named keys; see Pic's SavedState). */
export interface PicChipState {
  readonly irr: number;
  readonly isr: number;
  readonly imr: number;
  readonly lines: number;
  readonly elcr: number;
  readonly priorityAdd: number;
  readonly readIsr: boolean;
  readonly poll: boolean;
  readonly specialMask: boolean;
  readonly initStep: number;
  readonly icw4Needed: boolean;
  readonly single: boolean;
  readonly levelMode: boolean;
  readonly vectorBase: number;
  readonly icw3: number;
  readonly autoEoi: boolean;
  readonly rotateOnAutoEoi: boolean;
  readonly specialFullyNested: boolean;
}

/** No init sequence in progress: data-port writes go to the IMR. */
const INIT_READY = 0;
const INIT_ICW2 = 1;
const INIT_ICW3 = 2;
const INIT_ICW4 = 3;

/** One 8259A programmable interrupt controller. */
export class PicChip {
  /** Interrupt request register. */
  irr = 0;
  /** In-service register. */
  isr = 0;
  /** Interrupt mask register (OCW1). */
  imr = 0;
  /** Current levels of the IR0-IR7 inputs (edge detection). */
  lines = 0;
  /** Edge/level control bits (ELCR); 1 = level-triggered. */
  elcr = 0;
  /** The IR with the highest priority (rotation moves it). */
  priorityAdd = 0;
  readIsr = false;
  poll = false;
  specialMask = false;
  initStep = INIT_READY;
  icw4Needed = false;
  single = false;
  levelMode = false;
  vectorBase = 0;
  icw3 = 0;
  autoEoi = false;
  rotateOnAutoEoi = false;
  specialFullyNested = false;
  /** ICW4 with µPM = 0 (MCS-80/85 mode), treated as 8086 mode. */
  unsupportedModes = 0;
  /** EOIs with nothing in service. */
  spuriousEois = 0;

  constructor(
    /** The master resolves the cascade input with special fully nested mode. */
    readonly isMaster: boolean,
    /** Which ELCR bits exist for this chip. */
    readonly elcrMask: number,
  ) {}

  /** Power-on state. Input levels are wires, not chip state, and survive. */
  reset(): void {
    this.irr = 0;
    this.isr = 0;
    this.imr = 0;
    this.elcr = 0;
    this.priorityAdd = 0;
    this.readIsr = false;
    this.poll = false;
    this.specialMask = false;
    this.initStep = INIT_READY;
    this.icw4Needed = false;
    this.single = false;
    this.levelMode = false;
    this.vectorBase = 0;
    this.icw3 = 0;
    this.autoEoi = false;
    this.rotateOnAutoEoi = false;
    this.specialFullyNested = false;
    this.irr = this.lines & this.levelPins();
  }

  /** Pins that are level-triggered (LTIM or their ELCR bit). */
  levelPins(): number {
    return this.levelMode ? 0xff : this.elcr;
  }

  /**
   * Drives input `pin`. Edge-triggered inputs latch a rising edge in the IRR
   * until the INTA, so a pulse (raise then lower at once) is not lost, as in
   * QEMU and KVM; level-triggered inputs make the IRR bit follow the line.
   */
  setInput(pin: number, level: boolean): void {
    const bit = 1 << pin;
    if (this.levelPins() & bit) {
      this.irr = level ? this.irr | bit : this.irr & ~bit;
    } else if (level && !(this.lines & bit)) {
      this.irr |= bit;
    }
    this.lines = level ? this.lines | bit : this.lines & ~bit;
  }

  /** Writes the ELCR; inputs that became level-triggered take their line's level. */
  writeElcr(value: number): void {
    const before = this.levelPins();
    this.elcr = value & this.elcrMask;
    const becameLevel = this.levelPins() & ~before;
    this.irr = (this.irr & ~becameLevel) | (this.lines & becameLevel);
  }

  /** Priority rank (0 = highest) of the best bit in `mask`, or 8 if none. */
  private rank(mask: number): number {
    if (mask === 0) return 8;
    for (let p = 0; p < 8; p++) {
      if (mask & (1 << ((p + this.priorityAdd) & 7))) return p;
    }
    return 8;
  }

  /** The IR the resolver would present now (higher than everything in service), or -1. */
  highestRequest(): number {
    const req = this.rank(this.irr & ~this.imr);
    if (req === 8) return -1;
    let inService = this.isr;
    // Special mask mode lets masked in-service levels stop blocking others.
    if (this.specialMask) inService &= ~this.imr;
    // Special fully nested mode: a slave's higher request may nest inside IR2.
    if (this.specialFullyNested && this.isMaster) inService &= ~(1 << R.CASCADE_IRQ);
    return req < this.rank(inService) ? (req + this.priorityAdd) & 7 : -1;
  }

  /** The INTA for `irq`: sets it in service (or auto-EOIs), clears an edge request. */
  acknowledge(irq: number): void {
    const bit = 1 << irq;
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.priorityAdd = (irq + 1) & 7;
    } else {
      this.isr |= bit;
    }
    if (!(this.levelPins() & bit)) this.irr &= ~bit;
  }

  /** A read of the command port: the poll word, or the IRR/ISR per OCW3. */
  readCommand(): number {
    if (this.poll) {
      this.poll = false;
      const irq = this.highestRequest();
      if (irq < 0) return 0;
      this.acknowledge(irq);
      return R.POLL_INTERRUPT | irq;
    }
    return this.readIsr ? this.isr : this.irr;
  }

  /** A read of the data port: the IMR. */
  readData(): number {
    return this.imr;
  }

  /** A write to the command port: ICW1, OCW2 or OCW3. */
  writeCommand(value: number): void {
    if (value & R.ICW1_INIT) this.icw1(value);
    else if (value & R.OCW3_SELECT) this.ocw3(value);
    else this.ocw2(value);
  }

  /** A write to the data port: the next ICW during initialisation, else OCW1 (IMR). */
  writeData(value: number): void {
    switch (this.initStep) {
      case INIT_ICW2:
        this.vectorBase = value & R.ICW2_VECTOR_MASK;
        this.initStep = this.single ? this.afterIcw3() : INIT_ICW3;
        break;
      case INIT_ICW3:
        this.icw3 = value;
        this.initStep = this.afterIcw3();
        break;
      case INIT_ICW4:
        if (!(value & R.ICW4_UPM)) this.unsupportedModes++;
        this.autoEoi = (value & R.ICW4_AEOI) !== 0;
        this.specialFullyNested = (value & R.ICW4_SFNM) !== 0;
        this.initStep = INIT_READY;
        break;
      default:
        this.imr = value;
    }
  }

  private afterIcw3(): number {
    return this.icw4Needed ? INIT_ICW4 : INIT_READY;
  }

  // ICW1 per the datasheet: the edge-sense circuit resets (an edge input
  // needs a new rising edge), the IMR clears, IR7 becomes the lowest
  // priority, special mask mode clears and status reads select the IRR.
  private icw1(value: number): void {
    this.levelMode = (value & R.ICW1_LTIM) !== 0;
    this.single = (value & R.ICW1_SNGL) !== 0;
    this.icw4Needed = (value & R.ICW1_IC4) !== 0;
    this.imr = 0;
    this.isr = 0;
    this.irr = this.lines & this.levelPins();
    this.priorityAdd = 0;
    this.specialMask = false;
    this.readIsr = false;
    this.poll = false;
    // Without ICW4 "all functions selected in ICW4 are set to zero".
    this.autoEoi = false;
    this.rotateOnAutoEoi = false;
    this.specialFullyNested = false;
    this.initStep = INIT_ICW2;
  }

  private ocw2(value: number): void {
    const level = value & 7;
    switch (value >>> R.OCW2_CMD_SHIFT) {
      case R.OCW2_CLEAR_ROTATE_AEOI:
        this.rotateOnAutoEoi = false;
        break;
      case R.OCW2_SET_ROTATE_AEOI:
        this.rotateOnAutoEoi = true;
        break;
      case R.OCW2_NONSPECIFIC_EOI:
      case R.OCW2_ROTATE_NONSPECIFIC_EOI: {
        const p = this.rank(this.isr);
        if (p === 8) {
          this.spuriousEois++;
          break;
        }
        const irq = (p + this.priorityAdd) & 7;
        this.isr &= ~(1 << irq);
        if (value >>> R.OCW2_CMD_SHIFT === R.OCW2_ROTATE_NONSPECIFIC_EOI) this.priorityAdd = (irq + 1) & 7;
        break;
      }
      case R.OCW2_SPECIFIC_EOI:
      case R.OCW2_ROTATE_SPECIFIC_EOI:
        if (!(this.isr & (1 << level))) this.spuriousEois++;
        this.isr &= ~(1 << level);
        if (value >>> R.OCW2_CMD_SHIFT === R.OCW2_ROTATE_SPECIFIC_EOI) this.priorityAdd = (level + 1) & 7;
        break;
      case R.OCW2_SET_PRIORITY:
        this.priorityAdd = (level + 1) & 7;
        break;
      default: // OCW2_NOP
        break;
    }
  }

  private ocw3(value: number): void {
    if (value & R.OCW3_POLL) this.poll = true;
    if (value & R.OCW3_RR) this.readIsr = (value & R.OCW3_RIS) !== 0;
    if (value & R.OCW3_ESMM) this.specialMask = (value & R.OCW3_SMM) !== 0;
  }

  /** This chip's saved state. */
  save(): PicChipState {
    return {
      irr: this.irr,
      isr: this.isr,
      imr: this.imr,
      lines: this.lines,
      elcr: this.elcr,
      priorityAdd: this.priorityAdd,
      readIsr: this.readIsr,
      poll: this.poll,
      specialMask: this.specialMask,
      initStep: this.initStep,
      icw4Needed: this.icw4Needed,
      single: this.single,
      levelMode: this.levelMode,
      vectorBase: this.vectorBase,
      icw3: this.icw3,
      autoEoi: this.autoEoi,
      rotateOnAutoEoi: this.rotateOnAutoEoi,
      specialFullyNested: this.specialFullyNested,
    };
  }

  /** Loads a saved state (validated field by field: a bad snapshot must not poison the chip). */
  restore(s: PicChipState): void {
    this.irr = byte(s.irr);
    this.isr = byte(s.isr);
    this.imr = byte(s.imr);
    this.lines = byte(s.lines);
    this.elcr = byte(s.elcr) & this.elcrMask;
    this.priorityAdd = byte(s.priorityAdd) & 7;
    this.readIsr = s.readIsr === true;
    this.poll = s.poll === true;
    this.specialMask = s.specialMask === true;
    this.initStep = byte(s.initStep) & 3;
    this.icw4Needed = s.icw4Needed === true;
    this.single = s.single === true;
    this.levelMode = s.levelMode === true;
    this.vectorBase = byte(s.vectorBase) & R.ICW2_VECTOR_MASK;
    this.icw3 = byte(s.icw3);
    this.autoEoi = s.autoEoi === true;
    this.rotateOnAutoEoi = s.rotateOnAutoEoi === true;
    this.specialFullyNested = s.specialFullyNested === true;
  }
}

function byte(v: unknown): number {
  return typeof v === 'number' && Number.isInteger(v) ? v & 0xff : 0;
}
