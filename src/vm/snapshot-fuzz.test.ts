/**
 * Property tests of the restore side against damaged snapshots: a real
 * snapshot's manifest and memory file, bit-flipped, cut short, or with
 * random JSON values put in its fields (and re-checksummed, as a person
 * editing it would), must either restore or be refused with a one-line
 * SnapshotError; never a TypeError, a RangeError, an out-of-bounds write or
 * a hang. And a valid snapshot round-trips byte for byte.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import fc from 'fast-check';
import { RestoreError } from '../bus/device.js';
import { silentSink } from '../bus/log.js';
import { restoreCpuState } from '../hv/emu/cpu-state.js';
import { sampleVmlinux } from '../loader/test-images.js';
import { GuestMemory } from '../memory/guest-memory.js';
import { parseVmConfig } from './config.js';
import { Machine, type MachineBoot, type MachineOptions } from './machine.js';
import { pciPart } from './pci-part.js';
import { crc32 } from './snapshot-crc32.js';
import { parseManifest, serializeManifest, SnapshotError, type SnapshotManifest } from './snapshot-format.js';
import { checkMemoryFile, type ExpectedMemory, readMemoryFile, writeMemoryFile } from './snapshot-memory.js';
import { bootIdentity, openSnapshot, writeSnapshot } from './snapshot.js';
import { Vm } from './vm.js';

const MiB = 1 << 20;
const config = parseVmConfig({ accel: 'emu', memory: 32 * MiB, cpus: 2 });
const boot: MachineBoot = { kernel: sampleVmlinux(), kernelName: 'sample', cmdline: 'console=ttyS0' };
const options: MachineOptions = { log: silentSink, parts: [pciPart({})] };

const root = mkdtempSync(join(tmpdir(), 'tsvmm-snapfuzz-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
function freshDir(): string {
  const dir = join(root, String(dirs++));
  mkdirSync(dir);
  return dir;
}

function snapshotOf(m: Machine, dir: string): void {
  writeSnapshot(dir, { config, boot: bootIdentity(boot, m.bootKind), boots: 1, memory: m.memory, capture: () => m.captureState() });
}

/** One real snapshot of a machine with marks in RAM and a vCPU, written once. */
const base = (() => {
  const dir = freshDir();
  const m = new Machine(config, boot, options);
  m.memory.writeU32(0x700000, 0x600dcafe);
  m.memory.fill(MiB - 4096, 3 * 4096, 0x5a);
  m.platform.vcpus[0]!.cpu.R[3] = 0x1234;
  snapshotOf(m, dir);
  m.memory.close();
  const text = readFileSync(join(dir, 'snapshot.json'), 'utf8');
  return { dir, text, manifest: JSON.parse(text) as Record<string, unknown>, memory: readFileSync(join(dir, 'memory.bin')) };
})();

/** Runs `f`: it returns, or throws a one-line SnapshotError (anything else fails the test). */
function settles<T>(f: () => T): T | SnapshotError {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof SnapshotError)) throw e;
    assert.ok(!/[\n\r\u2028\u2029]/.test(e.message) && e.message.length < 500, `not one short line: ${JSON.stringify(e.message)}`);
    return e;
  }
}

/** The manifest as written for `o` (re-checksummed). */
function resigned(o: Record<string, unknown>): string {
  const { checksum: _c, ...body } = o;
  return serializeManifest(body as unknown as SnapshotManifest);
}

/** Every key path in a JSON value (arrays by index). */
function pathsOf(v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  if (typeof v !== 'object' || v === null) return [];
  return Object.entries(v).flatMap(([k, child]) => {
    const p = [...at, Array.isArray(v) ? Number(k) : k];
    return [p, ...pathsOf(child, p)];
  });
}
const manifestPaths = pathsOf(base.manifest).filter((p) => p[0] !== 'checksum');

// Values a damaged or hand-edited manifest could hold where a field was.
const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom<unknown>(-1, 0.5, -0, 2 ** 32, 2 ** 53, 2 ** 64, 1e308, -1e308, '', 'x\ny', '0x', '0x1ffffffffffffffff', 'x'.repeat(100_000), [], {}, null, true),
);

/** Applies one edit to a copy of `o` at `path`: a new value, the key removed, or a key added beside it. */
function edit(o: Record<string, unknown>, path: ReadonlyArray<string | number>, how: 'set' | 'delete' | 'add', value: unknown): Record<string, unknown> {
  const copy = structuredClone(o);
  let node = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (how === 'set') node[last] = value;
  else if (how === 'delete') delete node[last];
  else node[`${String(last)}\n\u0000extra`] = value;
  return copy;
}

/** What an accepted manifest must satisfy. */
function checkAccepted(m: SnapshotManifest): void {
  assert.equal(m.vcpus.length, m.config.cpus);
  assert.equal(m.memory.bytes, m.config.memory);
  assert.ok(m.memory.pages * 4096 <= m.memory.bytes);
  // Accepted vCPU states load into a vCPU: nothing is left for the build to refuse.
  probe ??= new Machine(config, boot, { log: silentSink });
  m.vcpus.forEach((s, i) => restoreCpuState(probe!.platform.vcpus[i]!, s));
}
// Whose vCPUs checkAccepted loads states into (a restore replaces all their state).
let probe: Machine | null = null;
test.after(() => probe?.memory.close());

test('a valid manifest parses, and serialises back to the same text', () => {
  const m = parseManifest(base.text);
  assert.equal(serializeManifest(m), base.text);
});

test('a manifest with bit flips or cut short is refused with one line, never a crash', () => {
  const bytes = Buffer.from(base.text);
  const damaged = fc.oneof(
    fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 }).map((flips) => {
      const b = Buffer.from(bytes);
      for (const [at, bit] of flips) b[at]! ^= 1 << bit;
      return b.toString('utf8');
    }),
    fc.nat(bytes.length - 1).map((n) => base.text.slice(0, n)),
  );
  fc.assert(
    fc.property(damaged, (text) => {
      const r = settles(() => parseManifest(text));
      // A flip inside whitespace changes nothing the checksum covers; anything else is refused.
      if (!(r instanceof SnapshotError)) assert.deepEqual(JSON.parse(text), base.manifest);
    }),
    { numRuns: 300 },
  );
});

test('a manifest with odd values in its fields (re-checksummed) is refused with one line, or is sound', () => {
  fc.assert(
    fc.property(fc.constantFrom(...manifestPaths), fc.constantFrom('set', 'delete', 'add' as const), oddValue, (path, how, value) => {
      const r = settles(() => parseManifest(resigned(edit(base.manifest, path, how, value))));
      if (!(r instanceof SnapshotError)) checkAccepted(r);
    }),
    { numRuns: 400 },
  );
});

test('numbers JSON cannot round-trip, deep nesting, and non-file manifests are refused', () => {
  // JSON.parse takes any depth; the checksum's JSON.stringify would overflow the stack.
  const deep = base.text.replace('"createdAt"', `"x": ${'['.repeat(100_000)}${']'.repeat(100_000)}, "createdAt"`);
  assert.match(String(settles(() => parseManifest(deep))), /nested too deeply/);
  // 1e400 parses as Infinity, which the checksum (over re-serialised JSON) sees as null.
  const asNull = edit(base.manifest, ['machine', 'bootWallNs'], 'set', null);
  const text = resigned(asNull).replace('"bootWallNs": null', '"bootWallNs": 1e400');
  assert.match(String(settles(() => parseManifest(text))), /machine: timeNs, bootWallNs, boots/);
  const dir = freshDir();
  mkdirSync(join(dir, 'snapshot.json'));
  assert.match(String(settles(() => openSnapshot(dir))), /snapshot\.json is not a regular file/);
  // The memory file may not be named "." or "..", which are directories.
  const dots = resigned(edit(base.manifest, ['memory', 'file'], 'set', '..'));
  assert.match(String(settles(() => parseManifest(dots))), /memory: file/);
});

// ---- the memory file ------------------------------------------------------

const baseExpect = (base.manifest['memory'] as unknown) as ExpectedMemory;

function crcText(b: Uint8Array): string {
  return `crc32:${crc32(b).toString(16).padStart(8, '0')}`;
}

test('a damaged memory file is refused with one line before or while loading, never written outside RAM', () => {
  const good = base.memory;
  const tail = 32 + 8 * 4; // the trailer and (a few) index entries: where damage matters most
  const damage = fc.record({
    flips: fc.array(fc.tuple(fc.oneof(fc.nat(good.length - 1), fc.integer({ min: good.length - tail, max: good.length - 1 })), fc.integer({ min: 0, max: 7 })), { maxLength: 3 }),
    word: fc.option(fc.tuple(fc.integer({ min: 0, max: tail / 4 - 1 }), fc.oneof(fc.nat(), fc.constantFrom(0, 1, 0xffffffff, 4096, 4095))), { nil: undefined }),
    cut: fc.option(fc.nat(good.length), { nil: undefined }),
    // Re-signed: the manifest's size, page count and CRC made to match the damaged file, so only its structure is checked.
    resign: fc.boolean(),
  });
  fc.assert(
    fc.property(damage, ({ flips, word, cut, resign }) => {
      let b = Buffer.from(good);
      for (const [at, bit] of flips) b[at]! ^= 1 << bit;
      if (word) b.writeUInt32LE(word[1] >>> 0, good.length - tail + word[0] * 4);
      if (cut !== undefined) b = b.subarray(0, cut);
      const dir = freshDir();
      const path = join(dir, 'memory.bin');
      writeFileSync(path, b);
      const pages = b.length >= 32 ? b.readUInt32LE(b.length - 12) : 0;
      const expect: ExpectedMemory = resign ? { ...baseExpect, fileBytes: b.length, pages, checksum: crcText(b) } : baseExpect;
      const checked = settles(() => checkMemoryFile(path, 'memory.bin', expect));
      const ram = GuestMemory.create(32 * MiB, { backing: 'shared' });
      try {
        const loaded = settles(() => readMemoryFile(path, 'memory.bin', ram, expect));
        // The cheap check before building agrees with the full load, but for the page data's CRC.
        if (checked instanceof SnapshotError) assert.ok(loaded instanceof SnapshotError);
        else if (resign) assert.ok(!(loaded instanceof SnapshotError), String(loaded));
        if (!resign && !(loaded instanceof SnapshotError)) assert.ok(b.equals(good));
      } finally {
        ram.close();
        rmSync(dir, { recursive: true });
      }
    }),
    { numRuns: 300 },
  );
});

test('guest RAM round-trips: write, read back, write again gives the same bytes', () => {
  const pageWrite = fc.tuple(fc.nat(8 * 256 - 1), fc.nat(4095), fc.integer({ min: 1, max: 255 }));
  fc.assert(
    fc.property(fc.constantFrom('memfd' as const, 'shared' as const), fc.array(pageWrite, { maxLength: 40 }), (backing, writes) => {
      const a = GuestMemory.create(8 * MiB, { backing });
      const b = GuestMemory.create(8 * MiB, { backing });
      const dir = freshDir();
      try {
        for (const [page, off, v] of writes) a.writeU8(page * 4096 + off, v);
        const info = writeMemoryFile(join(dir, 'a'), a);
        assert.equal(info.pages, new Set(writes.map(([p]) => p)).size);
        readMemoryFile(join(dir, 'a'), 'a', b, info);
        assert.ok(Buffer.from(b.view(0, 8 * MiB)).equals(Buffer.from(a.view(0, 8 * MiB))));
        const again = writeMemoryFile(join(dir, 'b'), b);
        assert.equal(again.checksum, info.checksum);
        assert.ok(readFileSync(join(dir, 'b')).equals(readFileSync(join(dir, 'a'))));
      } finally {
        a.close();
        b.close();
        rmSync(dir, { recursive: true });
      }
    }),
    { numRuns: 12 },
  );
});

// ---- whole machines -------------------------------------------------------

test('a restored machine snapshots to the same memory file and vCPU states', () => {
  const snap = openSnapshot(base.dir);
  const b = new Machine(snap.manifest.config, { restore: snap.image() }, options);
  const dir = freshDir();
  try {
    snapshotOf(b, dir);
  } finally {
    b.memory.close();
  }
  assert.ok(readFileSync(join(dir, 'memory.bin')).equals(base.memory));
  const again = openSnapshot(dir).manifest;
  assert.deepEqual(again.vcpus, snap.manifest.vcpus);
  assert.deepEqual(again.memory, snap.manifest.memory);
  assert.deepEqual(again.boot, snap.manifest.boot);
  assert.equal(again.machine.bootWallNs, snap.manifest.machine.bootWallNs);
});

/** `o` written as a snapshot directory beside the base snapshot's memory file. */
function snapshotDir(o: Record<string, unknown>): string {
  const dir = freshDir();
  writeFileSync(join(dir, 'snapshot.json'), resigned(o));
  writeFileSync(join(dir, 'memory.bin'), base.memory);
  return dir;
}

test('odd values in vCPU states are refused when the snapshot is opened, or the machine builds and runs without throwing', () => {
  const vcpuPaths = manifestPaths.filter((p) => p[0] === 'vcpus');
  fc.assert(
    fc.property(fc.constantFrom(...vcpuPaths), fc.constantFrom('set', 'delete' as const), oddValue, (path, how, value) => {
      const dir = snapshotDir(edit(base.manifest, path, how, value));
      const snap = settles(() => openSnapshot(dir));
      if (snap instanceof SnapshotError) return;
      // Opened means checked: building and running it must not throw at all.
      const m = new Machine(snap.manifest.config, { restore: snap.image() }, options);
      try {
        for (let round = 0; round < 3; round++) {
          for (const v of m.platform.vcpus) v.run();
          m.timers.runDue();
        }
      } finally {
        m.memory.close();
        rmSync(dir, { recursive: true });
      }
    }),
    { numRuns: 40 },
  );
});

test('odd values in device states: Vm.restore builds the VM or refuses with one line', async () => {
  const devicePaths = manifestPaths.filter((p) => p[0] === 'devices');
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...devicePaths), fc.constantFrom('set', 'delete' as const), oddValue, async (path, how, value) => {
      const dir = snapshotDir(edit(base.manifest, path, how, value));
      try {
        const vm = await Vm.restore(dir, options);
        await vm.stop();
      } catch (e) {
        settles(() => {
          throw e;
        });
      } finally {
        rmSync(dir, { recursive: true });
      }
    }),
    { numRuns: 60 },
  );
});

// A device's restore should refuse a malformed state with a RestoreError
// naming it; Vm.restore wraps anything else, so the operator still gets one
// line, but not one that says what is wrong.
test('a malformed device state is refused with a RestoreError naming the device', () => {
  const o = edit(base.manifest, ['devices', 'pit', 'channels', 1], 'set', null);
  const snap = openSnapshot(snapshotDir(o));
  assert.throws(() => new Machine(snap.manifest.config, { restore: snap.image() }, options), RestoreError);
});
