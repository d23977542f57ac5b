/**
 * The library's `Vm` (`import { Vm } from 'tsvmm'`): a VM built from the
 * config schema's input form, its console, lifecycle, events and inspect
 * tree, behind a small typed surface. It wraps the lifecycle core
 * (src/vm/vm.ts) and builds VMs as `tsvmm run` does (src/vm/build.ts);
 * the verbs go through the same controller as the HTTP API, so they
 * behave the same everywhere.
 */
import { buildVm, VmBuildError, type PreparedVm } from '../vm/build.js';
import { ConfigError, formatConfigPath, parseVmConfig, type ConfigPath, type VmConfig, type VmConfigInput } from '../vm/config.js';
import { checkConfigFiles } from '../vm/input-file.js';
import type { MachineExit } from '../vm/machine.js';
import { parseSizeText } from '../vm/size.js';
import { tsvmmVersion } from '../vm/version.js';
import type { Vm as CoreVm, VmEvent, VmState } from '../vm/vm.js';
import { VmmController } from './controller.js';
import { VmConsole } from './guest-console.js';
import type { InspectJson } from './inspect-json.js';
import type { SnapshotReply } from './schemas.js';
import { listenApi, type ApiServer } from './server.js';

/**
 * What Vm.create takes: the VM config schema's input form (docs/api.md,
 * VmConfig); `memory` also takes a size such as "256M". There is no
 * `serial`: a library VM's console is `vm.console`.
 */
export interface VmOptions extends Omit<VmConfigInput, 'memory' | 'serial'> {
  /** Guest RAM: bytes, or a size with a binary suffix ("256M", "1G"; a bare number string is MiB). */
  readonly memory?: number | string;
}

/** How Vm.create builds the VM. */
export interface CreateOptions {
  /** Progress messages (building the default guest, which backend was picked). */
  readonly onMessage?: (line: string) => void;
  /** Also serve the HTTP API for this VM on a unix socket (see docs/api.md). */
  readonly apiSocket?: string;
}

/** How a VM ended: the process exit code `tsvmm run` would have used, and why. */
export type VmExit = MachineExit;

function parseMemory(memory: number | string | undefined): number | undefined {
  if (typeof memory !== 'string') return memory;
  const size = parseSizeText(memory);
  if (!size.ok) throw new ConfigError(['memory'], `${JSON.stringify(memory)} is not accepted`, 'a size such as "256M" or "1G", or a number of bytes');
  return size.bytes;
}

// What the builder's refusals would have accepted, by the key they name.
function expectedAt(path: ConfigPath): string {
  if (path[0] === 'accel') return 'an accelerator this machine has ("auto" or "emu")';
  if (path[0] === 'nets') return 'a network backend that can start';
  if (path[0] === 'disks' && path.length === 2) return 'a disk image that can be opened';
  return 'a file that exists and can be opened';
}

/**
 * The library's contract for what the VM builder refuses: a ConfigError
 * naming the key. The builder's message names the place first ("--disk: ",
 * "disks[0].path: "); the ConfigError says it by key instead.
 */
function asConfigError(e: unknown): unknown {
  if (!(e instanceof VmBuildError) || e.path === undefined) return e;
  return new ConfigError(e.path, e.message.slice(e.message.indexOf(': ') + 2), expectedAt(e.path));
}

/** A virtual machine (see the file comment). */
export class Vm {
  /** The guest's serial console (COM1). */
  readonly console: VmConsole;
  private readonly controller: VmmController;
  private released: Promise<void> | null = null;

  private constructor(
    private readonly prepared: PreparedVm,
    private readonly api: ApiServer | null,
    controller: VmmController,
  ) {
    this.controller = controller;
    this.console = new VmConsole(prepared.vm.serial);
    prepared.vm.on((e) => {
      if (e.type === 'exit') {
        this.console.end(`the VM stopped (${e.reason})`);
        void this.release();
      }
    });
  }

  /**
   * Builds a VM (state "created"): validates the config, checks its files,
   * opens its disks and networks (each refusal a ConfigError naming the
   * key), and builds the default guest on first use when no kernel is
   * given (GuestBuildError when it cannot be built here).
   */
  static async create(options: VmOptions = {}, how: CreateOptions = {}): Promise<Vm> {
    const { memory, ...rest } = options;
    const bytes = parseMemory(memory);
    const config = parseVmConfig({ ...rest, ...(bytes === undefined ? {} : { memory: bytes }) });
    let prepared: PreparedVm;
    try {
      // The files a config names must exist before anything is built; errors name the key, as the schema's do.
      checkConfigFiles(config, formatConfigPath, 'set "readonly": true to attach it read-only');
      prepared = await buildVm(config, how.onMessage ? { log: how.onMessage } : {});
    } catch (e) {
      throw asConfigError(e);
    }
    const controller = new VmmController({ vm: prepared.vm }, { version: tsvmmVersion() });
    let api: ApiServer | null = null;
    try {
      if (how.apiSocket !== undefined) api = await listenApi(how.apiSocket, controller, { version: tsvmmVersion() });
    } catch (e) {
      await prepared.release();
      throw e;
    }
    return new Vm(prepared, api, controller);
  }

  /** The configuration, defaults filled in. */
  get config(): VmConfig {
    return this.prepared.vm.config;
  }

  /** created, running, paused or stopped. */
  get state(): VmState {
    return this.prepared.vm.state;
  }

  /** The lifecycle core, for what this facade does not cover (unstable: may change between versions). */
  get core(): CoreVm {
    return this.prepared.vm;
  }

  /** Boots the guest; resolves once it runs. */
  async start(): Promise<void> {
    await this.controller.verb('start');
    // wait() rejects only when the first machine could not be built, which start() reports
    // itself; mark the promise handled so a caller that never waits sees no unhandled rejection.
    this.prepared.vm.wait().catch(() => {});
  }

  /** Pauses every vCPU; resolves once none runs. */
  async pause(): Promise<void> {
    await this.controller.verb('pause');
  }

  /** Resumes a paused VM. */
  async resume(): Promise<void> {
    await this.controller.verb('resume');
  }

  /** Hard reset: the machine is rebuilt and the guest boots again. */
  async reset(): Promise<void> {
    await this.controller.verb('reset');
  }

  /** Presses the ACPI power button; the guest decides (follow events() or wait() for the exit). */
  async shutdown(): Promise<void> {
    await this.controller.verb('shutdown');
  }

  /** Sends a non-maskable interrupt to vCPU 0. */
  async nmi(): Promise<void> {
    await this.controller.verb('nmi');
  }

  /** Stops the VM at once (no guest shutdown); resolves with its exit once everything is closed. */
  async stop(): Promise<VmExit> {
    await this.controller.verb('stop');
    await this.release();
    return this.prepared.vm.exit!;
  }

  /** Resolves when the VM has stopped (the guest powered off, crashed, or stop()), with its exit. */
  async wait(): Promise<VmExit> {
    const exit = await this.prepared.vm.wait();
    await this.release();
    return exit;
  }

  /** Writes a snapshot to a directory (a running VM is paused for it and resumed). */
  snapshot(dir: string): Promise<SnapshotReply> {
    return this.controller.snapshot(dir);
  }

  /** The inspect tree (or the subtree at `path`, e.g. "machine/vcpus/0") as plain JSON. */
  inspect(path = ''): InspectJson {
    return this.controller.inspect(path);
  }

  /** The events from now on (state changes, reboots, the exit); the iteration ends after the exit. */
  events(): AsyncGenerator<VmEvent> {
    return this.prepared.vm.events();
  }

  /** Calls `listener` with every event; returns the function that unsubscribes. */
  on(listener: (e: VmEvent) => void): () => void {
    return this.prepared.vm.on(listener);
  }

  // Closes disks, networks and the API socket once the VM has stopped (once).
  private release(): Promise<void> {
    this.released ??= (async () => {
      await this.api?.close();
      this.controller.close();
      await this.prepared.release();
    })();
    return this.released;
  }
}
