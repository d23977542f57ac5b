/**
 * The interrupt side of a local APIC: IRR/ISR/TMR and the priority rules
 * (TPR, PPR), acceptance of messages from the APIC bus, LINT0/LINT1, the
 * local interrupts (timer, error), EOI, and the `InterruptSource` the
 * emulator's vCPU polls. lapic.ts adds the register file, IPIs and MSRs.
 *
 * DEVNOTE: on power-on the BSP's LINT0 is ExtINT and unmasked (virtual
 * wire, as firmware leaves it) although the SDM's reset value is masked:
 * KVM and QEMU do the same, and without it the 8259A could not reach the
 * CPU before the kernel programs the LAPIC.
 * DEVNOTE: vectors already in the IRR stay deliverable while the APIC is
 * software-disabled (KVM's behaviour; the SDM says they are "held"); new
 * fixed interrupts are dropped.
 */
import type { InterruptSource } from '../../bus/irq.js';
import type { ApicMessage, ExtIntController } from '../apic-bus/message.js';
import * as M from '../apic-bus/regs.js';
import { clearVector, highestVector, setVector, testVector, vectorSet } from './bitmap.js';
import * as R from './regs.js';
import { LapicTimer } from './timer.js';
import type { LapicConfig, LapicContext, LapicCounters } from './types.js';

/** Interrupt state and delivery of one LAPIC; Lapic (lapic.ts) is the whole device. */
export abstract class LapicCore implements InterruptSource {
  readonly id: string;
  readonly index: number;
  /** Called when something becomes pending (wake the vCPU from HLT); set by the integrator. */
  onPending: (() => void) | null = null;
  readonly irr = vectorSet();
  readonly isr = vectorSet();
  readonly tmr = vectorSet();
  readonly lvt = new Uint32Array(R.LVT_COUNT);
  readonly timer: LapicTimer;
  readonly counters: LapicCounters = {
    illegalRegisters: 0,
    readOnlyWrites: 0,
    spuriousEois: 0,
    spuriousAcks: 0,
    badAcks: 0,
    droppedDisabled: 0,
    ignoredSipis: 0,
    unsupportedDelivery: 0,
    ipisSent: 0,
    initDeasserts: 0,
    apicBaseMoves: 0,
    x2apicRequests: 0,
    badMsrValues: 0,
  };
  /** Register and signal state; state.ts saves and restores these fields. */
  apicId = 0;
  apicBase = 0;
  tpr = 0;
  ldr = 0;
  dfr = R.DFR_RESET;
  svr = R.SVR_RESET;
  esr = 0;
  esrPending = 0;
  icrLo = 0;
  icrHi = 0;
  nmiPending = false;
  initPending = false;
  sipiVector = -1;
  waitingForSipi = false;
  extIntRequested = false;
  lint0 = false;
  lint1 = false;
  readonly bsp: boolean;
  readonly virtualWire: boolean;
  readonly tscDeadlineSupported: boolean;
  private extInt: ExtIntController | null = null;
  /** The vector the CPU would take now (IRR above PPR), or -1; kept current by update(). */
  protected best = -1;

  constructor(
    config: LapicConfig,
    protected readonly ctx: LapicContext,
  ) {
    this.index = config.index;
    this.id = `lapic${config.index}`;
    this.bsp = config.bsp ?? config.index === 0;
    this.virtualWire = config.virtualWire ?? this.bsp;
    this.tscDeadlineSupported = config.tscDeadline ?? true;
    this.timer = new LapicTimer(`${this.id}-timer`, ctx.timers, config.busHz ?? 1e9, config.tscHz, () =>
      this.localInterrupt(R.LVT_TIMER),
    );
    this.reset();
  }

  /** Connects LINT0's ExtINT source (the 8259A); the APIC bus does this. */
  connectExtInt(pic: ExtIntController | null): void {
    this.extInt = pic;
  }

  /** Power-on reset. */
  reset(): void {
    this.apicId = this.index & 0xff;
    this.apicBase = (R.LAPIC_BASE | R.APIC_BASE_ENABLE | (this.bsp ? R.APIC_BASE_BSP : 0)) >>> 0;
    this.resetRegisters();
    this.waitingForSipi = !this.bsp;
    this.lint0 = false;
    this.lint1 = false;
  }

  // What INIT and a global disable reset: everything but the APIC ID and IA32_APIC_BASE.
  protected resetRegisters(): void {
    this.tpr = 0;
    this.ldr = 0;
    this.dfr = R.DFR_RESET;
    this.svr = R.SVR_RESET;
    this.irr.fill(0);
    this.isr.fill(0);
    this.tmr.fill(0);
    this.esr = 0;
    this.esrPending = 0;
    this.icrLo = 0;
    this.icrHi = 0;
    this.lvt.fill(R.LVT_RESET);
    if (this.virtualWire) this.lvt[R.LVT_LINT0] = M.DM_EXTINT << R.LVT_DELIVERY_SHIFT;
    this.timer.reset();
    this.nmiPending = false;
    this.initPending = false;
    this.sipiVector = -1;
    this.extIntRequested = false;
    this.update();
  }

  /** IA32_APIC_BASE bit 11. */
  get hardwareEnabled(): boolean {
    return (this.apicBase & R.APIC_BASE_ENABLE) !== 0;
  }

  /** SVR bit 8. */
  get softwareEnabled(): boolean {
    return (this.svr & R.SVR_ENABLE) !== 0;
  }

  /** The processor priority register (SDM 11.8.3.1). */
  get ppr(): number {
    const isrv = highestVector(this.isr);
    const isrClass = isrv < 0 ? 0 : isrv & 0xf0;
    return this.tpr >>> 4 >= isrClass >>> 4 ? this.tpr : isrClass;
  }

  /** The arbitration priority register (SDM 11.6.2.4 / P6 definition). */
  get apr(): number {
    const irrv = Math.max(highestVector(this.irr), 0);
    const isrv = Math.max(highestVector(this.isr), 0);
    const t = this.tpr >>> 4;
    if (t >= irrv >>> 4 && t > isrv >>> 4) return this.tpr;
    return Math.max(this.tpr & 0xf0, isrv & 0xf0, irrv & 0xf0);
  }

  /** CR8 (TPR bits 7:4), for MOV to/from CR8 in 64-bit mode. */
  get cr8(): number {
    return this.tpr >>> 4;
  }

  /** MOV to CR8: sets TPR = value[3:0] << 4. */
  writeCr8(value: number): void {
    this.tpr = (value & 0xf) << 4;
    this.update();
    this.notify();
  }

  /** Whether a logical destination `dest` addresses this APIC (flat or cluster model per DFR). */
  matchesLogical(dest: number): boolean {
    if (dest === M.APIC_BROADCAST) return true;
    const logicalId = this.ldr >>> 24;
    if (this.dfr >>> 28 === R.DFR_FLAT) return (logicalId & dest) !== 0;
    const clusterMatch = dest >>> 4 === 0xf || logicalId >>> 4 === dest >>> 4;
    return clusterMatch && (logicalId & dest & 0xf) !== 0;
  }

  // ---- InterruptSource ----

  /** True when an interrupt, NMI, INIT or SIPI needs the vCPU (while waiting for SIPI: only INIT/SIPI). */
  get pending(): boolean {
    if (this.waitingForSipi) return this.sipiVector >= 0 || this.initPending;
    return this.best >= 0 || this.nmiPending || this.initPending || this.sipiVector >= 0 || this.extIntPending();
  }

  /** The vector the CPU would take now (the 8259A's via ExtINT first, as KVM), or -1. */
  peekInterrupt(): number {
    if (this.waitingForSipi) return -1;
    if (this.extIntPending()) return this.extInt!.peekVector();
    return this.best;
  }

  /** The INTA for a vector peekInterrupt() returned: IRR -> ISR, or the 8259A's INTA. */
  acknowledgeInterrupt(vector: number): void {
    if (this.waitingForSipi) return;
    if (this.extIntPending()) {
      this.extIntRequested = false;
      this.extInt!.acknowledge();
      return;
    }
    if (vector !== this.best || vector < 0) {
      this.counters.badAcks++;
      return;
    }
    this.moveToService(vector);
  }

  /**
   * A whole INTA cycle: the vector to dispatch. With nothing deliverable
   * (e.g. TPR was raised between INTR and INTA) the answer is the SVR's
   * spurious vector, which the CPU dispatches without an EOI (SDM 11.9).
   */
  interruptAcknowledge(): number {
    if (this.extIntPending()) {
      this.extIntRequested = false;
      return this.extInt!.acknowledge();
    }
    const v = this.best;
    if (v >= 0 && !this.waitingForSipi) {
      this.moveToService(v);
      return v;
    }
    this.counters.spuriousAcks++;
    return this.svr & R.SVR_VECTOR;
  }

  /** Takes a pending NMI. */
  takeNmi(): boolean {
    if (!this.nmiPending) return false;
    this.nmiPending = false;
    return true;
  }

  /** Takes a pending INIT: resets the LAPIC as INIT does (ID and APIC base kept) and waits for SIPI. */
  takeInit(): boolean {
    if (!this.initPending) return false;
    this.resetRegisters();
    this.waitingForSipi = true;
    return true;
  }

  /** Takes a start-up IPI received while waiting for one: its vector (start page), or -1. */
  takeSipi(): number {
    const v = this.sipiVector;
    if (v < 0) return -1;
    this.sipiVector = -1;
    this.waitingForSipi = false;
    return v;
  }

  // ---- messages and pins ----

  /** Accepts a message from the APIC bus (already addressed to this APIC). */
  receive(msg: ApicMessage): void {
    if (!this.hardwareEnabled) {
      this.counters.droppedDisabled++;
      return;
    }
    // A level-triggered de-assert (e.g. INIT level de-assert) carries no interrupt.
    if (msg.trigger === 'level' && !msg.level) return;
    switch (msg.deliveryMode) {
      case M.DM_FIXED:
      case M.DM_LOWEST_PRIORITY:
        this.acceptInterrupt(msg.vector, msg.trigger === 'level');
        return;
      case M.DM_NMI:
        this.nmiPending = true;
        break;
      case M.DM_INIT:
        this.initPending = true;
        break;
      case M.DM_STARTUP:
        if (!this.waitingForSipi) {
          this.counters.ignoredSipis++;
          return;
        }
        this.sipiVector = msg.vector;
        break;
      case M.DM_EXTINT:
        this.extIntRequested = true;
        break;
      default:
        this.counters.unsupportedDelivery++;
        return;
    }
    this.notify();
  }

  /** Drives the LINT0 (pin 0) or LINT1 (pin 1) input; levels are logical (polarity is only stored). */
  setLint(pin: 0 | 1, level: boolean): void {
    const was = pin === 0 ? this.lint0 : this.lint1;
    if (pin === 0) this.lint0 = level;
    else this.lint1 = level;
    const i = pin === 0 ? R.LVT_LINT0 : R.LVT_LINT1;
    if (this.lintMode(i) === M.DM_EXTINT) {
      // ExtINT is sampled by peekInterrupt(); only the wake-up is needed here.
      if (level) this.notify();
      return;
    }
    this.serviceLint(i, level && !was);
  }

  private lintMode(i: number): number {
    return (this.lvt[i]! >>> R.LVT_DELIVERY_SHIFT) & 7;
  }

  protected serviceLint(i: number, rising: boolean): void {
    const e = this.lvt[i]!;
    if (e & R.LVT_MASKED || !this.hardwareEnabled) return;
    const level = i === R.LVT_LINT0 ? this.lint0 : this.lint1;
    const mode = this.lintMode(i);
    if (e & R.LVT_TRIGGER_LEVEL && mode === M.DM_FIXED) {
      if (level && !(e & R.LVT_REMOTE_IRR)) {
        this.lvt[i] = e | R.LVT_REMOTE_IRR;
        this.acceptInterrupt(e & R.LVT_VECTOR, true);
      }
    } else if (rising) {
      this.localInterrupt(i);
    }
  }

  // Raises the interrupt LVT entry i describes, unless masked.
  private localInterrupt(i: number): void {
    const e = this.lvt[i]!;
    if (e & R.LVT_MASKED) return;
    const mode = i === R.LVT_TIMER || i === R.LVT_ERROR ? M.DM_FIXED : (e >>> R.LVT_DELIVERY_SHIFT) & 7;
    switch (mode) {
      case M.DM_FIXED:
        this.acceptInterrupt(e & R.LVT_VECTOR, false);
        return;
      case M.DM_NMI:
        this.nmiPending = true;
        break;
      case M.DM_INIT:
        this.initPending = true;
        break;
      case M.DM_EXTINT:
        this.extIntRequested = true;
        break;
      default:
        this.counters.unsupportedDelivery++;
        return;
    }
    this.notify();
  }

  // A fixed interrupt arriving: into the IRR, TMR per trigger mode (SDM 11.8.4).
  private acceptInterrupt(vector: number, levelTriggered: boolean): void {
    if (!this.hardwareEnabled || !this.softwareEnabled) {
      this.counters.droppedDisabled++;
      return;
    }
    if (vector < 16) {
      this.error(R.ESR_RECEIVE_ILLEGAL_VECTOR);
      return;
    }
    setVector(this.irr, vector);
    if (levelTriggered) setVector(this.tmr, vector);
    else clearVector(this.tmr, vector);
    this.update();
    this.notify();
  }

  // Logs an error for the next ESR write and raises the LVT error interrupt.
  protected error(bits: number): void {
    this.esrPending |= bits;
    const e = this.lvt[R.LVT_ERROR]!;
    // An illegal error vector would only log another error; stop there.
    if (!(e & R.LVT_MASKED) && (e & R.LVT_VECTOR) >= 16) this.acceptInterrupt(e & R.LVT_VECTOR, false);
  }

  private moveToService(vector: number): void {
    clearVector(this.irr, vector);
    setVector(this.isr, vector);
    this.update();
  }

  private extIntPending(): boolean {
    const pic = this.extInt;
    if (pic === null || !pic.intr) return false;
    if (!this.hardwareEnabled || this.extIntRequested) return true;
    return (this.lvt[R.LVT_LINT0]! & (R.LVT_MASKED | (7 << R.LVT_DELIVERY_SHIFT))) === M.DM_EXTINT << R.LVT_DELIVERY_SHIFT;
  }

  // Recomputes the deliverable vector after IRR, ISR or TPR changed.
  protected update(): void {
    const irrv = highestVector(this.irr);
    this.best = this.hardwareEnabled && irrv >= 0 && irrv >>> 4 > this.ppr >>> 4 ? irrv : -1;
  }

  protected notify(): void {
    if (this.onPending !== null && this.pending) this.onPending();
  }

  // EOI: retire the highest in-service vector; a level one is broadcast to the IOAPIC.
  protected eoi(): void {
    const v = highestVector(this.isr);
    if (v < 0) {
      this.counters.spuriousEois++;
      return;
    }
    clearVector(this.isr, v);
    this.update();
    if (testVector(this.tmr, v)) this.ctx.router.broadcastEoi(v);
    this.lintEoi(R.LVT_LINT0, v);
    this.lintEoi(R.LVT_LINT1, v);
    this.notify();
  }

  // A level-triggered LINT waits for the EOI of its vector, then re-samples its pin.
  private lintEoi(i: number, vector: number): void {
    const e = this.lvt[i]!;
    if (e & R.LVT_REMOTE_IRR && (e & R.LVT_VECTOR) === vector) {
      this.lvt[i] = e & ~R.LVT_REMOTE_IRR;
      this.serviceLint(i, false);
    }
  }
}
