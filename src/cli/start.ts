/**
 * `tsvmm run`: picks the CPU backend, finds the kernel (the default guest
 * unless --kernel is given), builds the machine, connects the console and
 * runs until the guest stops. Returns the process exit code of DESIGN.md.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { DEFAULT_CMDLINE, ensureDefaultGuest, GuestBuildError } from '../guest/index.js';
import { LoaderError } from '../loader/index.js';
import type { VmConfig } from '../vm/config.js';
import { Vm } from '../vm/vm.js';
import { openNetBackend } from '../net/open.js';
import type { NetBackend } from '../net/backend.js';
import { pciPart } from '../vm/pci-part.js';
import { openDisk } from '../storage/open.js';
import { DiskOpenError } from '../storage/open-error.js';
import type { Disk } from '../storage/disk.js';
import { attachFile, attachSocket, attachStdio, type ConsoleConnection } from './console.js';
import { ExitCode, NotImplementedError, UsageError } from './errors.js';
import { processIo, type CliIo } from './io.js';

/** What `tsvmm run` hands the VM besides its configuration. */
export interface StartOptions {
  /** Serve the HTTP management API on this unix socket while the VM runs. */
  apiSocket?: string;
  /** Where messages for the operator go. */
  io?: CliIo;
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
      initrd: config.initrd ? await readInput('--initrd', config.initrd) : undefined,
      initrdName: config.initrd ? basename(config.initrd) : undefined,
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
    initrd: config.initrd ? await readInput('--initrd', config.initrd) : await readInput('--initrd', guest.initrd),
    initrdName: config.initrd ? basename(config.initrd) : 'default guest initramfs',
    cmdline: config.cmdline ?? guest.cmdline,
  };
}

/** Opens the console backend `--serial` names. */
async function openConsole(config: VmConfig, onEscape: () => void): Promise<ConsoleConnection> {
  switch (config.serial.mode) {
    case 'file':
      return attachFile(config.serial.path);
    case 'socket':
      return attachSocket(config.serial.path);
    default:
      return attachStdio(onEscape);
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

/**
 * Boots the VM and resolves with the process exit code (DESIGN.md "Exit
 * codes"). Reboots happen inside the Vm (a fresh machine on the same
 * console) unless --no-reboot.
 */
export async function startVm(config: VmConfig, options: StartOptions = {}): Promise<number> {
  const io = options.io ?? processIo;
  if (options.apiSocket) throw new NotImplementedError('--api-socket: the HTTP API is not implemented yet');
  pickBackend(config, io);
  let files;
  try {
    files = await bootFiles(config, io);
  } catch (e) {
    if (e instanceof GuestBuildError) {
      io.stderr(`tsvmm: ${e.message}\n`);
      return ExitCode.VmmFailure;
    }
    throw e;
  }
  const disks = await openDisks(config, io);
  let nets: NetBackend[];
  try {
    nets = await openNets(config);
  } catch (e) {
    await Promise.all(disks.map((d) => d.close().catch(() => {})));
    throw e;
  }
  const vm = new Vm(config, files, { logUnclaimed: process.env['TSVMM_DEBUG'] === '1', parts: [pciPart({ disks, nets })] });
  const console = await openConsole(config, () => void vm.stop(ExitCode.PowerOff, 'console closed with Ctrl-]'));
  console.connect(vm.serial);
  const offEvents = vm.on((e) => {
    if (e.type === 'reboot') io.stderr(`tsvmm: the guest rebooted (boot ${e.boot})\n`);
  });
  const onSignal = (sig: NodeJS.Signals) => void vm.stop(ExitCode.VmmFailure, `stopped by ${sig}`);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    vm.start();
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
    console.close();
    await Promise.all(disks.map((d) => d.close().catch((e: Error) => io.stderr(`tsvmm: closing a disk: ${e.message}\n`))));
    await Promise.all(nets.map((n) => n.close().catch(() => {})));
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
