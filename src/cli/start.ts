/**
 * `tsvmm run`: builds the machine (src/vm/build.ts), connects the console
 * (and the API socket) and runs until the guest stops. Returns the process
 * exit code of DESIGN.md. `serve` runs its VM here too once the API has
 * configured or restored it.
 */
import { GuestBuildError } from '../guest/index.js';
import { VmmController } from '../api/controller.js';
import { listenApi, type ApiServer } from '../api/server.js';
import { claimSocketPath, SocketPathError } from '../api/socket-path.js';
import { LoaderError } from '../loader/index.js';
import { buildVm, type PreparedVm } from '../vm/build.js';
import type { VmConfig } from '../vm/config.js';
import type { Vm } from '../vm/vm.js';
import type { OpenSnapshot } from '../vm/snapshot.js';
import { tsvmmVersion } from '../vm/version.js';
import { attachFile, attachSocket, attachStdio, type ConsoleConnection } from './console.js';
import { ExitCode, UsageError } from './errors.js';
import { processIo, type CliIo } from './io.js';
import type { ReplTarget } from './repl-commands.js';
import { attachTerminal } from './repl.js';

/** What `tsvmm run` hands the VM besides its configuration. */
export interface StartOptions {
  /** Serve the HTTP management API on this unix socket while the VM runs. */
  apiSocket?: string;
  /** Where messages for the operator go. */
  io?: CliIo;
  /** Continue this snapshot instead of booting (`--restore DIR`; `config` is the snapshot's). */
  restore?: OpenSnapshot;
}

/** Opens the console backend `--serial` names; on a terminal, Ctrl-] opens the REPL. */
async function openConsole(config: VmConfig, onEscape: () => void, repl: ReplTarget): Promise<ConsoleConnection> {
  switch (config.serial.mode) {
    case 'file':
      return attachFile(config.serial.path);
    case 'socket':
      return attachSocket(config.serial.path);
    default:
      // Piped stdin (scripts, CI) has no REPL: the escape byte passes through.
      return process.stdin.isTTY === true ? attachTerminal(repl) : attachStdio(onEscape);
  }
}

/** The operator's log of buildVm: one `tsvmm: ` line each on stderr. */
export function stderrLog(io: CliIo): (line: string) => void {
  return (line) => io.stderr(`tsvmm: ${line}\n`);
}

/** How runVm runs a prepared VM. */
export interface RunVmOptions {
  readonly io?: CliIo;
  /** Serve the HTTP API on this socket while the VM runs (`run --api-socket`). */
  readonly apiSocket?: string;
  /** An API server already serving this VM (`serve`); closed when the VM stops. */
  readonly api?: ApiServer;
  /** The controller the API (and the REPL) use; made here when not given. */
  readonly controller?: VmmController;
  /** Start the VM at once (`run`), or wait until it is started or stopped through the API (`serve`). */
  readonly start: boolean;
  /**
   * Called once: when the console is connected to the VM (no argument),
   * or with the error that kept it from being connected. `serve` holds the
   * API's answer until then, so no console output is lost.
   */
  readonly onConsole?: (error?: unknown) => void;
}

/**
 * Runs a prepared VM with its console (the REPL behind Ctrl-] on a
 * terminal), signal handling and API until it stops; resolves with the
 * process exit code (DESIGN.md "Exit codes"). Reboots happen inside the Vm
 * (a fresh machine on the same console) unless --no-reboot.
 */
export async function runVm(prepared: PreparedVm, config: VmConfig, options: RunVmOptions): Promise<number> {
  const io = options.io ?? processIo;
  const { vm } = prepared;
  const controller = options.controller ?? new VmmController({ vm }, { version: tsvmmVersion() });
  let api = options.api ?? null;
  let console: ConsoleConnection | null = null;
  const offEvents = vm.on((e) => {
    if (e.type === 'reboot') io.stderr(`tsvmm: the guest rebooted (boot ${e.boot})\n`);
  });
  const onSignal = (sig: NodeJS.Signals) => void vm.stop(ExitCode.VmmFailure, `stopped by ${sig}`);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    if (options.apiSocket !== undefined) api = await serveApi(options.apiSocket, controller, io);
    const repl = {
      controller,
      // Guest memory exists while a machine runs (or is paused); after the stop it is unmapped.
      memory: () => (vm.state === 'running' || vm.state === 'paused' ? (vm.current?.memory ?? null) : null),
    };
    console = await openConsole(config, () => void vm.stop(ExitCode.PowerOff, 'console closed with Ctrl-]'), repl);
    console.connect(vm.serial);
    options.onConsole?.();
    if (options.start) vm.start();
    else await startedOrStopped(vm);
    const exit = await vm.wait();
    // Let the last batched console output reach the terminal before the message.
    await new Promise((r) => setImmediate(r));
    io.stderr(`\ntsvmm: ${exit.reason} (exit code ${exit.code})\n`);
    return exit.code;
  } catch (e) {
    // Once connected this is a no-op; before, it releases the API request waiting for the console.
    options.onConsole?.(e);
    if (e instanceof LoaderError) throw new UsageError(e.message);
    throw e;
  } finally {
    offEvents();
    console?.close();
    // Event streams see the exit event before the server closes.
    await api?.close();
    controller.close();
    await prepared.release();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/** Starts the API server; a socket path that is taken is a usage error (exit 2, one line). */
export async function serveApi(path: string, controller: VmmController, io: CliIo): Promise<ApiServer> {
  try {
    return await listenApi(path, controller, {
      version: tsvmmVersion(),
      onInternalError: (e) => io.stderr(`tsvmm: API: internal error: ${(e as Error).message}\n`),
    });
  } catch (e) {
    if (e instanceof SocketPathError) throw new UsageError(`--api-socket: ${e.message}`);
    throw e;
  }
}

/** Resolves once the VM has left the created state (started, or stopped before it started). */
function startedOrStopped(vm: Vm): Promise<void> {
  return new Promise((resolve) => {
    if (vm.state !== 'created') return resolve();
    const off = vm.on((e) => {
      if (e.type === 'state' && e.state !== 'created') {
        off();
        resolve();
      }
    });
  });
}

/** `tsvmm run`: builds the VM, serves the API if asked, runs it; resolves with the exit code. */
export async function startVm(config: VmConfig, options: StartOptions = {}): Promise<number> {
  const io = options.io ?? processIo;
  // A taken API socket is refused before anything is built.
  if (options.apiSocket !== undefined) {
    try {
      await claimSocketPath(options.apiSocket);
    } catch (e) {
      if (e instanceof SocketPathError) throw new UsageError(`--api-socket: ${e.message}`);
      throw e;
    }
  }
  let prepared: PreparedVm;
  try {
    // A VmBuildError (the user's mistake) goes to main: one line, exit 2.
    prepared = await buildVm(config, { log: stderrLog(io), ...(options.restore ? { restore: options.restore } : {}) });
  } catch (e) {
    if (e instanceof GuestBuildError) {
      io.stderr(`tsvmm: ${e.message}\n`);
      return ExitCode.VmmFailure;
    }
    throw e;
  }
  return runVm(prepared, config, { io, start: true, ...(options.apiSocket === undefined ? {} : { apiSocket: options.apiSocket }) });
}
