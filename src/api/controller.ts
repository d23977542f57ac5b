/**
 * What the management interfaces (HTTP API, REPL, library) do to a VM, in
 * one place: the verbs, the serve-mode configure and restore steps,
 * snapshot semantics and the event relay. The HTTP layer only parses and
 * formats.
 *
 * DEVNOTE: verbs that change the VM run one at a time (a promise chain).
 * The lifecycle core assumes one caller: two overlapping pause() calls
 * would leave the first waiting forever, and a verb racing a reboot could
 * act on the machine being replaced. Reads (describe, inspect) do not queue.
 */
import { EventEmitter } from 'node:events';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { InspectNode } from '../bus/device.js';
import { ConfigError, parseVmConfig, type VmConfig } from '../vm/config.js';
import type { MachineExit } from '../vm/machine.js';
import { openSnapshot, type OpenSnapshot } from '../vm/snapshot.js';
import { SnapshotError } from '../vm/snapshot-format.js';
import { VmStateError, type VmEvent, type VmState } from '../vm/vm.js';
import { ApiError, toApiError } from './errors.js';
import { inspectToJson, type InspectJson } from './inspect-json.js';
import type { ApiState, Description, RestoreRequest, SnapshotReply, StateReply } from './schemas.js';

/** The part of the lifecycle Vm (src/vm/vm.ts) the controller uses; tests pass a fake. */
export interface ManagedVm {
  readonly state: VmState;
  readonly config: VmConfig;
  readonly exit: MachineExit | null;
  start(options?: { readonly paused?: boolean }): void;
  wait(): Promise<MachineExit>;
  pause(): Promise<void>;
  resume(): void;
  reset(): void;
  powerButton(): void;
  nmi(): void;
  stop(code?: number, reason?: string): Promise<MachineExit>;
  snapshot(dir: string): Promise<unknown>;
  inspect(path?: string): InspectNode | undefined;
  on(listener: (e: VmEvent) => void): () => void;
}

/** Builds a VM from a validated config (serve mode); throws ConfigError/ApiError for the client's mistakes. */
export type VmFactory = (config: VmConfig) => Promise<ManagedVm>;

/**
 * Builds the VM of an opened snapshot (serve mode), in state created and
 * ready to continue; throws ApiError for a snapshot that cannot be restored.
 */
export type VmRestorer = (snapshot: OpenSnapshot) => Promise<ManagedVm>;

/** How the controller gets its VM: given at once (`run`), or built on PUT /v1/vm or PUT /v1/vm/restore (`serve`). */
export type ControllerSource = { readonly vm: ManagedVm } | { readonly factory: VmFactory; readonly restorer: VmRestorer };

/**
 * Told when the VM appears. A promise it returns is waited for before the
 * VM is started or reported configured: `serve` attaches the console then.
 */
export type VmListener = (vm: ManagedVm) => void | Promise<void>;

/** Options of VmmController. */
export interface ControllerOptions {
  /** Reported in describe (the package version). */
  readonly version?: string;
}

/** The lifecycle verbs the API and ctl offer. */
export const VERBS = ['start', 'pause', 'resume', 'reset', 'shutdown', 'stop', 'nmi'] as const;
/** One of VERBS. */
export type Verb = (typeof VERBS)[number];

/**
 * Makes sure the snapshot directory can be written before the VM is paused:
 * a path the client got wrong is its mistake (400), never a paused VM.
 */
function checkSnapshotDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'not a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new ApiError('bad-snapshot-path', `cannot write a snapshot to ${dir}: ${why}`, ['path'], { cause: e });
  }
}

/** Owns the VMM's one VM on behalf of the management interfaces. */
export class VmmController {
  private vmValue: ManagedVm | null = null;
  private readonly factory: VmFactory | null;
  private readonly restorer: VmRestorer | null;
  private readonly vmListeners: VmListener[] = [];
  private readonly emitter = new EventEmitter();
  private queue: Promise<unknown> = Promise.resolve();
  private offVm: (() => void) | null = null;

  constructor(
    source: ControllerSource,
    private readonly options: ControllerOptions = {},
  ) {
    this.emitter.setMaxListeners(0);
    if ('vm' in source) {
      this.factory = null;
      this.restorer = null;
      this.vmValue = source.vm;
      this.follow(source.vm);
    } else {
      this.factory = source.factory;
      this.restorer = source.restorer;
    }
  }

  /** `run` when the VM came with the process, `serve` when it is configured through the API. */
  get mode(): 'run' | 'serve' {
    return this.factory === null ? 'run' : 'serve';
  }

  /** The VM, once there is one. */
  get vm(): ManagedVm | null {
    return this.vmValue;
  }

  /** The state as the API reports it. */
  get state(): ApiState {
    return this.vmValue?.state ?? 'unconfigured';
  }

  /** GET /v1/vm. */
  describe(): Description {
    const vm = this.vmValue;
    const boots = vm?.inspect('boots')?.value;
    return {
      state: this.state,
      config: vm?.config ?? null,
      boots: typeof boots === 'number' ? boots : 0,
      exit: vm?.exit ? { code: vm.exit.code, reason: vm.exit.reason } : null,
      vmm: { version: this.options.version ?? 'unknown', pid: process.pid, mode: this.mode, accel: vm?.config.accel ?? null },
    };
  }

  /** PUT /v1/vm (serve mode): validates the config and builds the VM, which waits in "created". */
  configure(input: unknown): Promise<Description> {
    return this.serially(async () => {
      if (this.vmValue !== null || this.factory === null) {
        throw new ApiError('already-configured', 'this VMM already has its VM (one VMM process runs one VM)');
      }
      let config: VmConfig;
      try {
        config = parseVmConfig(input);
      } catch (e) {
        throw toApiError(e, 'invalid-config');
      }
      let vm: ManagedVm;
      try {
        vm = await this.factory(config);
      } catch (e) {
        throw e instanceof ConfigError ? toApiError(e, 'invalid-config') : e;
      }
      await this.adopt(vm);
      this.emit({ type: 'state', state: 'created' });
      return this.describe();
    });
  }

  /**
   * PUT /v1/vm/restore (serve mode): instead of a configuration, the VMM's
   * VM comes from a snapshot directory, continuing where it was taken:
   * running with `resume`, else paused until POST /v1/vm/resume (as
   * Firecracker's snapshot load). Only while no VM is configured.
   * Without `resume` no guest instruction runs before POST /v1/vm/resume.
   */
  restore(request: RestoreRequest): Promise<Description> {
    return this.serially(async () => {
      if (this.vmValue !== null || this.restorer === null) {
        throw new ApiError('already-configured', 'this VMM already has its VM; restore a snapshot into a fresh `tsvmm serve` VMM');
      }
      const dir = resolve(request.dir);
      let snapshot: OpenSnapshot;
      try {
        snapshot = openSnapshot(dir);
      } catch (e) {
        if (e instanceof SnapshotError) throw new ApiError('invalid-snapshot', `${dir}: ${e.message}`, ['dir'], { cause: e });
        throw e;
      }
      const vm = await this.restorer(snapshot);
      await this.adopt(vm);
      vm.start({ paused: !request.resume });
      if (vm.state === 'stopped') {
        const why = await vm.wait().then((x) => x.reason, (e: Error) => e.message);
        throw new ApiError('vm-failed', `the restored VM did not start: ${why}`);
      }
      return this.describe();
    });
  }

  /** Runs a lifecycle verb; resolves with the state after it. `reason` is the exit reason a stop records. */
  verb(verb: Verb, reason = 'stopped through the API'): Promise<StateReply> {
    return this.serially(async () => {
      const vm = this.require();
      switch (verb) {
        case 'start':
          vm.start();
          if (vm.state === 'stopped') {
            // The machine could not be built; the reason is the VM's exit. wait() holds the error.
            const why = await vm.wait().then((x) => x.reason, (e: Error) => e.message);
            throw new ApiError('vm-failed', `the VM did not start: ${why}`);
          }
          break;
        case 'pause':
          await vm.pause();
          break;
        case 'resume':
          vm.resume();
          break;
        case 'reset':
          vm.reset();
          break;
        case 'shutdown':
          vm.powerButton();
          break;
        case 'nmi':
          vm.nmi();
          break;
        case 'stop':
          await vm.stop(0, reason);
          break;
      }
      return this.stateReply();
    });
  }

  /**
   * POST /v1/vm/snapshot: a running VM is paused for the snapshot and
   * resumed after it (also when it fails); a paused VM stays paused.
   */
  snapshot(path: string): Promise<SnapshotReply> {
    return this.serially(async () => {
      const vm = this.require();
      if (vm.state !== 'running' && vm.state !== 'paused') throw new VmStateError('snapshot', vm.state);
      const dir = resolve(path);
      checkSnapshotDir(dir);
      const wasRunning = vm.state === 'running';
      const t0 = performance.now();
      if (wasRunning) await vm.pause();
      try {
        await vm.snapshot(dir);
      } catch (e) {
        if (e instanceof VmStateError || e instanceof ApiError) throw e;
        throw new ApiError('snapshot-failed', `snapshot to ${dir} failed: ${(e as Error).message}`, undefined, { cause: e });
      } finally {
        // Read afresh: the snapshot may have changed the state (TypeScript still holds the narrowed one).
        if (wasRunning && (vm.state as VmState) === 'paused') vm.resume();
      }
      return { path: dir, state: this.state, ms: Math.round(performance.now() - t0) };
    });
  }

  /** GET /v1/vm/inspect: a subtree as plain JSON ("" for the root); 404 for a path that names nothing. */
  inspect(path = ''): InspectJson {
    const vm = this.require();
    const node = vm.inspect(path);
    if (node === undefined) throw new ApiError('no-such-node', `inspect: no node at ${JSON.stringify(path)}`);
    return inspectToJson(node);
  }

  /** Subscribes to the events of the VM, including one configured later; returns the unsubscribe function. */
  on(listener: (e: VmEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  /**
   * Calls `listener` when the VM appears (at once if it exists, its promise
   * then not waited for); serve uses it to attach the console before the
   * VM can start. A listener that rejects fails the request that built the VM.
   */
  onVm(listener: VmListener): void {
    if (this.vmValue) void Promise.resolve(listener(this.vmValue)).catch(() => {});
    else this.vmListeners.push(listener);
  }

  /** Stops following the VM's events (the VMM is shutting down). */
  close(): void {
    this.offVm?.();
    this.offVm = null;
  }

  // Takes the VM built in serve mode and waits for the listeners (the console) to be ready for it.
  private async adopt(vm: ManagedVm): Promise<void> {
    this.vmValue = vm;
    this.follow(vm);
    const listeners = this.vmListeners.splice(0);
    await Promise.all(listeners.map(async (l) => l(vm)));
  }

  private follow(vm: ManagedVm): void {
    this.offVm = vm.on((e) => this.emit(e));
  }

  private emit(e: VmEvent): void {
    this.emitter.emit('event', e);
  }

  private require(): ManagedVm {
    if (this.vmValue === null) throw new ApiError('not-configured', 'no VM is configured yet (PUT /v1/vm with a VM configuration first)');
    return this.vmValue;
  }

  private stateReply(): StateReply {
    const exit = this.vmValue?.state === 'stopped' ? this.vmValue.exit : null;
    return { state: this.state, exit: exit ? { code: exit.code, reason: exit.reason } : null };
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    // The chain must not hold a rejection: the next verb runs either way.
    this.queue = run.catch(() => {});
    return run;
  }
}
