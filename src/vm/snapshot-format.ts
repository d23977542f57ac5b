/**
 * The snapshot manifest: a versioned JSON file (`snapshot.json`) naming
 * what the snapshot holds and how to check it. As Firecracker's snapshot
 * file it starts with a magic and a format version and ends with a
 * checksum; unlike it, the body is JSON with named keys (device and vCPU
 * states are the devices' own SavedStates). Guest memory is a separate
 * binary file (snapshot-memory.ts) whose SHA-256 the manifest records.
 *
 * DEVNOTE: the checksum is the SHA-256 of the manifest serialised without
 * its `checksum` key (JSON.stringify of the parsed object reproduces the
 * bytes written, since both come from JSON.stringify), so a reader checks
 * it after parsing, whatever whitespace a person added.
 */
import { createHash } from 'node:crypto';
import { RestoreError, type SavedState } from '../bus/device.js';
import { checkCpuState } from '../hv/emu/cpu-state.js';
import type { LoadKind } from '../loader/index.js';
import { PAGE_SIZE } from '../memory/layout.js';
import { ConfigError, parseVmConfig, type VmConfig } from './config.js';
import { tsvmmVersion } from './version.js';

/** The first key of every manifest. */
export const SNAPSHOT_MAGIC = 'tsvmm-snapshot';
/** The manifest format this build writes, and the newest it reads. */
export const SNAPSHOT_FORMAT_VERSION = 1;
/** File names inside a snapshot directory. */
export const MANIFEST_FILE = 'snapshot.json';
export const MEMORY_FILE = 'memory.bin';

/** A snapshot that cannot be written or restored; the message is one line for the operator. */
export class SnapshotError extends Error {
  override name = 'SnapshotError';
  constructor(message: string, options?: ErrorOptions) {
    // Messages quote what a snapshot holds (versions, ids, config keys, a
    // device's own error): whatever that is, the operator gets one line.
    super(message.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' '), options);
  }
}

/** A value from a manifest shown in a message: JSON, cut short (it may be a megabyte of anything). */
function shown(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = typeof v;
  }
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}

/** A kernel or initrd the snapshotted guest booted from (restore does not load it; a later reboot does). */
export interface BootInput {
  /** What the user called it (a file name, "default guest ..."). */
  readonly name: string;
  /** Absolute path it was read from, when known. */
  readonly path: string | null;
  readonly bytes: number;
  readonly sha256: string;
}

/** What the guest was booted from. */
export interface BootIdentity {
  readonly kernel: BootInput;
  readonly initrd: BootInput | null;
  readonly cmdline: string;
  /** Which boot protocol the loader used ("pvh", "bzimage"...). */
  readonly protocol: string;
}

/** Where guest RAM is and how to check it. */
export interface MemoryEntry {
  readonly file: string;
  /** Guest RAM size in bytes (the config's). */
  readonly bytes: number;
  /** Non-zero pages stored. */
  readonly pages: number;
  readonly fileBytes: number;
  /** "crc32:<8 hex digits>" of the whole file. */
  readonly checksum: string;
}

/** Everything in snapshot.json. */
export interface SnapshotManifest {
  readonly magic: string;
  readonly formatVersion: number;
  readonly tsvmmVersion: string;
  /** The CPU backend whose state this is ("emu"; "kvm" snapshots are not restorable here). */
  readonly backend: string;
  readonly createdAt: string;
  readonly config: VmConfig;
  readonly boot: BootIdentity;
  readonly machine: {
    /** Machine time (ns) at the snapshot: the restored clock continues from here. */
    readonly timeNs: number;
    /** Wall-clock ns since the epoch at machine time 0 (the KVM wall clock). */
    readonly bootWallNs: number;
    /** How many machines this VM had built (boots and reboots). */
    readonly boots: number;
  };
  /** One CpuSavedState per vCPU, in vCPU order. */
  readonly vcpus: readonly unknown[];
  /** Every device's SavedState, by stable device id. */
  readonly devices: Readonly<Record<string, SavedState>>;
  readonly memory: MemoryEntry;
  /** "sha256:<hex>" of the manifest without this key. */
  readonly checksum?: string;
}

function checksumOf(body: object): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(body)).digest('hex')}`;
}

/** The boot protocols a snapshot may name (a Record, so a new LoadKind must be added here to compile). */
const LOAD_KINDS: Readonly<Record<LoadKind, true>> = { bzimage: true, 'pvh-elf': true, 'pvh-from-bzimage': true };

/** The manifest as written: pretty JSON with its checksum last. */
export function serializeManifest(m: SnapshotManifest): string {
  const { checksum: _ignored, ...body } = m;
  return `${JSON.stringify({ ...body, checksum: checksumOf(body) }, null, 1)}\n`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
// Nanosecond times are doubles past 2^53 (machine time after 104 days, the
// wall clock always): whole and finite is all they can be checked for.
const nanos = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
// Device ids appear in messages and as keys: printable, short.
const deviceId = (k: string) => k.length > 0 && k.length <= 100 && !/[\u0000-\u001f\u007f]/.test(k);
// A plain file name in the snapshot directory; "." and ".." are directories.
const fileName = (v: unknown): v is string => typeof v === 'string' && /^[\w.-]{1,255}$/.test(v) && !/^\.+$/.test(v);
const hex64 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);

function bootInputOk(v: unknown): boolean {
  return isRecord(v) && typeof v['name'] === 'string' && (v['path'] === null || typeof v['path'] === 'string') && count(v['bytes']) && hex64(v['sha256']);
}

/**
 * Parses and checks snapshot.json text: magic, format version, backend,
 * checksum, shape, and the config against today's schema. Throws
 * SnapshotError with one line saying what is wrong.
 */
export function parseManifest(text: string): SnapshotManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SnapshotError(`the manifest is corrupt (not JSON: ${(e as Error).message})`);
  }
  if (!isRecord(raw) || raw['magic'] !== SNAPSHOT_MAGIC) throw new SnapshotError(`not a tsvmm snapshot (no "magic": "${SNAPSHOT_MAGIC}")`);
  const version = raw['formatVersion'];
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new SnapshotError('the manifest is corrupt (formatVersion is not a positive integer)');
  }
  if (version > SNAPSHOT_FORMAT_VERSION) {
    const by = typeof raw['tsvmmVersion'] === 'string' ? ` (written by tsvmm ${JSON.stringify(raw['tsvmmVersion'].slice(0, 40)).slice(1, -1)})` : '';
    throw new SnapshotError(
      `snapshot format version ${version}${by} is newer than this tsvmm ${tsvmmVersion()} reads (up to ${SNAPSHOT_FORMAT_VERSION}): restore it with a newer tsvmm`,
    );
  }
  const { checksum, ...body } = raw;
  if (typeof checksum !== 'string') throw new SnapshotError('the manifest is corrupt (no checksum)');
  let expected: string;
  try {
    expected = checksumOf(body);
  } catch {
    // JSON.parse takes any depth; JSON.stringify overflows the stack on a few thousand levels.
    throw new SnapshotError('the manifest is corrupt (nested too deeply to be a manifest)');
  }
  if (checksum !== expected) throw new SnapshotError('the manifest is corrupt (checksum mismatch: it was changed or damaged after it was written)');
  if (raw['backend'] !== 'emu') {
    throw new SnapshotError(
      `the snapshot was taken on the ${shown(raw['backend'])} backend; this tsvmm restores software-CPU ("emu") snapshots only (CPU and interrupt-controller state differ between backends)`,
    );
  }
  if (typeof raw['tsvmmVersion'] !== 'string' || typeof raw['createdAt'] !== 'string') {
    throw new SnapshotError('the manifest is corrupt (tsvmmVersion, createdAt)');
  }
  const machine = raw['machine'];
  if (!isRecord(machine) || !nanos(machine['timeNs']) || !nanos(machine['bootWallNs']) || !count(machine['boots'])) {
    throw new SnapshotError('the manifest is corrupt (machine: timeNs, bootWallNs, boots)');
  }
  const boot = raw['boot'];
  if (
    !isRecord(boot) || !bootInputOk(boot['kernel']) || (boot['initrd'] !== null && !bootInputOk(boot['initrd'])) || typeof boot['cmdline'] !== 'string' ||
    typeof boot['protocol'] !== 'string' || !Object.hasOwn(LOAD_KINDS, boot['protocol'])
  ) {
    throw new SnapshotError('the manifest is corrupt (boot: kernel, initrd, cmdline, protocol)');
  }
  if (!Array.isArray(raw['vcpus'])) throw new SnapshotError('the manifest is corrupt (vcpus is not a list)');
  const devices = raw['devices'];
  if (!isRecord(devices) || !Object.entries(devices).every(([id, d]) => deviceId(id) && isRecord(d) && typeof d['version'] === 'number')) {
    throw new SnapshotError('the manifest is corrupt (devices: each a saved state with a version, by a printable id)');
  }
  const mem = raw['memory'];
  if (!isRecord(mem) || !fileName(mem['file']) || !count(mem['bytes']) || !count(mem['pages']) || !count(mem['fileBytes']) || typeof mem['checksum'] !== 'string' || !/^crc32:[0-9a-f]{8}$/.test(mem['checksum'])) {
    throw new SnapshotError('the manifest is corrupt (memory: file, bytes, pages, fileBytes, checksum)');
  }
  if (mem['pages'] * PAGE_SIZE > mem['bytes']) throw new SnapshotError('the manifest is corrupt (memory: more pages than RAM holds)');
  let config: VmConfig;
  try {
    config = parseVmConfig(raw['config']);
  } catch (e) {
    if (e instanceof ConfigError) throw new SnapshotError(`the snapshot's VM config no longer validates: ${e.message}`);
    throw e;
  }
  if (raw['vcpus'].length !== config.cpus) {
    throw new SnapshotError(`the manifest is corrupt (${raw['vcpus'].length} vCPU states for a ${config.cpus}-vCPU config)`);
  }
  if (mem['bytes'] !== config.memory) throw new SnapshotError('the manifest is corrupt (memory size differs from the config)');
  // vCPU states are checked now, not when the machine is built: a bad one
  // is refused before any RAM is allocated or a device is created.
  raw['vcpus'].forEach((state, i) => {
    try {
      checkCpuState(state, `vcpu${i}`);
    } catch (e) {
      if (e instanceof RestoreError) throw new SnapshotError(`the manifest is corrupt (${e.message})`);
      throw e;
    }
  });
  return { ...(raw as unknown as SnapshotManifest), config };
}
