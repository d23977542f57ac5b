/**
 * Building a VM from its config: the one place `tsvmm run`, `tsvmm serve`
 * (PUT /v1/vm and PUT /v1/vm/restore) and the library turn a validated
 * VmConfig into a Vm. It picks the CPU backend, reads the boot files (the
 * default guest's unless a kernel is given), opens the disks and network
 * backends, and boots or restores. The user's mistakes are VmBuildErrors
 * with one-line messages; each interface maps them to its own contract.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { DEFAULT_CMDLINE, ensureDefaultGuest } from '../guest/index.js';
import { openNetBackend } from '../net/open.js';
import type { NetBackend } from '../net/backend.js';
import { openDisk } from '../storage/open.js';
import { DiskOpenError } from '../storage/open-error.js';
import type { Disk } from '../storage/disk.js';
import { VmBuildError } from './build-error.js';
import type { ConfigPath, VmConfig } from './config.js';
import type { MachineBoot, MachineOptions } from './machine.js';
import { pciPart } from './pci-part.js';
import type { OpenSnapshot } from './snapshot.js';
import { SnapshotError } from './snapshot-format.js';
import { Vm } from './vm.js';

export { VmBuildError } from './build-error.js';

/** How buildVm builds. */
export interface BuildVmOptions {
  /**
   * Notices for the operator, one line each without a prefix or newline:
   * which CPU backend was picked, default-guest build progress, disk
   * warnings. Not called when absent.
   */
  readonly log?: (line: string) => void;
  /** Continue this snapshot instead of booting (`config` is then the snapshot's). */
  readonly restore?: OpenSnapshot;
}

/** A VM built from its config, and the backends to release once it has stopped. */
export interface PreparedVm {
  readonly vm: Vm;
  /** Closes the disks and network backends (after the VM has stopped). */
  release(): Promise<void>;
}

/** Vm.restore, a snapshot that cannot be restored being the user's mistake (`--restore: DIR: why`). */
async function restoreVm(snapshot: OpenSnapshot, options: MachineOptions): Promise<Vm> {
  try {
    return await Vm.restore(snapshot, options);
  } catch (e) {
    if (e instanceof SnapshotError) throw new VmBuildError(`--restore: ${snapshot.dir}: ${e.message}`, undefined, { cause: e });
    throw e;
  }
}

/** Chooses the CPU backend for `accel`; says which through `log` when the choice was automatic. */
function pickBackend(config: VmConfig, log: (line: string) => void): 'emu' {
  const kvm = existsSync('/dev/kvm');
  if (config.accel === 'kvm') {
    throw new VmBuildError(
      kvm
        ? '--accel kvm: the KVM backend is not available in this build yet (use --accel emu)'
        : '--accel kvm: /dev/kvm is not available on this machine (use --accel emu)',
      ['accel'],
    );
  }
  if (config.accel === 'auto') log(`using the software CPU (${kvm ? 'the KVM backend is not built yet' : 'no /dev/kvm'})`);
  return 'emu';
}

async function readInput(flag: string, path: string, key?: ConfigPath): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new VmBuildError(`${flag}: ${path}: ${why}`, key, { cause: e });
  }
}

/** The kernel, initrd and command line to boot: the user's, or the default guest's. */
async function bootFiles(config: VmConfig, log: (line: string) => void): Promise<MachineBoot> {
  const userInitrd = async () => (config.initrd ? await readInput('--initrd', config.initrd, ['initrd']) : undefined);
  if (config.kernel) {
    return {
      kernel: await readInput('--kernel', config.kernel, ['kernel']),
      kernelName: basename(config.kernel),
      kernelPath: config.kernel,
      initrd: await userInitrd(),
      initrdName: config.initrd ? basename(config.initrd) : undefined,
      initrdPath: config.initrd,
      cmdline: config.cmdline ?? DEFAULT_CMDLINE,
    };
  }
  const guest = await ensureDefaultGuest({
    onProgress: (p) => {
      if (p.step !== 'check') log(`default guest: ${p.message}`);
    },
  });
  return {
    kernel: await readInput('--kernel', guest.kernel),
    kernelName: `default guest ${basename(guest.kernel)}`,
    kernelPath: guest.kernel,
    initrd: (await userInitrd()) ?? (await readInput('--initrd', guest.initrd)),
    initrdName: config.initrd ? basename(config.initrd) : 'default guest initramfs',
    initrdPath: config.initrd ?? guest.initrd,
    cmdline: config.cmdline ?? guest.cmdline,
  };
}

const closeAll = (backends: readonly { close(): Promise<void> }[]) => Promise.all(backends.map((b) => b.close().catch(() => {})));

/** Opens every disk (virtio-blk backends for the PCI part); one that cannot be opened is the user's mistake. */
async function openDisks(config: VmConfig, log: (line: string) => void): Promise<Disk[]> {
  const disks: Disk[] = [];
  try {
    for (const d of config.disks) disks.push(await openDisk(d, { warn: log }));
    return disks;
  } catch (e) {
    await closeAll(disks);
    if (e instanceof DiskOpenError) throw new VmBuildError(`--disk: ${e.message}`, ['disks', disks.length], { cause: e });
    throw e;
  }
}

/** Opens the network backends (user NAT, TAP); one that cannot start is the user's mistake. */
async function openNets(config: VmConfig): Promise<NetBackend[]> {
  const nets: NetBackend[] = [];
  try {
    for (const n of config.nets) nets.push(await openNetBackend(n));
    return nets;
  } catch (e) {
    await closeAll(nets);
    throw new VmBuildError(`--net: ${(e as Error).message}`, ['nets', nets.length], { cause: e });
  }
}

/**
 * Builds the VM a validated config describes, in state "created" (or, with
 * `restore`, the snapshot's VM, ready to continue): picks the backend,
 * reads the boot files (building the default guest on first use when no
 * kernel is given; a restored guest's kernel is in its RAM), opens disks
 * and network backends, and builds or restores the Vm. Throws VmBuildError
 * (one line, `path` naming the config key when there is one) for the
 * user's mistakes, GuestBuildError when the default guest cannot be built;
 * anything it opened is closed again when it throws. The caller runs the
 * VM and calls `release()` once it has stopped.
 */
export async function buildVm(config: VmConfig, options: BuildVmOptions = {}): Promise<PreparedVm> {
  const log = options.log ?? (() => {});
  pickBackend(config, log);
  const files = options.restore ? null : await bootFiles(config, log);
  const disks = await openDisks(config, log);
  let nets: NetBackend[];
  try {
    nets = await openNets(config);
  } catch (e) {
    await closeAll(disks);
    throw e;
  }
  const machineOptions = { logUnclaimed: process.env['TSVMM_DEBUG'] === '1', parts: [pciPart({ disks, nets })] };
  let vm: Vm;
  try {
    vm = options.restore ? await restoreVm(options.restore, machineOptions) : new Vm(config, files!, machineOptions);
  } catch (e) {
    await closeAll([...disks, ...nets]);
    throw e;
  }
  return {
    vm,
    release: async () => {
      await Promise.all(disks.map((d) => d.close().catch((e: Error) => log(`closing a disk: ${e.message}`))));
      await closeAll(nets);
    },
  };
}
