import assert from 'node:assert/strict';
import test from 'node:test';
import { IoBus } from '../bus/io-bus.js';
import { silentSink } from '../bus/log.js';
import { saveCpuState } from '../hv/emu/cpu-state.js';
import { EmuVcpu } from '../hv/emu/emu-vcpu.js';
import { GuestMemory } from '../memory/guest-memory.js';
import { parseVmConfig } from './config.js';
import {
  parseManifest,
  serializeManifest,
  SNAPSHOT_FORMAT_VERSION,
  SNAPSHOT_MAGIC,
  SnapshotError,
  type SnapshotManifest,
} from './snapshot-format.js';

const input = { name: 'vmlinuz', path: '/boot/vmlinuz', bytes: 10, sha256: 'ab'.repeat(32) };

/** The saved state of a fresh vCPU (manifests carry real ones: they are checked when parsed). */
function vcpuState(index: number): unknown {
  const memory = GuestMemory.create(1 << 20, { backing: 'shared' });
  const buses = { pio: new IoBus('pio', 0x10000, silentSink), mmio: new IoBus('mmio', 2 ** 52, silentSink) };
  const v = new EmuVcpu(index, { index, memory, buses, cpus: 2, log: silentSink, clock: { tscHz: 1e9, nowNs: () => 0, bootWallNs: 0 } });
  const state = JSON.parse(JSON.stringify(saveCpuState(v))) as unknown;
  memory.close();
  return state;
}
const vcpus = [vcpuState(0), vcpuState(1)];

function manifest(over: Partial<SnapshotManifest> = {}): SnapshotManifest {
  return {
    magic: SNAPSHOT_MAGIC,
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    tsvmmVersion: '0.1.0',
    backend: 'emu',
    createdAt: '2026-11-25T00:00:00.000Z',
    config: parseVmConfig({ memory: 64 * 1024 * 1024, cpus: 2 }),
    boot: { kernel: input, initrd: null, cmdline: 'console=ttyS0', protocol: 'pvh-elf' },
    machine: { timeNs: 12_345_678_901, bootWallNs: 1.7e18, boots: 1 },
    vcpus,
    devices: { com1: { version: 1, lcr: 3 } },
    memory: { file: 'memory.bin', bytes: 64 * 1024 * 1024, pages: 3, fileBytes: 12_344, checksum: 'crc32:0badf00d' },
    ...over,
  };
}

/** parseManifest's SnapshotError message for `text`. */
function refusal(text: string): string {
  try {
    parseManifest(text);
  } catch (e) {
    assert.ok(e instanceof SnapshotError, String(e));
    return e.message;
  }
  assert.fail('accepted');
}

/** Serialises `m`, then edits the JSON object (re-checksummed unless `keepChecksum`). */
function edited(m: SnapshotManifest, edit: (o: Record<string, unknown>) => void, keepChecksum = false): string {
  const o = JSON.parse(serializeManifest(m)) as Record<string, unknown>;
  edit(o);
  if (keepChecksum) return JSON.stringify(o);
  const { checksum: _c, ...body } = o;
  return serializeManifest(body as unknown as SnapshotManifest);
}

test('a manifest survives serialise -> parse with its checksum last', () => {
  const m = manifest();
  const text = serializeManifest(m);
  const back = parseManifest(text);
  assert.deepEqual({ ...back, checksum: undefined }, { ...m, checksum: undefined });
  assert.match(text.trimEnd().split('\n').at(-2)!, /"checksum": "sha256:[0-9a-f]{64}"/);
  // Whitespace a person adds does not matter; the values do.
  assert.doesNotThrow(() => parseManifest(JSON.stringify(JSON.parse(text), null, 4)));
});

test('a damaged manifest is refused with one line saying why', () => {
  const m = manifest();
  const text = serializeManifest(m);
  assert.match(refusal(text.slice(0, 200)), /^the manifest is corrupt \(not JSON/);
  assert.match(refusal(text.replace('"boots": 1', '"boots": 2')), /checksum mismatch/);
  assert.match(refusal(edited(m, (o) => delete o['checksum'], true)), /no checksum/);
  assert.match(refusal('{"hello": 1}'), /^not a tsvmm snapshot/);
  assert.match(refusal(edited(m, (o) => delete (o['memory'] as Record<string, unknown>)['checksum'])), /memory: file, bytes/);
  assert.match(refusal(edited(m, (o) => ((o['memory'] as Record<string, unknown>)['file'] = '../etc/passwd'))), /memory: file/);
  assert.match(refusal(edited(m, (o) => ((o['machine'] as Record<string, unknown>)['timeNs'] = -1))), /machine: timeNs/);
  assert.match(refusal(edited(m, (o) => (o['vcpus'] = [vcpus[0]]))), /1 vCPU states for a 2-vCPU config/);
  assert.match(refusal(edited(m, (o) => (o['devices'] = { com1: { lcr: 3 } }))), /devices: each a saved state with a version/);
  for (const line of [refusal(text.slice(0, 200)), refusal(text.replace('"boots": 1', '"boots": 2'))]) assert.ok(!line.includes('\n'));
});

test('a newer format is refused, naming both versions', () => {
  const line = refusal(edited(manifest(), (o) => {
    o['formatVersion'] = SNAPSHOT_FORMAT_VERSION + 1;
    o['tsvmmVersion'] = '9.0.0';
  }));
  assert.match(line, new RegExp(`format version ${SNAPSHOT_FORMAT_VERSION + 1} \\(written by tsvmm 9\\.0\\.0\\) is newer than .* reads \\(up to ${SNAPSHOT_FORMAT_VERSION}\\)`));
});

test('a snapshot of another backend is refused clearly', () => {
  assert.match(refusal(serializeManifest(manifest({ backend: 'kvm' }))), /taken on the "kvm" backend; this tsvmm restores software-CPU \("emu"\) snapshots only/);
});

test('a config that no longer validates is refused, naming the key', () => {
  const text = edited(manifest(), (o) => ((o['config'] as Record<string, unknown>)['cpus'] = 0));
  assert.match(refusal(text), /^the snapshot's VM config no longer validates: cpus: 0 is not accepted/);
  const unknown = edited(manifest(), (o) => ((o['config'] as Record<string, unknown>)['balloon'] = true));
  assert.match(refusal(unknown), /no longer validates: balloon: unknown key/);
});
