/**
 * `tsvmm run`: picks the CPU backend, finds the kernel (the default guest
 * unless --kernel is given), builds the machine, connects the console (and
 * the API socket) and runs until the guest stops. Returns the process exit
 * code of DESIGN.md. `serve` and the library build their VMs here too.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { DEFAULT_CMDLINE, ensureDefaultGuest, GuestBuildError } from '../guest/index.js';
import { VmmController } from '../api/controller.js';
import { listenApi, type ApiServer } from '../api/server.js';
import { claimSocketPath, SocketPathError } from '../api/socket-path.js';
import { tsvmmVersion } from '../api/version.js';
import { LoaderError } from '../loader/index.js';
import type { VmConfig } from '../vm/config.js';
import { Vm } from '../vm/vm.js';
import type { MachineOptions } from '../vm/machine.js';
import type { OpenSnapshot } from '../vm/snapshot.js';
import { SnapshotError } from '../vm/snapshot-format.js';
import { openNetBackend } from '../net/open.js';
import type { NetBackend } from '../net/backend.js';
import { pciPart } from '../vm/pci-part.js';
import { openDisk } from '../storage/open.js';
import { DiskOpenError } from '../storage/open-error.js';
import type { Disk } from '../storage/disk.js';
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

/** Vm.restore with the CLI's error contract: a snapshot that cannot be restored is exit 2, one line. */
async function restoreVm(snapshot: OpenSnapshot, options: MachineOptions): Promise<Vm> {
  try {
    return await Vm.restore(snapshot, options);
  } catch (e) {
    if (e instanceof SnapshotError) throw new UsageError(`--restore: ${snapshot.dir}: ${e.message}`);
    throw e;
  }
}

/** Chooses the CPU backend for `--accel`; explains the choice on stderr. */
function pickBackend(config: VmConfig, io: CliIo): 'emu' {
  const kvm = existsSync('/dev/kvm');
  if (config.accel === 'kvm') {
    throw new UsageError(
      kvm
        ? '--accel kvm: the KVM backend is not available in this build yet (use --accel emu)'
        : '--accel kvm: /dev/kvm is not available on this machine (use --accel emu)',
    );
  }
  if (config.accel === 'auto') {
    io.stderr(`tsvmm: using the software CPU (${kvm ? 'the KVM backend is not built yet' : 'no /dev/kvm'})\n`);
  }
  return 'emu';
}

async function readInput(flag: string, path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new UsageError(`${flag}: ${path}: ${why}`);
  }
}

/** The kernel, initrd and command line to boot: the user's, or the default guest's. */
async function bootFiles(config: VmConfig, io: CliIo) {
  if (config.kernel) {
    return {
      kernel: await readInput('--kernel', config.kernel),
      kernelName: basename(config.kernel),
      kernelPath: config.kernel,
      initrd: config.initrd ? await readInput('--initrd', config.initrd) : undefined,
      initrdName: config.initrd ? basename(config.initrd) : undefined,
      initrdPath: config.initrd,
      cmdline: config.cmdline ?? DEFAULT_CMDLINE,
    };
  }
  const guest = await ensureDefaultGuest({
    onProgress: (p) => {
      if (p.step !== 'check') io.stderr(`tsvmm: default guest: ${p.message}\n`);
    },
  });
  return {
    kernel: await readInput('--kernel', guest.kernel),
    kernelName: `default guest ${basename(guest.kernel)}`,
    kernelPath: guest.kernel,
    initrd: config.initrd ? await readInput('--initrd', config.initrd) : await readInput('--initrd', guest.initrd),
    initrdName: config.initrd ? basename(config.initrd) : 'default guest initramfs',
    initrdPath: config.initrd ?? guest.initrd,
    cmdline: config.cmdline ?? guest.cmdline,
  };
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

/** Opens every --disk (virtio-blk backends for the PCI part); a disk that cannot be opened is a usage error. */
async function openDisks(config: VmConfig, io: CliIo): Promise<Disk[]> {
  const disks: Disk[] = [];
  try {
    for (const d of config.disks) disks.push(await openDisk(d, { warn: (m) => io.stderr(`tsvmm: ${m}\n`) }));
    return disks;
  } catch (e) {
    await Promise.all(disks.map((d) => d.close().catch(() => {})));
    if (e instanceof DiskOpenError) throw new UsageError(`--disk: ${e.message}`);
    throw e;
  }
}

/** Opens the network backends (user NAT, TAP); one line (exit 2) when one cannot start. */
async function openNets(config: VmConfig): Promise<NetBackend[]> {
  const nets: NetBackend[] = [];
  try {
    for (const n of config.nets) nets.push(await openNetBackend(n));
    return nets;
  } catch (e) {
    await Promise.all(nets.map((b) => b.close().catch(() => {})));
    throw new UsageError(`--net: ${(e as Error).message}`);
  }
}

/** A VM built from its config, and the backends to release once it has stopped. */
export interface PreparedVm {
  readonly vm: Vm;
  /** Closes the disks and network backends (after the VM has stopped). */
  release(): Promise<void>;
}

/**
 * Builds the VM a config describes: picks the backend, reads the boot files
 * (the default guest unless a kernel is given), opens disks and networks.
 * Throws UsageError for the user's mistakes and GuestBuildError when the
 * default guest cannot be built. `run`, `serve` (on PUT /v1/vm) and the
 * library all build VMs here.
 */
export async function prepareVm(config: VmConfig, options: Pick<StartOptions, 'io' | 'restore'> = {}): Promise<PreparedVm> {
  const io = options.io ?? processIo;
  pickBackend(config, io);
  // A restored guest's kernel is in its RAM already.
  const files = options.restore ? null : await bootFiles(config, io);
  const disks = await openDisks(config, io);
  let nets: NetBackend[];
  try {
    nets = await openNets(config);
  } catch (e) {
    await Promise.all(disks.map((d) => d.close().catch(() => {})));
    throw e;
  }
  const machineOptions = { logUnclaimed: process.env['TSVMM_DEBUG'] === '1', parts: [pciPart({ disks, nets })] };
  let vm: Vm;
  try {
    vm = options.restore ? await restoreVm(options.restore, machineOptions) : new Vm(config, files!, machineOptions);
  } catch (e) {
    await Promise.all([...disks, ...nets].map((b) => b.close().catch(() => {})));
    throw e;
  }
  return {
    vm,
    release: async () => {
      await Promise.all(disks.map((d) => d.close().catch((e: Error) => io.stderr(`tsvmm: closing a disk: ${e.message}\n`))));
      await Promise.all(nets.map((n) => n.close().catch(() => {})));
    },
  };
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
    if (options.start) vm.start();
    else await startedOrStopped(vm);
    const exit = await vm.wait();
    // Let the last batched console output reach the terminal before the message.
    await new Promise((r) => setImmediate(r));
    io.stderr(`\ntsvmm: ${exit.reason} (exit code ${exit.code})\n`);
    return exit.code;
  } catch (e) {
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
    prepared = await prepareVm(config, options);
  } catch (e) {
    if (e instanceof GuestBuildError) {
      io.stderr(`tsvmm: ${e.message}\n`);
      return ExitCode.VmmFailure;
    }
    throw e;
  }
  return runVm(prepared, config, { io, start: true, ...(options.apiSocket === undefined ? {} : { apiSocket: options.apiSocket }) });
}
