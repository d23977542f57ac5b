/**
 * The 8042 keyboard controller (ports 0x60 and 0x64) with a PS/2 keyboard
 * on its first port and a PS/2 mouse on its auxiliary port: enough for
 * Linux's i8042, atkbd and psmouse drivers to probe and bind, and for the
 * guest to reset the machine through it.
 *
 * DEVNOTE: the controller takes every write at once, so IBF never shows.
 * Bytes for the guest wait in one queue, each tagged with where it came
 * from; the next deliverable one moves into the output buffer when the
 * guest reads the previous one. Device bytes wait while their interface is
 * disabled in the command byte; controller replies never wait. IRQ 1 / 12
 * follow "output buffer full with keyboard / aux data" AND the command
 * byte's interrupt enables, as the 8042's OBF outputs do.
 */
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
import type { MachineControl } from '../../bus/machine.js';
import { Ps2Keyboard, Ps2Mouse, type SavedKeyboard, type SavedMouse } from './ps2-devices.js';
import * as R from './regs.js';

/** Where the controller sits; defaults are the PC's. */
export interface I8042Config {
  readonly id?: string;
  readonly dataPort?: number;
  readonly commandPort?: number;
}

/** What the controller needs from the machine. */
export interface I8042Context {
  /** GSI 1. */
  readonly kbdIrq: IrqLine;
  /** GSI 12. */
  readonly auxIrq: IrqLine;
  /** Receives the guest's reset requests (command 0xFE, output port bit 0 low). */
  readonly machine: MachineControl;
}

/** Who put a byte in the output queue. */
type Src = 0 | 1 | 2 | 3;
const Src = {
  /** A controller reply; delivered as keyboard data (IRQ 1). */
  Ctrl: 0,
  Kbd: 1,
  Aux: 2,
  /** Command 0xD3's byte: auxiliary data that no interface gate holds back. */
  CtrlAux: 3,
} as const;

/** Saved controller state, version 1. */
export interface I8042SavedState extends SavedState {
  readonly version: 1;
  /** Controller RAM; byte 0 is the command byte. */
  readonly ram: readonly number[];
  readonly outputPort: number;
  readonly obf: { readonly full: boolean; readonly byte: number; readonly src: number };
  /** Queued bytes as [byte, source] pairs. */
  readonly queue: readonly (readonly [number, number])[];
  readonly pendingCommand: number;
  readonly lastWasCommand: boolean;
  readonly keyboard: SavedKeyboard;
  readonly mouse: SavedMouse;
}

const SAVE_VERSION = 1;
const QUEUE_LIMIT = 64;
/** As a PC BIOS leaves it after POST: keyboard interrupt on, aux off, translation on. */
const DEFAULT_CTR = R.CTR_KBDINT | R.CTR_SYS | R.CTR_AUXDIS | R.CTR_XLATE;
/** Reset high (inactive), A20 on, keyboard clock and data lines high. */
const DEFAULT_OUTPUT_PORT = 0xcf;

/** The 8042 keyboard controller with its keyboard and mouse. */
export class I8042 implements VmmDevice {
  readonly id: string;
  readonly pio: IoPart;
  private readonly dataPort: number;
  private readonly commandPort: number;
  private readonly ctx: I8042Context;
  private ram = new Uint8Array(32);
  private outputPort = DEFAULT_OUTPUT_PORT;
  private obfFull = false;
  private obfByte = 0;
  private obfSrc: Src = Src.Ctrl;
  private queue: [number, Src][] = [];
  private pendingCommand = 0;
  private lastWasCommand = false;
  private kbd = new Ps2Keyboard();
  private mouse = new Ps2Mouse();
  private kbdLevel = false;
  private auxLevel = false;
  private resets = 0;
  private unknownCommands = 0;
  private droppedBytes = 0;

  constructor(config: I8042Config, ctx: I8042Context, saved?: SavedState) {
    this.id = config.id ?? 'i8042';
    this.dataPort = config.dataPort ?? R.I8042_DATA_PORT;
    this.commandPort = config.commandPort ?? R.I8042_COMMAND_PORT;
    this.ctx = ctx;
    this.ram[0] = DEFAULT_CTR;
    this.pio = {
      regions: [
        { name: 'data', base: this.dataPort, size: 1 },
        { name: 'command', base: this.commandPort, size: 1 },
      ],
      read: (addr, size) => this.read(addr, size),
      write: (addr, size, value) => this.write(addr, size, value),
    };
    if (saved) this.restore(saved);
    this.updateIrqs();
  }

  private get ctr(): number {
    return this.ram[0]!;
  }

  // Bytes of a wide access that fall outside these one-byte ports belong to others.
  private read(addr: number, size: AccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) {
      const port = addr + i;
      const b = port === this.dataPort ? this.readData() : port === this.commandPort ? this.status() : 0xff;
      v |= b << (8 * i);
    }
    return v >>> 0;
  }

  private write(addr: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) {
      const port = addr + i;
      const b = (value >>> (8 * i)) & 0xff;
      if (port === this.dataPort) this.writeData(b);
      else if (port === this.commandPort) this.writeCommand(b);
    }
  }

  private status(): number {
    const aux = this.obfFull && (this.obfSrc === Src.Aux || this.obfSrc === Src.CtrlAux);
    return (
      (this.obfFull ? R.STR_OBF : 0) |
      (this.ctr & R.CTR_SYS ? R.STR_SYS : 0) |
      (this.lastWasCommand ? R.STR_CMDDAT : 0) |
      R.STR_KEYLOCK |
      (aux ? R.STR_AUXDATA : 0)
    );
  }

  private readData(): number {
    // With the buffer empty a read returns the stale byte, as the chip does.
    const b = this.obfByte;
    if (this.obfFull) {
      this.obfFull = false;
      // The line drops before the next byte raises it again: a fresh edge per byte.
      this.updateIrqs();
      this.refill();
      this.updateIrqs();
    }
    return b;
  }

  private writeData(b: number): void {
    this.lastWasCommand = false;
    const cmd = this.pendingCommand;
    this.pendingCommand = 0;
    if (cmd >= R.CMD_WRITE_RAM && cmd < R.CMD_WRITE_RAM + 32) {
      this.ram[cmd - R.CMD_WRITE_RAM] = b;
      this.refill();
    } else if (cmd === R.CMD_WRITE_OUTPUT) {
      this.outputPort = b;
      if ((b & R.OUT_RESET) === 0) this.requestReset();
    } else if (cmd === R.CMD_KBD_LOOP) {
      this.enqueue(b, Src.Ctrl);
    } else if (cmd === R.CMD_AUX_LOOP) {
      this.enqueue(b, Src.CtrlAux);
    } else if (cmd === R.CMD_AUX_SEND) {
      for (const r of this.mouse.write(b)) this.enqueue(r, Src.Aux);
    } else {
      for (const r of this.kbd.write(b, (this.ctr & R.CTR_XLATE) !== 0)) this.enqueue(r, Src.Kbd);
    }
    this.updateIrqs();
  }

  private writeCommand(c: number): void {
    this.lastWasCommand = true;
    this.pendingCommand = 0;
    if (c >= R.CMD_READ_RAM && c < R.CMD_READ_RAM + 32) {
      this.enqueue(this.ram[c - R.CMD_READ_RAM]!, Src.Ctrl);
    } else if ((c >= R.CMD_WRITE_RAM && c < R.CMD_WRITE_RAM + 32) || (c >= R.CMD_WRITE_OUTPUT && c <= R.CMD_AUX_SEND)) {
      this.pendingCommand = c;
    } else if (c >= R.CMD_PULSE) {
      // Bit 0 clear pulses the reset line; 0xFF pulses nothing.
      if ((c & 1) === 0) this.requestReset();
    } else {
      switch (c) {
        case R.CMD_AUX_DISABLE:
          this.ram[0] = this.ctr | R.CTR_AUXDIS;
          break;
        case R.CMD_AUX_ENABLE:
          this.ram[0] = this.ctr & ~R.CTR_AUXDIS;
          break;
        case R.CMD_AUX_TEST:
        case R.CMD_KBD_TEST:
        case R.CMD_READ_TEST:
          this.enqueue(0x00, Src.Ctrl);
          break;
        case R.CMD_SELF_TEST:
          this.ram[0] = this.ctr | R.CTR_SYS;
          this.enqueue(R.RET_SELF_TEST_OK, Src.Ctrl);
          break;
        case R.CMD_KBD_DISABLE:
          this.ram[0] = this.ctr | R.CTR_KBDDIS;
          break;
        case R.CMD_KBD_ENABLE:
          this.ram[0] = this.ctr & ~R.CTR_KBDDIS;
          break;
        case R.CMD_READ_INPUT:
          // Bit 7: keyboard not inhibited.
          this.enqueue(0x80, Src.Ctrl);
          break;
        case R.CMD_READ_OUTPUT: {
          const aux = this.obfSrc === Src.Aux || this.obfSrc === Src.CtrlAux;
          const obf = this.obfFull ? (aux ? R.OUT_OBF_AUX : R.OUT_OBF_KBD) : 0;
          this.enqueue((this.outputPort & ~(R.OUT_OBF_KBD | R.OUT_OBF_AUX)) | obf, Src.Ctrl);
          break;
        }
        case R.CMD_A20_DISABLE:
          this.outputPort &= ~R.OUT_A20;
          break;
        case R.CMD_A20_ENABLE:
          this.outputPort |= R.OUT_A20;
          break;
        default:
          this.unknownCommands++;
      }
      this.refill();
    }
    this.updateIrqs();
  }

  private requestReset(): void {
    this.resets++;
    this.ctx.machine.request({ kind: 'reset', source: 'i8042' });
  }

  private enqueue(b: number, src: Src): void {
    if (this.queue.length >= QUEUE_LIMIT) {
      this.droppedBytes++;
      return;
    }
    this.queue.push([b, src]);
    this.refill();
  }

  private deliverable(src: Src): boolean {
    if (src === Src.Kbd) return (this.ctr & R.CTR_KBDDIS) === 0;
    if (src === Src.Aux) return (this.ctr & R.CTR_AUXDIS) === 0;
    return true;
  }

  /** Moves the next deliverable byte into an empty output buffer. */
  private refill(): void {
    if (this.obfFull) return;
    const i = this.queue.findIndex(([, src]) => this.deliverable(src));
    if (i < 0) return;
    const [b, src] = this.queue.splice(i, 1)[0]!;
    this.obfFull = true;
    this.obfByte = b;
    this.obfSrc = src;
  }

  private updateIrqs(): void {
    const aux = this.obfSrc === Src.Aux || this.obfSrc === Src.CtrlAux;
    const kbd = this.obfFull && !aux && (this.ctr & R.CTR_KBDINT) !== 0;
    const mouse = this.obfFull && aux && (this.ctr & R.CTR_AUXINT) !== 0;
    if (kbd !== this.kbdLevel) {
      this.kbdLevel = kbd;
      this.ctx.kbdIrq.set(kbd);
    }
    if (mouse !== this.auxLevel) {
      this.auxLevel = mouse;
      this.ctx.auxIrq.set(mouse);
    }
  }

  reset(): void {
    this.ram = new Uint8Array(32);
    this.ram[0] = DEFAULT_CTR;
    this.outputPort = DEFAULT_OUTPUT_PORT;
    this.obfFull = false;
    this.obfByte = 0;
    this.obfSrc = Src.Ctrl;
    this.queue = [];
    this.pendingCommand = 0;
    this.lastWasCommand = false;
    this.kbd = new Ps2Keyboard();
    this.mouse = new Ps2Mouse();
    this.updateIrqs();
  }

  save(): I8042SavedState {
    return {
      version: SAVE_VERSION,
      ram: [...this.ram],
      outputPort: this.outputPort,
      obf: { full: this.obfFull, byte: this.obfByte, src: this.obfSrc },
      queue: this.queue.map(([b, s]) => [b, s] as const),
      pendingCommand: this.pendingCommand,
      lastWasCommand: this.lastWasCommand,
      keyboard: this.kbd.save(),
      mouse: this.mouse.save(),
    };
  }

  private restore(saved: SavedState): void {
    const s = checkSavedVersion<I8042SavedState>(this.id, saved, SAVE_VERSION);
    const byte = (v: unknown): number => (typeof v === 'number' ? v & 0xff : 0);
    const src = (v: unknown): Src => (typeof v === 'number' && v >= 0 && v <= 3 ? (v as Src) : Src.Ctrl);
    if (Array.isArray(s.ram)) s.ram.slice(0, 32).forEach((v, i) => (this.ram[i] = byte(v)));
    this.outputPort = typeof s.outputPort === 'number' ? byte(s.outputPort) : DEFAULT_OUTPUT_PORT;
    const obf = (typeof s.obf === 'object' && s.obf !== null ? s.obf : {}) as Partial<I8042SavedState['obf']>;
    this.obfFull = obf.full === true;
    this.obfByte = byte(obf.byte);
    this.obfSrc = src(obf.src);
    this.queue = Array.isArray(s.queue)
      ? s.queue.slice(0, QUEUE_LIMIT).map((e) => [byte(Array.isArray(e) ? e[0] : 0), src(Array.isArray(e) ? e[1] : 0)])
      : [];
    this.pendingCommand = byte(s.pendingCommand);
    this.lastWasCommand = s.lastWasCommand === true;
    this.kbd = Ps2Keyboard.restore(s.keyboard);
    this.mouse = Ps2Mouse.restore(s.mouse);
  }

  inspect(): InspectNode {
    return inspect.tree({
      status: inspect.hex(this.status()),
      commandByte: inspect.hex(this.ctr),
      outputPort: inspect.hex(this.outputPort),
      outputBuffer: this.obfFull ? inspect.hex(this.obfByte) : null,
      queued: this.queue.length,
      pendingCommand: this.pendingCommand ? inspect.hex(this.pendingCommand) : null,
      keyboard: inspect.tree({ scanning: this.kbd.scanning, leds: this.kbd.leds, scanSet: this.kbd.scanSet }),
      mouse: inspect.tree({ reporting: this.mouse.reporting, rate: this.mouse.rate, wrap: this.mouse.wrap }),
      resetRequests: inspect.counter(this.resets),
      unknownCommands: inspect.counter(this.unknownCommands),
      droppedBytes: inspect.counter(this.droppedBytes),
    });
  }
}

/** Builds the 8042, fresh or from a SavedState. */
export const createI8042: DeviceFactory<I8042Config, I8042Context, I8042> = (config, ctx, saved) =>
  new I8042(config, ctx, saved);
