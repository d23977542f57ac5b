/**
 * The PC's cascaded 8259A pair: master at 0x20-0x21, slave at 0xA0-0xA1 on
 * the master's IR2, and the PIIX edge/level control registers at
 * 0x4D0-0x4D1. Its INTR output goes to every LAPIC's LINT0; in virtual-wire
 * (ExtINT) mode the LAPIC asks `acknowledge()` for the vector.
 *
 * DEVNOTE: Linux probes the PIC (writes the IMR, reads it back) and masks it
 * once it uses the IOAPIC; interrupts still arrive at both controllers (the
 * APIC bus drives GSIs 0-15 into each), so the masked PIC just never raises
 * INTR.
 */
import {
  type AccessSize,
  checkSavedVersion,
  inspect,
  type InspectNode,
  type IoPart,
  type SavedState,
  type VmmDevice,
} from '../../bus/device.js';
import { PicChip, type PicChipState } from './chip.js';
import * as R from './regs.js';

/** How to build the PIC pair. */
export interface PicConfig {
  /** Device id; default "pic". */
  readonly id?: string;
}

/** What the PIC needs from the machine (nothing yet; kept for the factory shape). */
export type PicContext = Record<string, never>;

/** Version 1 of the PIC's saved state. */
export interface PicSavedState extends SavedState {
  readonly version: 1;
  readonly master: PicChipState;
  readonly slave: PicChipState;
}

const SAVED_VERSION = 1;

/** The master/slave 8259A pair with ELCR, as a port-I/O device. */
export class Pic implements VmmDevice {
  readonly id: string;
  /** IRQ 0-7. */
  readonly master = new PicChip(true, R.ELCR1_MASK);
  /** IRQ 8-15, cascaded on the master's IR2. */
  readonly slave = new PicChip(false, R.ELCR2_MASK);
  /** Called whenever INTR changes (the APIC bus points it at the LAPICs' LINT0). */
  onIntr: ((level: boolean) => void) | null = null;
  readonly pio: IoPart;

  private intrLevel = false;
  /** INTA cycles that found no request (answered with IR7, the spurious vector). */
  spuriousAcks = 0;
  /** setIrq calls for IRQ 2 or outside 0-15 (IRQ 2 is the cascade input). */
  badIrqs = 0;
  /** Accesses to ports of the regions this device does not implement. */
  badAccesses = 0;

  constructor(config: PicConfig = {}) {
    this.id = config.id ?? 'pic';
    this.pio = {
      regions: [
        { name: 'master', base: R.MASTER_CMD, size: 2 },
        { name: 'slave', base: R.SLAVE_CMD, size: 2 },
        { name: 'elcr', base: R.ELCR1, size: 2 },
      ],
      // The ISA bus splits wider accesses into byte cycles; so do we.
      read: (addr: number, size: AccessSize) => {
        let v = 0;
        for (let i = 0; i < size; i++) v |= this.readPort(addr + i) << (8 * i);
        return v >>> 0;
      },
      write: (addr: number, size: AccessSize, value: number) => {
        for (let i = 0; i < size; i++) this.writePort(addr + i, (value >>> (8 * i)) & 0xff);
      },
    };
  }

  /** The INTR output (to LINT0). */
  get intr(): boolean {
    return this.intrLevel;
  }

  /** Drives ISA IRQ `irq` (0-15). IRQ 2 is the cascade and cannot be driven. */
  setIrq(irq: number, level: boolean): void {
    if (!Number.isInteger(irq) || irq < 0 || irq > 15 || irq === R.CASCADE_IRQ) {
      this.badIrqs++;
      return;
    }
    if (irq < 8) this.master.setInput(irq, level);
    else this.slave.setInput(irq - 8, level);
    this.update();
  }

  /** The vector acknowledge() would return now, without side effects; -1 if INTR is low. */
  peekVector(): number {
    const irq = this.master.highestRequest();
    if (irq < 0) return -1;
    if (irq !== R.CASCADE_IRQ) return this.master.vectorBase + irq;
    const irq2 = this.slave.highestRequest();
    return this.slave.vectorBase + (irq2 < 0 ? R.SPURIOUS_IRQ : irq2);
  }

  /**
   * The INTA cycle: puts the winning request in service and returns its
   * vector. With nothing requested it returns the spurious IR7 vector of
   * the chip that answered (master, or the slave via IR2), as the 8259A does.
   */
  acknowledge(): number {
    let vector: number;
    const irq = this.master.highestRequest();
    if (irq < 0) {
      this.spuriousAcks++;
      vector = this.master.vectorBase + R.SPURIOUS_IRQ;
    } else {
      this.master.acknowledge(irq);
      if (irq === R.CASCADE_IRQ) {
        const irq2 = this.slave.highestRequest();
        if (irq2 < 0) {
          this.spuriousAcks++;
          vector = this.slave.vectorBase + R.SPURIOUS_IRQ;
        } else {
          this.slave.acknowledge(irq2);
          vector = this.slave.vectorBase + irq2;
        }
      } else {
        vector = this.master.vectorBase + irq;
      }
    }
    this.update();
    return vector;
  }

  private readPort(port: number): number {
    let v: number;
    switch (port) {
      case R.MASTER_CMD:
        v = this.master.readCommand();
        break;
      case R.MASTER_DATA:
        v = this.master.readData();
        break;
      case R.SLAVE_CMD:
        v = this.slave.readCommand();
        break;
      case R.SLAVE_DATA:
        v = this.slave.readData();
        break;
      case R.ELCR1:
        return this.master.elcr;
      case R.ELCR2:
        return this.slave.elcr;
      default:
        this.badAccesses++;
        return 0xff;
    }
    // A poll read is an INTA: the cascade and INTR may change.
    this.update();
    return v;
  }

  private writePort(port: number, value: number): void {
    switch (port) {
      case R.MASTER_CMD:
        this.master.writeCommand(value);
        break;
      case R.MASTER_DATA:
        this.master.writeData(value);
        break;
      case R.SLAVE_CMD:
        this.slave.writeCommand(value);
        break;
      case R.SLAVE_DATA:
        this.slave.writeData(value);
        break;
      case R.ELCR1:
        this.master.writeElcr(value);
        break;
      case R.ELCR2:
        this.slave.writeElcr(value);
        break;
      default:
        this.badAccesses++;
        return;
    }
    this.update();
  }

  // The slave's INT output is the master's IR2 input; the master's is INTR.
  private update(): void {
    this.master.setInput(R.CASCADE_IRQ, this.slave.highestRequest() >= 0);
    const intr = this.master.highestRequest() >= 0;
    if (intr !== this.intrLevel) {
      this.intrLevel = intr;
      this.onIntr?.(intr);
    }
  }

  /** Power-on state (input wire levels are kept). */
  reset(): void {
    this.master.reset();
    this.slave.reset();
    this.update();
  }

  /** Both chips' registers and modes. */
  save(): PicSavedState {
    return { version: SAVED_VERSION, master: this.master.save(), slave: this.slave.save() };
  }

  /** Loads a saved state; INTR is recomputed (and reported) from it. */
  restore(saved: SavedState): void {
    const s = checkSavedVersion<PicSavedState>(this.id, saved, SAVED_VERSION);
    this.master.restore(s.master ?? ({} as PicChipState));
    this.slave.restore(s.slave ?? ({} as PicChipState));
    this.update();
  }

  /** Registers of both chips, the INTR level and counters. */
  inspect(): InspectNode {
    const chip = (c: PicChip): InspectNode =>
      inspect.tree({
        irr: inspect.hex(c.irr),
        isr: inspect.hex(c.isr),
        imr: inspect.hex(c.imr),
        elcr: inspect.hex(c.elcr),
        lines: inspect.hex(c.lines),
        vectorBase: inspect.hex(c.vectorBase),
        priorityAdd: c.priorityAdd,
        initStep: c.initStep,
        autoEoi: c.autoEoi,
        specialMask: c.specialMask,
        specialFullyNested: c.specialFullyNested,
        levelMode: c.levelMode,
        spuriousEois: inspect.counter(c.spuriousEois),
        unsupportedModes: inspect.counter(c.unsupportedModes),
      });
    return inspect.tree({
      intr: this.intrLevel,
      master: chip(this.master),
      slave: chip(this.slave),
      spuriousAcks: inspect.counter(this.spuriousAcks),
      badIrqs: inspect.counter(this.badIrqs),
      badAccesses: inspect.counter(this.badAccesses),
    });
  }
}

/** Builds the PIC pair, fresh or from its SavedState (one path for boot and restore). */
export function createPic(config: PicConfig = {}, _ctx: PicContext = {}, saved?: SavedState): Pic {
  const pic = new Pic(config);
  if (saved !== undefined) pic.restore(saved);
  return pic;
}
