import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { GuestMemory } from '../memory/guest-memory.js';
import { crc32 } from './snapshot-crc32.js';
import { SnapshotError } from './snapshot-format.js';
import { readMemoryFile, writeMemoryFile } from './snapshot-memory.js';

const MiB = 1 << 20;

function scratch(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-snapmem-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Guest RAM with data in a few places: a run across the 1 MiB scan chunk, a lone page, the last page. */
function sample(backing: 'memfd' | 'shared', size = 8 * MiB): GuestMemory {
  const m = GuestMemory.create(size, { backing });
  m.fill(MiB - 2 * 4096, 4 * 4096, 0x5a);
  m.writeU32(3 * MiB + 0x123, 0xdeadbeef);
  m.writeU8(size - 1, 7);
  return m;
}

for (const backing of ['memfd', 'shared'] as const) {
  test(`guest RAM (${backing}) survives write -> read with only its non-zero pages stored`, (t) => {
    const dir = scratch(t);
    const a = sample(backing);
    const info = writeMemoryFile(join(dir, 'memory.bin'), a);
    assert.equal(info.pages, 6);
    // The run across the chunk edge is one run.
    assert.equal(info.runs, 3);
    assert.equal(info.fileBytes, 6 * 4096 + 3 * 8 + 32);
    assert.equal(readFileSync(join(dir, 'memory.bin')).length, info.fileBytes);
    const b = GuestMemory.create(8 * MiB, { backing });
    const loaded = readMemoryFile(join(dir, 'memory.bin'), 'memory.bin', b, info);
    assert.equal(loaded.pages, 6);
    assert.ok(Buffer.from(b.view(0, 8 * MiB)).equals(Buffer.from(a.view(0, 8 * MiB))));
    a.close();
    b.close();
  });
}

test('RAM above the 3 GiB hole is addressed by its backing offset', (t) => {
  // 3 GiB + 8 MiB of memfd RAM: only touched pages become resident.
  const size = 3 * 1024 * MiB + 8 * MiB;
  const a = GuestMemory.create(size, { backing: 'memfd' });
  a.writeU32(4 * 1024 * MiB + 0x1000, 0x11223344);
  const dir = scratch(t);
  const info = writeMemoryFile(join(dir, 'm'), a);
  assert.equal(info.pages, 1);
  const b = GuestMemory.create(size, { backing: 'memfd' });
  readMemoryFile(join(dir, 'm'), 'm', b, info);
  assert.equal(b.readU32(4 * 1024 * MiB + 0x1000), 0x11223344);
  a.close();
  b.close();
});

test('a damaged, truncated, missing or mismatched memory file is refused', (t) => {
  const dir = scratch(t);
  const path = join(dir, 'memory.bin');
  const a = sample('shared');
  const info = writeMemoryFile(path, a);
  const good = readFileSync(path);
  const fresh = () => GuestMemory.create(8 * MiB, { backing: 'shared' });
  const refuse = (re: RegExp, expect = info, size = 8 * MiB) => {
    assert.throws(() => readMemoryFile(path, 'memory.bin', GuestMemory.create(size, { backing: 'shared' }), expect), (e: Error) => e instanceof SnapshotError && re.test(e.message));
  };
  const flipped = Buffer.from(good);
  flipped[4096 + 17]! ^= 1;
  writeFileSync(path, flipped);
  refuse(/memory\.bin is corrupt \(CRC mismatch/);
  const badIndex = Buffer.from(good);
  badIndex.writeUInt32LE(0xffffff, 6 * 4096); // the first run starts beyond RAM
  writeFileSync(path, badIndex);
  refuse(/run 0 is out of order or outside RAM/);
  writeFileSync(path, good);
  truncateSync(path, good.length - 1);
  refuse(/\(\d+ bytes, the manifest says \d+: truncated or replaced\)/);
  writeFileSync(path, good);
  refuse(/holds 8388608 bytes of RAM, the manifest says 16777216/, { ...info, bytes: 16 * MiB }, 16 * MiB);
  refuse(/holds 8388608 bytes of RAM, the machine has 16777216/, info, 16 * MiB);
  rmSync(path);
  refuse(/the memory file memory\.bin is missing/);
  assert.ok(fresh());
  a.close();
});

test('crc32 matches the IEEE reference value', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(Buffer.from('6789'), crc32(Buffer.from('12345'))), 0xcbf43926);
});
