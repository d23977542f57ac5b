/**
 * The PS/2 keyboard and mouse behind the 8042: each takes one byte from the
 * host and returns the bytes it answers with. They answer the commands
 * Linux's atkbd and psmouse drivers send while probing; there are no keys
 * or movements yet, so scanning and reporting only change state.
 */
import * as R from './regs.js';

/** Scan code set numbers as the 8042 translation reports them (sets 1, 2, 3). */
const XLATED_SET = [0, 0x43, 0x41, 0x3f] as const;

/** A keyboard's saved form. */
export interface SavedKeyboard {
  readonly scanning: boolean;
  readonly leds: number;
  readonly typematic: number;
  readonly scanSet: number;
  readonly pending: number;
  readonly last: number;
}

/** A mouse's saved form. */
export interface SavedMouse {
  readonly reporting: boolean;
  readonly remote: boolean;
  readonly wrap: boolean;
  readonly scaling21: boolean;
  readonly rate: number;
  readonly resolution: number;
  readonly pending: number;
  readonly last: number;
}

function byteOr(v: unknown, dflt: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xff ? v : dflt;
}

/** An MF2 keyboard. */
export class Ps2Keyboard {
  scanning = true;
  leds = 0;
  typematic = 0x2b;
  scanSet = 2;
  /** A command waiting for its parameter byte, or 0. */
  pending = 0;
  /** The last byte sent, for the resend command. */
  last = R.PS2_ACK;

  /** Handles one byte from the controller; `translated` is the 8042's XLATE bit. */
  write(b: number, translated: boolean): number[] {
    const out = this.command(b, translated);
    if (out.length > 0 && b !== R.KBD_RESEND) this.last = out[out.length - 1]!;
    return out;
  }

  private command(b: number, translated: boolean): number[] {
    const pending = this.pending;
    if (pending !== 0) {
      this.pending = 0;
      if (pending === R.KBD_SETLEDS) this.leds = b & 7;
      else if (pending === R.KBD_SETREP) this.typematic = b & 0x7f;
      else if (b === 0) return [R.PS2_ACK, translated ? XLATED_SET[this.scanSet]! : this.scanSet];
      else if (b <= 3) this.scanSet = b;
      return [R.PS2_ACK];
    }
    switch (b) {
      case R.KBD_SETLEDS:
      case R.KBD_SETREP:
      case R.KBD_SCANSET:
        this.pending = b;
        return [R.PS2_ACK];
      case R.KBD_ECHO:
        return [R.KBD_ECHO];
      case R.KBD_GETID:
        return [R.PS2_ACK, R.KBD_ID0, translated ? R.KBD_ID1_XLATED : R.KBD_ID1];
      case R.KBD_ENABLE:
        this.scanning = true;
        return [R.PS2_ACK];
      case R.KBD_RESET_DIS:
        this.defaults();
        this.scanning = false;
        return [R.PS2_ACK];
      case R.KBD_RESET_DEF:
        this.defaults();
        return [R.PS2_ACK];
      case R.KBD_RESEND:
        return [this.last];
      case R.KBD_RESET:
        this.defaults();
        this.scanning = true;
        this.leds = 0;
        return [R.PS2_ACK, R.PS2_BAT_OK];
      default:
        // 0xF7..0xFD are set 3 key-type commands: acknowledged, no effect.
        return b >= 0xf7 && b <= 0xfd ? [R.PS2_ACK] : [R.PS2_RESEND];
    }
  }

  private defaults(): void {
    this.typematic = 0x2b;
    this.scanSet = 2;
  }

  /** Saved form. */
  save(): SavedKeyboard {
    const { scanning, leds, typematic, scanSet, pending, last } = this;
    return { scanning, leds, typematic, scanSet, pending, last };
  }

  /** Rebuilds a keyboard from its saved form (bad fields fall back to defaults). */
  static restore(s: Partial<SavedKeyboard> | undefined): Ps2Keyboard {
    const k = new Ps2Keyboard();
    if (!s) return k;
    k.scanning = s.scanning !== false;
    k.leds = byteOr(s.leds, 0) & 7;
    k.typematic = byteOr(s.typematic, 0x2b) & 0x7f;
    k.scanSet = Math.min(3, Math.max(1, byteOr(s.scanSet, 2)));
    k.pending = byteOr(s.pending, 0);
    k.last = byteOr(s.last, R.PS2_ACK);
    return k;
  }
}

/** A standard three-button PS/2 mouse (ID 0x00). */
export class Ps2Mouse {
  reporting = false;
  remote = false;
  wrap = false;
  scaling21 = false;
  rate = 100;
  resolution = 2;
  pending = 0;
  last = R.PS2_ACK;

  /** Handles one byte sent with the controller's 0xD4 command. */
  write(b: number): number[] {
    const out = this.command(b);
    if (out.length > 0 && b !== R.AUX_RESEND) this.last = out[out.length - 1]!;
    return out;
  }

  private command(b: number): number[] {
    const pending = this.pending;
    if (pending !== 0) {
      this.pending = 0;
      if (pending === R.AUX_SETRATE) this.rate = b;
      else this.resolution = b & 3;
      return [R.PS2_ACK];
    }
    if (this.wrap && b !== R.AUX_RESET_WRAP && b !== R.AUX_RESET) return [b];
    switch (b) {
      case R.AUX_SETRES:
      case R.AUX_SETRATE:
        this.pending = b;
        return [R.PS2_ACK];
      case R.AUX_SETSCALE11:
      case R.AUX_SETSCALE21:
        this.scaling21 = b === R.AUX_SETSCALE21;
        return [R.PS2_ACK];
      case R.AUX_GETINFO: {
        const status = (this.remote ? 0x40 : 0) | (this.reporting ? 0x20 : 0) | (this.scaling21 ? 0x10 : 0);
        return [R.PS2_ACK, status, this.resolution, this.rate];
      }
      case R.AUX_SETSTREAM:
      case R.AUX_SETPOLL:
        this.remote = b === R.AUX_SETPOLL;
        return [R.PS2_ACK];
      case R.AUX_READ_DATA:
        // No movement, no buttons; bit 3 is always set in the first packet byte.
        return [R.PS2_ACK, 0x08, 0x00, 0x00];
      case R.AUX_RESET_WRAP:
      case R.AUX_SET_WRAP:
        this.wrap = b === R.AUX_SET_WRAP;
        return [R.PS2_ACK];
      case R.AUX_GETID:
        return [R.PS2_ACK, 0x00];
      case R.AUX_ENABLE:
      case R.AUX_DISABLE:
        this.reporting = b === R.AUX_ENABLE;
        return [R.PS2_ACK];
      case R.AUX_RESET_DEF:
        this.defaults();
        return [R.PS2_ACK];
      case R.AUX_RESEND:
        return [this.last];
      case R.AUX_RESET:
        this.defaults();
        this.wrap = false;
        return [R.PS2_ACK, R.PS2_BAT_OK, 0x00];
      default:
        return [R.PS2_RESEND];
    }
  }

  private defaults(): void {
    this.reporting = false;
    this.remote = false;
    this.scaling21 = false;
    this.rate = 100;
    this.resolution = 2;
  }

  /** Saved form. */
  save(): SavedMouse {
    const { reporting, remote, wrap, scaling21, rate, resolution, pending, last } = this;
    return { reporting, remote, wrap, scaling21, rate, resolution, pending, last };
  }

  /** Rebuilds a mouse from its saved form (bad fields fall back to defaults). */
  static restore(s: Partial<SavedMouse> | undefined): Ps2Mouse {
    const m = new Ps2Mouse();
    if (!s) return m;
    m.reporting = s.reporting === true;
    m.remote = s.remote === true;
    m.wrap = s.wrap === true;
    m.scaling21 = s.scaling21 === true;
    m.rate = byteOr(s.rate, 100);
    m.resolution = byteOr(s.resolution, 2) & 3;
    m.pending = byteOr(s.pending, 0);
    m.last = byteOr(s.last, R.PS2_ACK);
    return m;
  }
}
