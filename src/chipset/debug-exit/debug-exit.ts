/**
 * The debug-exit port: a test guest writes V and the machine stops with
 * exit code (V << 1) | 1 (vm/ turns the request into the exit code).
 *
 * DEVNOTE: as QEMU's isa-debug-exit, a write of any width inside the port's
 * `iosize` bytes is one value: V is the written value masked to the access
 * width (outb 0x01 gives 1, outl 0x12345678 gives 0x12345678). The port
 * offset does not shift it. Reads return all-ones. vm/ keeps only the low 8
 * bits of the exit code, as a process exit status does.
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
import type { MachineControl } from '../../bus/machine.js';
import { DEBUG_EXIT_IOSIZE, DEBUG_EXIT_PORT } from './regs.js';

/** Where the debug-exit port sits. */
export interface DebugExitConfig {
  readonly id?: string;
  /** Port number (default 0xf4). */
  readonly port?: number;
  /** Bytes claimed from `port` on (1, 2 or 4; default 4). */
  readonly iosize?: 1 | 2 | 4;
}

/** What the port needs from the machine. */
export interface DebugExitContext {
  readonly machine: MachineControl;
}

/** Saved debug-exit state, version 1 (the port has none; the key keeps the shape uniform). */
export interface DebugExitSavedState extends SavedState {
  readonly version: 1;
}

const MASK = [0, 0xff, 0xffff, 0, 0xffffffff] as const;

/** The debug-exit port. */
export class DebugExit implements VmmDevice {
  readonly id: string;
  readonly pio: IoPart;
  private exits = 0;
  private reads = 0;
  /** The last value requested, or null (inspect). */
  private lastValue: number | null = null;

  constructor(
    config: DebugExitConfig,
    private readonly ctx: DebugExitContext,
    saved?: SavedState,
  ) {
    this.id = config.id ?? 'debug-exit';
    if (saved) checkSavedVersion<DebugExitSavedState>(this.id, saved, 1);
    const iosize = config.iosize ?? DEBUG_EXIT_IOSIZE;
    this.pio = {
      regions: [{ name: 'debug-exit', base: config.port ?? DEBUG_EXIT_PORT, size: iosize }],
      read: (_addr, size) => {
        this.reads++;
        return MASK[size];
      },
      write: (_addr, size, value) => this.write(size, value),
    };
  }

  private write(size: AccessSize, value: number): void {
    const v = (value & MASK[size]) >>> 0;
    this.exits++;
    this.lastValue = v;
    this.ctx.machine.request({ kind: 'debug-exit', value: v });
  }

  reset(): void {}

  save(): DebugExitSavedState {
    return { version: 1 };
  }

  inspect(): InspectNode {
    return inspect.tree({
      lastValue: this.lastValue === null ? null : inspect.hex(this.lastValue),
      requests: inspect.counter(this.exits),
      reads: inspect.counter(this.reads),
    });
  }
}

/** Builds the debug-exit port, fresh or from a SavedState. */
export const createDebugExit: DeviceFactory<DebugExitConfig, DebugExitContext, DebugExit> = (config, ctx, saved) =>
  new DebugExit(config, ctx, saved);
