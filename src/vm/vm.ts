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
import { DM_NMI } from '../chipset/apic-bus/regs.js';
import type { VmConfig } from './config.js';
import { Machine, type MachineBoot, type MachineExit, type MachineOptions, type SerialPort } from './machine.js';
import { bootIdentity, loadBootInputs, openSnapshot, type OpenSnapshot, type SnapshotInfo, writeSnapshot } from './snapshot.js';
import { type BootIdentity, SnapshotError } from './snapshot-format.js';

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
  /** What to boot, or how to load it (a restored VM needs its kernel only if the guest reboots). */
  private boot: MachineBoot | (() => Promise<MachineBoot>);
  /** The first machine of a restored VM, built by Vm.restore(). */
  private restored: Machine | null = null;
  /** start({ paused: true }) was asked: the first machine parks before its first slice. */
  private startPaused = false;
  /** reset() was asked: the next machine runs even if the VM was paused (reset means boot again). */
  private resetRequested = false;
  /** Hashes and paths of the boot inputs, computed once for snapshots. */
  private bootId: BootIdentity | null = null;
  private lastSnapshotInfo: SnapshotInfo | null = null;
  /** The guest's first serial port; stays valid across reboots. */
  readonly serial = new StableSerial();

  constructor(
    readonly config: VmConfig,
    boot: MachineBoot | (() => Promise<MachineBoot>),
    private readonly options: MachineOptions = {},
  ) {
    this.boot = boot;
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

  /** Sizes and timings of the last snapshot() (null before the first). */
  get lastSnapshot(): SnapshotInfo | null {
    return this.lastSnapshotInfo;
  }

  /** The machine currently running (changes on reboot), for inspect and tests. */
  get current(): Machine | null {
    return this.machine;
  }

  /**
   * Builds the machine and starts the guest. With `paused`, the machine is
   * built but no instruction runs until resume() (a restored snapshot that
   * is not to continue yet, as Firecracker's snapshot load without resume).
   */
  start(options: { readonly paused?: boolean } = {}): void {
    if (this.stateValue !== 'created') throw new VmStateError('start', this.stateValue);
    this.startPaused = options.paused === true;
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

  /** Delivers a non-maskable interrupt to vCPU 0 through its local APIC (Linux logs it, or panics if told to). */
  nmi(): void {
    if (this.stateValue !== 'running' && this.stateValue !== 'paused') throw new VmStateError('send an NMI to', this.stateValue);
    this.machine!.platform.lapics[0]!.receive({
      vector: 0, deliveryMode: DM_NMI, destMode: 'physical', dest: 0, trigger: 'edge', level: true,
    });
  }

  /** A hard reset: the machine is rebuilt and boots again (as a guest reboot does). */
  reset(): void {
    if (this.stateValue !== 'running' && this.stateValue !== 'paused') throw new VmStateError('reset', this.stateValue);
    this.resetRequested = true;
    this.machine!.request({ kind: 'reset', source: 'host' });
  }

  /** Stops the VM at once (no guest shutdown); resolves with the exit. */
  stop(code = 0, reason = 'stopped by the host'): Promise<MachineExit> {
    if (this.stateValue === 'created') {
      this.restored?.memory.close();
      this.restored = null;
      this.exitValue = { code, reason };
      this.setState('stopped');
      // Event followers (SSE, events()) end on the exit event, also for a VM that never ran.
      this.emitter.emit('event', { type: 'exit', code, reason } satisfies VmEvent);
      this.finished = Promise.resolve(this.exitValue);
      return this.finished;
    }
    if (this.stateValue !== 'stopped') this.machine?.stop(code, reason);
    return this.wait();
  }

  /**
   * Writes a snapshot (device state, CPU state, touched guest memory,
   * versioned manifest) to `dir`; the VM must be paused. Restore with
   * Vm.restore(dir) in a new process (`tsvmm run --restore DIR`). Throws
   * SnapshotError when a device cannot save or the files cannot be written.
   * What it wrote and cost is in `lastSnapshot` afterwards.
   */
  async snapshot(dir: string): Promise<void> {
    if (this.stateValue !== 'paused') throw new VmStateError('snapshot', this.stateValue);
    if (this.bootId === null) {
      const boot = typeof this.boot === 'function' ? await this.boot() : this.boot;
      this.bootId = bootIdentity(boot, this.machine!.bootKind);
    }
    // The await above let other callers run: the VM may have been resumed meanwhile.
    if (this.stateValue !== 'paused') throw new VmStateError('snapshot', this.stateValue);
    const machine = this.machine!;
    this.lastSnapshotInfo = writeSnapshot(dir, {
      config: this.config,
      boot: this.bootId,
      boots: this.boots,
      memory: machine.memory,
      capture: () => machine.captureState(),
    });
  }

  /**
   * Rebuilds a VM from a snapshot directory (or one opened with
   * openSnapshot): the machine of the snapshot's config, every device
   * created from its saved state, RAM and vCPU state loaded, the clock
   * continuing from the snapshot's time. The VM is 'created'; start()
   * continues the guest. `options` must add the same parts (PCI, disks)
   * as the snapshotted VM had. Throws SnapshotError.
   */
  static async restore(source: string | OpenSnapshot, options: MachineOptions = {}): Promise<Vm> {
    const snap = typeof source === 'string' ? openSnapshot(source) : source;
    const m = snap.manifest;
    const vm = new Vm(m.config, () => loadBootInputs(m.boot), options);
    vm.bootId = m.boot;
    // The loop counts the restored machine as the next one.
    vm.boots = Math.max(0, m.machine.boots - 1);
    try {
      vm.restored = new Machine(m.config, { restore: snap.image() }, options);
    } catch (e) {
      if (e instanceof SnapshotError) throw e;
      throw new SnapshotError((e as Error).message, { cause: e });
    }
    return vm;
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
        const restored = this.restored;
        this.restored = null;
        this.machine = restored ?? new Machine(this.config, typeof this.boot === 'function' ? await this.boot() : this.boot, this.options);
        this.serial.attach(this.machine.serial);
        // A pause that met a guest reboot holds for the next machine too, or the VM
        // would run while every interface says it is paused.
        const keepPaused = this.stateValue === 'paused' && !this.resetRequested;
        this.resetRequested = false;
        if (this.startPaused || keepPaused) {
          // Asked before the driver's first slice, so the driver parks before running anything.
          this.startPaused = false;
          void this.machine.driver.pause();
          if (this.stateValue !== 'paused') this.setState('paused');
        } else if (this.stateValue !== 'running') this.setState('running');
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
