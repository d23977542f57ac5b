/**
 * Writing and opening snapshot directories:
 *
 *   DIR/snapshot.json   manifest (snapshot-format.ts): config, boot inputs'
 *                       identity, machine time, vCPU and device states
 *   DIR/memory.bin      guest RAM, non-zero pages only (snapshot-memory.ts)
 *
 * Machine state is captured in one synchronous step (devices, vCPUs, then
 * RAM) so nothing the event loop runs (a disk completion, a console byte)
 * can land in between. The memory file is written and synced before the
 * manifest, and each under a temporary name renamed into place: a
 * directory with a manifest holds a complete snapshot.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { VmConfig } from './config.js';
import type { MachineBoot, MachineImage, MachineState } from './machine.js';
import {
  type BootIdentity,
  type BootInput,
  MANIFEST_FILE,
  MEMORY_FILE,
  parseManifest,
  serializeManifest,
  SNAPSHOT_FORMAT_VERSION,
  SNAPSHOT_MAGIC,
  SnapshotError,
  type SnapshotManifest,
} from './snapshot-format.js';
import { tsvmmVersion } from './version.js';
import { checkMemoryFile, type MemoryFileInfo, readMemoryFile, writeMemoryFile } from './snapshot-memory.js';

/** What a snapshot wrote and what it cost. */
export interface SnapshotInfo {
  readonly dir: string;
  readonly manifestBytes: number;
  readonly memory: MemoryFileInfo;
  /** Saving device and vCPU state (ms). */
  readonly captureMs: number;
  /** The whole snapshot, from capture to the manifest renamed into place (ms). */
  readonly totalMs: number;
}

/** What the machine being snapshotted provides. */
export interface SnapshotSource {
  readonly config: VmConfig;
  readonly boot: BootIdentity;
  readonly boots: number;
  readonly memory: GuestMemory;
  /** Captures device, vCPU and clock state (throws SnapshotError when a device cannot save). */
  capture(): MachineState;
}

/** Writes `path` under a temporary name, then renames it into place; the temporary file goes on failure. */
function writeReplacing<T>(path: string, write: (tmp: string) => T): T {
  const tmp = `${path}.tmp`;
  try {
    const result = write(tmp);
    renameSync(tmp, path);
    return result;
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

function writeFileSynced(path: string, text: string): number {
  return writeReplacing(path, (tmp) => {
    const fd = openSync(tmp, 'w', 0o600);
    const bytes = Buffer.from(text);
    try {
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return bytes.length;
  });
}

/** Makes the renames in `dir` durable: after a host crash the manifest never names a memory file that is not there. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes a snapshot of a paused machine to `dir` (created if needed; an earlier snapshot there is replaced). */
export function writeSnapshot(dir: string, src: SnapshotSource): SnapshotInfo {
  const t0 = performance.now();
  // Capture first: a device that cannot save (a request in flight) then
  // leaves an earlier snapshot in `dir` intact. Capture, removing the old
  // manifest and writing RAM are still one synchronous step.
  const state = src.capture();
  const captureMs = performance.now() - t0;
  try {
    mkdirSync(dir, { recursive: true });
    // Without its manifest an old snapshot is no longer a snapshot: never a mixed pair.
    rmSync(join(dir, MANIFEST_FILE), { force: true });
  } catch (e) {
    throw new SnapshotError(`cannot write a snapshot to ${dir}: ${(e as Error).message}`);
  }
  const memPath = join(dir, MEMORY_FILE);
  let memory: MemoryFileInfo;
  try {
    memory = writeReplacing(memPath, (tmp) => writeMemoryFile(tmp, src.memory));
    syncDir(dir);
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError(`cannot write ${memPath}: ${(e as Error).message}`);
  }
  const manifest: SnapshotManifest = {
    magic: SNAPSHOT_MAGIC,
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    tsvmmVersion: tsvmmVersion(),
    backend: 'emu',
    createdAt: new Date().toISOString(),
    config: src.config,
    boot: { ...src.boot, protocol: state.bootKind },
    machine: { timeNs: state.timeNs, bootWallNs: state.bootWallNs, boots: src.boots },
    vcpus: state.vcpus,
    devices: state.devices,
    memory: { file: MEMORY_FILE, bytes: memory.bytes, pages: memory.pages, fileBytes: memory.fileBytes, checksum: memory.checksum },
  };
  let manifestBytes: number;
  try {
    manifestBytes = writeFileSynced(join(dir, MANIFEST_FILE), serializeManifest(manifest));
    syncDir(dir);
  } catch (e) {
    throw new SnapshotError(`cannot write the manifest in ${dir}: ${(e as Error).message}`);
  }
  return { dir, manifestBytes, memory, captureMs, totalMs: performance.now() - t0 };
}

/** A snapshot directory whose manifest was read and checked; RAM is read when the machine is built. */
export interface OpenSnapshot {
  readonly dir: string;
  readonly manifest: SnapshotManifest;
  /** The image Machine builds from (memory is loaded and checked then). */
  image(): MachineImage;
}

/** Far more than any manifest (device and vCPU states are a few kB each): a bigger file is not one. */
const MANIFEST_MAX = 64 << 20;

/**
 * The manifest's text. Opened non-blocking and checked to be a regular file
 * of sane size first: a FIFO would block the open, and /dev/zero (or a huge
 * file) would be read until memory runs out.
 */
function readManifestText(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SnapshotError(`no snapshot there (no ${MANIFEST_FILE})`);
    throw new SnapshotError(`cannot read ${MANIFEST_FILE}: ${(e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SnapshotError(`${MANIFEST_FILE} is not a regular file`);
    if (st.size > MANIFEST_MAX) throw new SnapshotError(`the manifest is corrupt (${st.size} bytes: no manifest is that large)`);
    const bytes = Buffer.alloc(st.size);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(fd, bytes, done, bytes.length - done, done);
      if (n <= 0) break;
      done += n;
    }
    return bytes.toString('utf8', 0, done);
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError(`cannot read ${MANIFEST_FILE}: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads and checks DIR/snapshot.json (its vCPU states included) and the
 * memory file's size, trailer and index; only the page data's CRC is left
 * for the build. Throws SnapshotError (one line) for a missing, corrupt,
 * newer or other-backend snapshot or a config that no longer validates.
 */
export function openSnapshot(dir: string): OpenSnapshot {
  const abs = resolve(dir);
  const manifest = parseManifest(readManifestText(join(abs, MANIFEST_FILE)));
  const memPath = join(abs, manifest.memory.file);
  checkMemoryFile(memPath, manifest.memory.file, manifest.memory);
  return {
    dir: abs,
    manifest,
    image: () => ({
      timeNs: manifest.machine.timeNs,
      bootWallNs: manifest.machine.bootWallNs,
      bootKind: manifest.boot.protocol,
      vcpus: manifest.vcpus,
      devices: manifest.devices,
      loadMemory: (memory) => readMemoryFile(memPath, manifest.memory.file, memory, manifest.memory),
    }),
  };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function inputOf(name: string, path: string | undefined, bytes: Uint8Array): BootInput {
  return { name, path: path === undefined ? null : resolve(path), bytes: bytes.length, sha256: sha256(bytes) };
}

/** The identity of what a machine boots (hashes of the kernel and initrd, their paths). */
export function bootIdentity(boot: MachineBoot, protocol: string): BootIdentity {
  return {
    kernel: inputOf(boot.kernelName, boot.kernelPath, boot.kernel),
    initrd: boot.initrd ? inputOf(boot.initrdName ?? 'initrd', boot.initrdPath, boot.initrd) : null,
    cmdline: boot.cmdline,
    protocol,
  };
}

async function loadInput(what: string, input: BootInput): Promise<Uint8Array> {
  if (input.path === null) throw new Error(`the ${what} (${input.name}) was not read from a file; a restored VM cannot boot it again`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(input.path));
  } catch (e) {
    throw new Error(`cannot read the ${what} ${input.path} to boot again: ${(e as Error).message}`);
  }
  if (sha256(bytes) !== input.sha256) throw new Error(`the ${what} ${input.path} changed since the snapshot (SHA-256 differs); refusing to boot it`);
  return bytes;
}

/**
 * Loads the kernel and initrd a snapshotted guest booted from, checking
 * their hashes: a restored VM needs them only when the guest reboots.
 */
export async function loadBootInputs(id: BootIdentity): Promise<MachineBoot> {
  const kernel = await loadInput('kernel', id.kernel);
  const initrd = id.initrd ? await loadInput('initrd', id.initrd) : undefined;
  return {
    kernel,
    kernelName: id.kernel.name,
    ...(id.kernel.path !== null ? { kernelPath: id.kernel.path } : {}),
    initrd,
    initrdName: id.initrd?.name,
    ...(id.initrd?.path ? { initrdPath: id.initrd.path } : {}),
    cmdline: id.cmdline,
  };
}
