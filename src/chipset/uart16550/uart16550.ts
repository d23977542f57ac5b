/**
 * A 16550A UART on the ISA bus (COM1..COM4), as Linux's 8250 driver expects
 * to find it: it passes the driver's autoconfig (IER, loopback and FIFO
 * probes) as a 16550A and runs it in interrupt mode.
 *
 * DEVNOTE: transmission is instantaneous, so the transmit FIFO and shift
 * register are always empty (LSR.THRE and TEMT always read 1) and every THR
 * write re-raises the THRE interrupt at once, as a real UART does once the
 * byte has left. Reception is paced by the guest instead: host bytes wait in
 * a bounded backlog and move into the receive FIFO as the guest drains it,
 * so host input never overruns. The character-timeout interrupt does follow
 * the wire: it fires four character times (from the divisor and LCR) after
 * the last FIFO activity.
 */
import { Timer, type TimerQueue } from '../../bus/clock.js';
import {
  checkSavedVersion,
  inspect,
  type AccessSize,
  type DeviceFactory,
  type InspectNode,
  type IoPart,
  type SavedState,
  type VmmDevice,
} from '../../bus/device.js';
import type { IrqLine } from '../../bus/irq.js';
import { ByteRing } from './byte-ring.js';
import * as R from './regs.js';
import {
  powerOnRegisters,
  restoreRegisters,
  SAVE_VERSION,
  saveRegisters,
  type UartRegisters,
  type UartSavedState,
} from './uart-state.js';

export type { UartSavedState } from './uart-state.js';

/** Where a UART sits; the GSI is the IrqLine the integrator passes in. */
export interface UartConfig {
  readonly id?: string;
  /** First of the eight ports (default 0x3f8, COM1; see COM_PORTS). */
  readonly base?: number;
  /** Host input held back until the guest reads it (default 64 KiB); excess is dropped. */
  readonly backlogBytes?: number;
}

/** What a UART needs from the machine and the host. */
export interface UartContext {
  readonly irq: IrqLine;
  /** Runs the character-timeout interrupt. */
  readonly timers: TimerQueue;
  /** Receives what the guest transmits, one call per guest access; must not block. */
  readonly output?: (bytes: Uint8Array) => void;
}

/** The modem inputs the host side presents (when not in loopback). */
export interface ModemInputs {
  readonly cts?: boolean;
  readonly dsr?: boolean;
  readonly ri?: boolean;
  readonly dcd?: boolean;
}

const DEFAULT_BACKLOG = 64 * 1024;

/** The 16550A UART. */
export class Uart16550 implements VmmDevice {
  readonly id: string;
  readonly pio: IoPart;
  /** Where transmitted bytes go; may be replaced when a console attaches. */
  onOutput: ((bytes: Uint8Array) => void) | null;
  private readonly base: number;
  private readonly irq: IrqLine;
  private readonly timers: TimerQueue;
  private readonly timer: Timer;
  private readonly rx = new ByteRing(R.FIFO_DEPTH);
  private readonly backlog: ByteRing;
  private reg: UartRegisters = powerOnRegisters();
  private level = false;
  private txBytes = 0;
  private rxBytes = 0;
  private dropped = 0;
  private overruns = 0;
  private ignoredWrites = 0;

  constructor(config: UartConfig, ctx: UartContext, saved?: SavedState) {
    this.id = config.id ?? 'com1';
    this.base = config.base ?? R.COM_PORTS.com1.base;
    this.irq = ctx.irq;
    this.timers = ctx.timers;
    this.onOutput = ctx.output ?? null;
    this.backlog = new ByteRing(config.backlogBytes ?? DEFAULT_BACKLOG);
    this.timer = new Timer(`${this.id}-timeout`, () => this.onTimeout());
    this.pio = {
      regions: [{ name: this.id, base: this.base, size: 8 }],
      read: (addr, size) => this.read(addr, size),
      write: (addr, size, value) => this.write(addr, size, value),
    };
    if (saved) this.restore(saved);
    this.update();
  }

  /**
   * Queues host input for the guest; returns how many bytes were accepted
   * (the rest did not fit in the backlog and were dropped and counted).
   */
  receive(bytes: Uint8Array): number {
    const accepted = this.backlog.pushMany(bytes);
    this.dropped += bytes.length - accepted;
    this.pump();
    this.update();
    return accepted;
  }

  /** Room left in the host input backlog (for flow control by the caller). */
  get backlogFree(): number {
    return this.backlog.capacity - this.backlog.count;
  }

  /** Sets the modem status inputs the host presents; unspecified ones keep their level. */
  setModemInputs(inputs: ModemInputs): void {
    const bit = (v: boolean | undefined, mask: number): number =>
      v === undefined ? this.reg.hostModem & mask : v ? mask : 0;
    this.reg.hostModem =
      bit(inputs.cts, R.MSR_CTS) | bit(inputs.dsr, R.MSR_DSR) | bit(inputs.ri, R.MSR_RI) | bit(inputs.dcd, R.MSR_DCD);
    this.updateModemInputs();
    this.update();
  }

  /** Whether the interrupt line is currently asserted. */
  get irqAsserted(): boolean {
    return this.level;
  }

  // The UART is an 8-bit ISA device: a wide access is consecutive byte accesses.
  private read(addr: number, size: AccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) {
      const off = addr + i - this.base;
      v |= (off >= 0 && off < 8 ? this.readReg(off) : 0xff) << (8 * i);
    }
    return v >>> 0;
  }

  private write(addr: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) {
      const off = addr + i - this.base;
      if (off >= 0 && off < 8) this.writeReg(off, (value >>> (8 * i)) & 0xff);
    }
  }

  private readReg(off: number): number {
    const dlab = (this.reg.lcr & R.LCR_DLAB) !== 0;
    switch (off) {
      case R.RBR:
        return dlab ? this.reg.dll : this.readRbr();
      case R.IER:
        return dlab ? this.reg.dlm : this.reg.ier;
      case R.IIR: {
        const id = this.interruptId();
        // Reading IIR clears a THRE interrupt only when THRE is what it reports.
        if (id === R.IIR_THRE) this.reg.threPending = false;
        this.update();
        return id | (this.reg.fifoEnabled ? R.IIR_FIFO_ENABLED : 0);
      }
      case R.LCR:
        return this.reg.lcr;
      case R.MCR:
        return this.reg.mcr;
      case R.LSR: {
        const v = (this.rx.count > 0 ? R.LSR_DR : 0) | this.reg.lsrErrors | R.LSR_THRE | R.LSR_TEMT;
        this.reg.lsrErrors = 0;
        this.update();
        return v;
      }
      case R.MSR: {
        const v = this.reg.msrInputs | this.reg.msrDeltas;
        this.reg.msrDeltas = 0;
        this.update();
        return v;
      }
      default:
        return this.reg.scr;
    }
  }

  private writeReg(off: number, v: number): void {
    const dlab = (this.reg.lcr & R.LCR_DLAB) !== 0;
    switch (off) {
      case R.RBR:
        if (dlab) this.reg.dll = v;
        else this.transmit(v);
        break;
      case R.IER:
        if (dlab) {
          this.reg.dlm = v;
          break;
        }
        // THRE is raised on ETBEI's 0 -> 1 edge while the holding register is empty.
        if ((v & R.IER_ETBEI) === 0) this.reg.threPending = false;
        else if ((this.reg.ier & R.IER_ETBEI) === 0) this.reg.threPending = true;
        this.reg.ier = v & R.IER_MASK;
        this.armTimeout();
        break;
      case R.IIR:
        this.writeFcr(v);
        break;
      case R.LCR:
        this.reg.lcr = v;
        break;
      case R.MCR: {
        const wasLoop = (this.reg.mcr & R.MCR_LOOP) !== 0;
        this.reg.mcr = v & R.MCR_MASK;
        this.updateModemInputs();
        if (wasLoop && (this.reg.mcr & R.MCR_LOOP) === 0) this.pump();
        break;
      }
      case R.SCR:
        this.reg.scr = v;
        break;
      default:
        // LSR and MSR are read-only (writes are a factory test mode).
        this.ignoredWrites++;
    }
    this.update();
  }

  private readRbr(): number {
    const b = this.rx.shift();
    if (b < 0) return this.reg.lastRbr;
    this.reg.lastRbr = b;
    this.rxBytes++;
    this.reg.timeoutPending = false;
    this.pump();
    this.armTimeout();
    return b;
  }

  private transmit(b: number): void {
    this.txBytes++;
    if (this.reg.mcr & R.MCR_LOOP) {
      // Loopback: the shift register feeds the receiver; a full FIFO overruns.
      if (this.rx.count < this.rxLimit()) this.arrived(b);
      else {
        this.reg.lsrErrors |= R.LSR_OE;
        this.overruns++;
      }
    } else {
      this.onOutput?.(Uint8Array.of(b));
    }
    this.reg.threPending = (this.reg.ier & R.IER_ETBEI) !== 0;
  }

  private writeFcr(v: number): void {
    const enable = (v & R.FCR_ENABLE) !== 0;
    if (enable !== this.reg.fifoEnabled) {
      // Changing FCR0 empties both FIFOs.
      this.rx.clear();
      this.reg.timeoutPending = false;
      this.reg.fifoEnabled = enable;
    }
    // The other bits are only programmed while FCR0 is set.
    if (enable) {
      if (v & R.FCR_RX_RESET) {
        this.rx.clear();
        this.reg.timeoutPending = false;
      }
      this.reg.fcr = v & (R.FCR_DMA | (3 << R.FCR_TRIGGER_SHIFT));
    }
    this.pump();
    this.armTimeout();
  }

  private rxLimit(): number {
    return this.reg.fifoEnabled ? R.FIFO_DEPTH : 1;
  }

  private arrived(b: number): void {
    this.rx.push(b);
    // New data restarts the timeout window unless a timeout is already reported.
    if (!this.reg.timeoutPending) this.armTimeout();
  }

  /** Moves host input into the receiver while it has room (not in loopback). */
  private pump(): void {
    if (this.reg.mcr & R.MCR_LOOP) return;
    const limit = this.rxLimit();
    let moved = false;
    while (this.rx.count < limit && this.backlog.count > 0) {
      this.rx.push(this.backlog.shift());
      moved = true;
    }
    if (moved && !this.reg.timeoutPending) this.armTimeout();
  }

  private armTimeout(): void {
    if (this.reg.fifoEnabled && this.reg.ier & R.IER_ERBFI && this.rx.count > 0 && !this.reg.timeoutPending) {
      // TimerQueue.arm only lowers its cached earliest deadline: moving later needs a disarm first.
      this.timers.disarm(this.timer);
      this.timers.armIn(this.timer, 4 * this.charTimeNs());
    } else {
      this.timers.disarm(this.timer);
    }
  }

  private onTimeout(): void {
    if (this.reg.fifoEnabled && this.rx.count > 0) this.reg.timeoutPending = true;
    this.update();
  }

  /** One character's time on the wire at the programmed divisor and frame, in ns. */
  charTimeNs(): number {
    const data = 5 + (this.reg.lcr & R.LCR_WLS);
    const stop = this.reg.lcr & R.LCR_STB ? (data === 5 ? 1.5 : 2) : 1;
    const bits = 1 + data + (this.reg.lcr & R.LCR_PEN ? 1 : 0) + stop;
    const divisor = (this.reg.dlm << 8) | this.reg.dll || 0x10000;
    return Math.ceil((bits * divisor * 16 * 1e9) / R.UART_CLOCK);
  }

  /** The highest-priority pending interrupt's IIR identification (IIR_NO_INT if none). */
  private interruptId(): number {
    const ier = this.reg.ier;
    if (ier & R.IER_ELSI && this.reg.lsrErrors & R.LSR_ERRORS) return R.IIR_RLS;
    if (ier & R.IER_ERBFI) {
      if (this.reg.fifoEnabled) {
        const trigger = R.RX_TRIGGER_LEVELS[this.reg.fcr >> R.FCR_TRIGGER_SHIFT]!;
        if (this.rx.count >= trigger) return R.IIR_RDA;
        if (this.reg.timeoutPending && this.rx.count > 0) return R.IIR_CTI;
      } else if (this.rx.count > 0) {
        return R.IIR_RDA;
      }
    }
    if (ier & R.IER_ETBEI && this.reg.threPending) return R.IIR_THRE;
    if (ier & R.IER_EDSSI && this.reg.msrDeltas) return R.IIR_MSI;
    return R.IIR_NO_INT;
  }

  private updateModemInputs(): void {
    const m = this.reg.mcr;
    const inputs =
      m & R.MCR_LOOP
        ? (m & R.MCR_RTS ? R.MSR_CTS : 0) |
          (m & R.MCR_DTR ? R.MSR_DSR : 0) |
          (m & R.MCR_OUT1 ? R.MSR_RI : 0) |
          (m & R.MCR_OUT2 ? R.MSR_DCD : 0)
        : this.reg.hostModem;
    const changed = inputs ^ this.reg.msrInputs;
    if (changed & R.MSR_CTS) this.reg.msrDeltas |= R.MSR_DCTS;
    if (changed & R.MSR_DSR) this.reg.msrDeltas |= R.MSR_DDSR;
    if (changed & R.MSR_DCD) this.reg.msrDeltas |= R.MSR_DDCD;
    if (this.reg.msrInputs & R.MSR_RI && !(inputs & R.MSR_RI)) this.reg.msrDeltas |= R.MSR_TERI;
    this.reg.msrInputs = inputs;
  }

  /** Drives the line: on a PC the interrupt reaches the bus only through OUT2, and never in loopback. */
  private update(): void {
    const level =
      (this.reg.mcr & (R.MCR_OUT2 | R.MCR_LOOP)) === R.MCR_OUT2 && this.interruptId() !== R.IIR_NO_INT;
    if (level !== this.level) {
      this.level = level;
      this.irq.set(level);
    }
  }

  reset(): void {
    this.reg.ier = 0;
    this.reg.lcr = 0;
    this.reg.mcr = 0;
    this.reg.fcr = 0;
    this.reg.fifoEnabled = false;
    this.reg.lsrErrors = 0;
    this.reg.threPending = false;
    this.reg.timeoutPending = false;
    this.rx.clear();
    this.reg.msrInputs = this.reg.hostModem;
    this.reg.msrDeltas = 0;
    this.timers.disarm(this.timer);
    this.pump();
    this.update();
  }

  save(): UartSavedState {
    const now = this.timers.clock.nowNs();
    return saveRegisters(this.reg, {
      timeoutIn: this.timer.armed ? Math.max(0, this.timer.deadline - now) : null,
      rx: this.rx.toBytes(),
      backlog: this.backlog.toBytes(),
    });
  }

  private restore(saved: SavedState): void {
    const r = restoreRegisters(checkSavedVersion<UartSavedState>(this.id, saved, SAVE_VERSION));
    this.reg = r.reg;
    this.rx.pushMany(r.rx.subarray(0, this.rxLimit()));
    this.backlog.pushMany(r.backlog);
    if (r.timeoutIn !== null) this.timers.armIn(this.timer, r.timeoutIn);
  }

  inspect(): InspectNode {
    return inspect.tree({
      base: inspect.hex(this.base),
      ier: inspect.hex(this.reg.ier),
      iir: inspect.hex(this.interruptId() | (this.reg.fifoEnabled ? R.IIR_FIFO_ENABLED : 0)),
      lcr: inspect.hex(this.reg.lcr),
      mcr: inspect.hex(this.reg.mcr),
      msr: inspect.hex(this.reg.msrInputs | this.reg.msrDeltas),
      fcr: inspect.hex(this.reg.fcr | (this.reg.fifoEnabled ? R.FCR_ENABLE : 0)),
      divisor: (this.reg.dlm << 8) | this.reg.dll,
      baud: Math.round(R.UART_CLOCK / (16 * ((this.reg.dlm << 8) | this.reg.dll || 0x10000))),
      irq: this.level,
      rxFifo: this.rx.count,
      backlog: this.backlog.count,
      txBytes: inspect.counter(this.txBytes),
      rxBytes: inspect.counter(this.rxBytes),
      droppedInput: inspect.counter(this.dropped),
      overruns: inspect.counter(this.overruns),
      ignoredWrites: inspect.counter(this.ignoredWrites),
    });
  }
}

/** Builds a 16550A UART, fresh or from a SavedState. */
export const createUart16550: DeviceFactory<UartConfig, UartContext, Uart16550> = (config, ctx, saved) =>
  new Uart16550(config, ctx, saved);
