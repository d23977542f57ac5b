/**
 * One VM and its lifecycle, the same for the CLI, the API and the library:
 *
 *   created --start--> running <--pause/resume--> paused
 *   running|paused --stop / guest power-off / crash--> stopped
 *
 * A guest reboot (or reset()) builds the machine afresh (new memory,
 * devices and CPUs) and keeps running, unless the config says noReboot.
 * The serial port and the event stream outlive the individual machines.
 */
import { EventEmitter } from 'node:events';
import type { InspectNode } from '../bus/device.js';
import type { VmConfig } from './config.js';
import { Machine, type MachineBoot, type MachineExit, type MachineOptions, type SerialPort } from './machine.js';

/** Lifecycle states. */
export type VmState = 'created' | 'running' | 'paused' | 'stopped';

/** What a Vm reports as it goes. */
export type VmEvent =
  | { readonly type: 'state'; readonly state: VmState }
  | { readonly type: 'reboot'; readonly boot: number; readonly reason: string }
  | { readonly type: 'exit'; readonly code: number; readonly reason: string };

/** A lifecycle request made in a state that does not allow it (the API answers 409). */
export class VmStateError extends Error {
  constructor(
    readonly verb: string,
    readonly state: VmState,
  ) {
    super(`cannot ${verb} a VM that is ${state}`);
    this.name = 'VmStateError';
  }
}

/** A serial port whose far end follows the current machine across reboots. */
class StableSerial implements SerialPort {
  onOutput: ((bytes: Uint8Array) => void) | null = null;
  private target: SerialPort | null = null;

  attach(port: SerialPort): void {
    this.target = port;
    port.onOutput = (b) => this.onOutput?.(b);
  }

  write(bytes: Uint8Array): number {
    return this.target?.write(bytes) ?? 0;
  }
}

/** A virtual machine. */
export class Vm {
  private stateValue: VmState = 'created';
  private machine: Machine | null = null;
  private readonly emitter = new EventEmitter();
  private exitValue: MachineExit | null = null;
  private finished: Promise<MachineExit> | null = null;
  private boots = 0;
  /** The guest's first serial port; stays valid across reboots. */
  readonly serial = new StableSerial();

  constructor(
    readonly config: VmConfig,
    private readonly boot: MachineBoot,
    private readonly options: MachineOptions = {},
  ) {
    // A listener-less 'error' would throw; events are informational here.
    this.emitter.setMaxListeners(0);
  }

  /** The current state. */
  get state(): VmState {
    return this.stateValue;
  }

  /** How the VM ended, once stopped. */
  get exit(): MachineExit | null {
    return this.exitValue;
  }

  /** The machine currently running (changes on reboot), for inspect and tests. */
  get current(): Machine | null {
    return this.machine;
  }

  /** Builds the machine and starts the guest; resolves when it runs. */
  start(): void {
    if (this.stateValue !== 'created') throw new VmStateError('start', this.stateValue);
    this.finished = this.loop();
  }

  /** Resolves when the VM has stopped, with its exit. */
  wait(): Promise<MachineExit> {
    if (!this.finished) throw new VmStateError('wait for', this.stateValue);
    return this.finished;
  }

  /** Stops every vCPU; the state is kept until resume(). */
  async pause(): Promise<void> {
    if (this.stateValue !== 'running') throw new VmStateError('pause', this.stateValue);
    await this.machine!.driver.pause();
    this.setState('paused');
  }

  /** Continues a paused VM. */
  resume(): void {
    if (this.stateValue !== 'paused') throw new VmStateError('resume', this.stateValue);
    this.machine!.driver.resume();
    this.setState('running');
  }

  /** Presses the ACPI power button: the guest decides (a Linux guest powers off). */
  powerButton(): void {
    if (this.stateValue !== 'running' && this.stateValue !== 'paused') throw new VmStateError('shut down', this.stateValue);
    this.machine!.pressPowerButton();
  }

  /** A hard reset: the machine is rebuilt and boots again (as a guest reboot does). */
  reset(): void {
    if (this.stateValue !== 'running' && this.stateValue !== 'paused') throw new VmStateError('reset', this.stateValue);
    this.machine!.request({ kind: 'reset', source: 'host' });
  }

  /** Stops the VM at once (no guest shutdown); resolves with the exit. */
  stop(code = 0, reason = 'stopped by the host'): Promise<MachineExit> {
    if (this.stateValue === 'created') {
      this.exitValue = { code, reason };
      this.setState('stopped');
      this.finished = Promise.resolve(this.exitValue);
      return this.finished;
    }
    if (this.stateValue !== 'stopped') this.machine?.stop(code, reason);
    return this.wait();
  }

  /**
   * Writes a snapshot (device state, CPU state, touched guest memory,
   * versioned manifest) to `dir`; the VM must be paused. Restore with
   * Vm.restore(dir) in a new process (`tsvmm run --restore DIR`).
   */
  async snapshot(dir: string): Promise<void> {
    if (this.stateValue !== 'paused') throw new VmStateError('snapshot', this.stateValue);
    void dir;
    throw new Error('snapshots are not implemented yet');
  }

  /** Subscribes to events; returns a function that unsubscribes. */
  on(listener: (e: VmEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  /** Events as an async iterator (ends after the 'exit' event). */
  async *events(): AsyncGenerator<VmEvent> {
    const queue: VmEvent[] = [];
    let wakeup: (() => void) | null = null;
    const off = this.on((e) => {
      queue.push(e);
      wakeup?.();
    });
    try {
      for (;;) {
        while (queue.length > 0) {
          const e = queue.shift()!;
          yield e;
          if (e.type === 'exit') return;
        }
        if (this.stateValue === 'stopped') return;
        await new Promise<void>((r) => (wakeup = r));
        wakeup = null;
      }
    } finally {
      off();
    }
  }

  /** The VM's state and counters as a tree; `path` selects a subtree ("devices/com1"). */
  inspect(path = ''): InspectNode | undefined {
    const root: InspectNode = {
      children: {
        state: { value: this.stateValue },
        boots: { value: this.boots, counter: true },
        ...(this.machine ? { machine: this.machine.inspect() } : {}),
      },
    };
    let node: InspectNode | undefined = root;
    for (const part of path.split('/').filter((p) => p.length > 0)) node = node?.children?.[part];
    return node;
  }

  private setState(state: VmState): void {
    this.stateValue = state;
    this.emitter.emit('event', { type: 'state', state } satisfies VmEvent);
  }

  private async loop(): Promise<MachineExit> {
    try {
      for (;;) {
        this.boots++;
        this.machine = new Machine(this.config, this.boot, this.options);
        this.serial.attach(this.machine.serial);
        if (this.stateValue !== 'running') this.setState('running');
        const exit = await this.machine.run();
        if (exit.reboot) {
          this.emitter.emit('event', { type: 'reboot', boot: this.boots + 1, reason: exit.reason } satisfies VmEvent);
          continue;
        }
        this.exitValue = exit;
        return exit;
      }
    } catch (e) {
      this.exitValue = { code: 3, reason: `VMM failure: ${(e as Error).message}` };
      if (this.boots === 1 && this.machine === null) throw e;
      return this.exitValue;
    } finally {
      this.setState('stopped');
      const x = this.exitValue;
      if (x) this.emitter.emit('event', { type: 'exit', code: x.code, reason: x.reason } satisfies VmEvent);
    }
  }
}
