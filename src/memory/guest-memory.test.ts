import assert from 'node:assert/strict';
import test from 'node:test';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { GuestMemory, GuestMemoryError } from './guest-memory.js';
import { GiB, HIGH_RAM_BASE, LOW_RAM_TOP, MiB, PAGE_SIZE, ramLayout } from './layout.js';

test('layout: RAM up to 3 GiB sits at 0, the rest continues at 4 GiB', () => {
  assert.deepEqual(ramLayout(512 * MiB), [{ gpa: 0, size: 512 * MiB, offset: 0 }]);
  assert.deepEqual(ramLayout(4 * GiB), [
    { gpa: 0, size: 3 * GiB, offset: 0 },
    { gpa: 4 * GiB, size: 1 * GiB, offset: 3 * GiB },
  ]);
  assert.throws(() => ramLayout(0), RangeError);
  assert.throws(() => ramLayout(4097), RangeError);
});

for (const backing of ['memfd', 'shared'] as const) {
  test(`${backing}: reads and writes round-trip, little-endian`, () => {
    const mem = GuestMemory.create(16 * MiB, { backing });
    try {
      assert.equal(mem.backing.kind, backing);
      mem.writeU32(0x1000, 0xdeadbeef);
      assert.equal(mem.readU8(0x1000), 0xef);
      assert.equal(mem.readU16(0x1002), 0xdead);
      assert.equal(mem.readU32(0x1000), 0xdeadbeef);
      mem.writeU64(0x2000, 0x0123456789abcdefn);
      assert.equal(mem.readU64(0x2000), 0x0123456789abcdefn);
      mem.write(0x3000, new Uint8Array([1, 2, 3]));
      assert.deepEqual([...mem.read(0x3000, 4)], [1, 2, 3, 0]);
      // view() is zero-copy: writes through it are visible to reads.
      mem.view(0x4000, 2)[1] = 0x77;
      assert.equal(mem.readU8(0x4001), 0x77);
    } finally {
      mem.close();
    }
  });
}

test('out-of-range and region-straddling accesses are errors, never crashes', () => {
  const mem = GuestMemory.create(LOW_RAM_TOP + 2 * MiB, { backing: 'shared' });
  assert.equal(mem.regions.length, 2);
  // The last byte of low RAM and the first of high RAM are fine.
  mem.writeU8(LOW_RAM_TOP - 1, 1);
  mem.writeU8(HIGH_RAM_BASE, 2);
  assert.equal(mem.readU8(HIGH_RAM_BASE), 2);
  // High RAM lives right after low RAM in the backing store.
  assert.equal(mem.translate(HIGH_RAM_BASE, 1), LOW_RAM_TOP);
  assert.throws(() => mem.readU16(LOW_RAM_TOP - 1), GuestMemoryError);
  assert.throws(() => mem.readU8(LOW_RAM_TOP), /outside guest RAM/);
  assert.throws(() => mem.view(HIGH_RAM_BASE + 2 * MiB - 1, 2), /runs past the end/);
  assert.throws(() => mem.readU8(-1), GuestMemoryError);
  assert.throws(() => mem.readU8(2 ** 60), GuestMemoryError);
  assert.throws(() => mem.view(0, Number.NaN), GuestMemoryError);
  assert.throws(() => mem.view(0.5, 1), GuestMemoryError);
});

test('property: translate accepts exactly the accesses inside one region', () => {
  const mem = GuestMemory.create(LOW_RAM_TOP + 64 * MiB, { backing: 'shared' });
  const regions = mem.regions;
  const inside = (gpa: number, len: number) => regions.some((r) => gpa >= r.gpa && gpa + len <= r.gpa + r.size && gpa < r.gpa + r.size);
  const interesting = fc.oneof(
    fc.integer({ min: 0, max: 2 ** 40 }),
    fc.integer({ min: LOW_RAM_TOP - 64, max: LOW_RAM_TOP + 64 }),
    fc.integer({ min: HIGH_RAM_BASE - 64, max: HIGH_RAM_BASE + 64 }),
    fc.integer({ min: HIGH_RAM_BASE + 64 * MiB - 64, max: HIGH_RAM_BASE + 64 * MiB + 64 }),
    fc.integer({ min: -100, max: 100 }),
  );
  fc.assert(
    fc.property(interesting, fc.integer({ min: 0, max: 8192 }), (gpa, len) => {
      let ok: boolean;
      try {
        mem.view(gpa, len);
        ok = true;
      } catch (e) {
        assert.ok(e instanceof GuestMemoryError, String(e));
        ok = false;
      }
      // Zero-length accesses at a region's end are allowed; otherwise exactness.
      if (len > 0) assert.equal(ok, inside(gpa, len), `gpa=${gpa} len=${len}`);
    }),
    { numRuns: 2000 },
  );
});

test('property: write then read returns the bytes, and nothing else changes', () => {
  const mem = GuestMemory.create(1 * MiB, { backing: 'shared' });
  fc.assert(
    fc.property(fc.integer({ min: 0, max: MiB - 1 }), fc.uint8Array({ minLength: 1, maxLength: 64 }), (gpa, bytes) => {
      fc.pre(gpa + bytes.length <= MiB);
      mem.fill(0, MiB, 0);
      mem.write(gpa, bytes);
      assert.deepEqual(mem.read(gpa, bytes.length), bytes);
      if (gpa > 0) assert.equal(mem.readU8(gpa - 1), 0);
      if (gpa + bytes.length < MiB) assert.equal(mem.readU8(gpa + bytes.length), 0);
    }),
  );
});

test('RAM above 4 GiB (more than one koffi view can hold) works; it has no flat view', () => {
  const mem = GuestMemory.create(5 * GiB, { backing: 'memfd' });
  try {
    const top = HIGH_RAM_BASE + 2 * GiB - 8;
    mem.writeU64(top, 0x1122334455667788n);
    assert.equal(mem.readU64(top), 0x1122334455667788n);
    assert.throws(() => mem.flat(), /too large/);
  } finally {
    mem.close();
  }
});

test('views that cross a 1 GiB chunk edge still work', () => {
  const mem = GuestMemory.create(2 * GiB, { backing: 'memfd' });
  try {
    mem.write(GiB - 2, new Uint8Array([9, 8, 7, 6]));
    assert.deepEqual([...mem.view(GiB - 2, 4)], [9, 8, 7, 6]);
    assert.equal(mem.readU32(GiB - 2), 0x06070809);
    assert.equal(mem.flat().length, 2 * GiB);
    assert.equal(mem.flat()[GiB - 1], 8);
  } finally {
    mem.close();
  }
});

test('dirty log records written pages from write(), fill(), markDirty()', () => {
  const mem = GuestMemory.create(LOW_RAM_TOP + 4 * MiB, { backing: 'shared' });
  mem.writeU8(0, 1); // before logging starts: not recorded
  mem.startDirtyLog();
  mem.writeU32(0x5ffe, 1); // straddles pages 5 and 6
  mem.fill(HIGH_RAM_BASE + PAGE_SIZE, 2 * PAGE_SIZE, 3);
  mem.markDirty(0x9000, 1);
  let synced = 0;
  mem.addDirtySync((log) => {
    synced++;
    log.mark(0x20000, 1);
  });
  assert.deepEqual(mem.takeDirtyPages(), [0x5000, 0x6000, 0x9000, 0x20000, HIGH_RAM_BASE + PAGE_SIZE, HIGH_RAM_BASE + 2 * PAGE_SIZE]);
  assert.equal(synced, 1);
  // take() clears.
  mem.dirtyLog!.mark(0x1000, 1);
  assert.deepEqual(mem.takeDirtyPages(), [0x1000, 0x20000]);
  mem.stopDirtyLog();
  assert.throws(() => mem.takeDirtyPages(), /not running/);
});

test('discard returns pages to the host: they read as zero', () => {
  const mem = GuestMemory.create(4 * MiB, { backing: 'memfd' });
  try {
    mem.fill(0x10000, 3 * PAGE_SIZE, 0xaa);
    mem.discard(0x11000, PAGE_SIZE);
    assert.equal(mem.readU8(0x10fff), 0xaa);
    assert.equal(mem.readU8(0x11000), 0);
    assert.equal(mem.readU8(0x11fff), 0);
    assert.equal(mem.readU8(0x12000), 0xaa);
    assert.throws(() => mem.discard(0x11001, PAGE_SIZE), /not page-aligned/);
  } finally {
    mem.close();
  }
});

test('a closed memory refuses access instead of touching unmapped pages', () => {
  const mem = GuestMemory.create(1 * MiB, { backing: 'memfd' });
  mem.close();
  assert.throws(() => mem.readU8(0), /closed/);
});

for (const backing of ['memfd', 'shared'] as const) {
  test(`${backing}: a worker thread attaching by descriptor sees the same pages`, async () => {
    const mem = GuestMemory.create(2 * MiB, { backing });
    try {
      mem.writeU32(0x100, 0x12345678);
      const url = new URL('./guest-memory.js', import.meta.url).href;
      const code = `
        const { parentPort, workerData } = require('node:worker_threads');
        import(${JSON.stringify(url)}).then(({ GuestMemory }) => {
          const m = GuestMemory.attach(workerData);
          const seen = m.readU32(0x100);
          m.writeU32(0x200, 0xcafef00d);
          m.close();
          parentPort.postMessage(seen);
        });`;
      const seen = await new Promise((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: mem.describe() });
        w.once('message', resolve);
        w.once('error', reject);
      });
      assert.equal(seen, 0x12345678);
      assert.equal(mem.readU32(0x200), 0xcafef00d);
    } finally {
      mem.close();
    }
  });
}

test('write observers see device writes (write, fill, markDirty) but not reads', () => {
  const mem = GuestMemory.create(1 * MiB, { backing: 'shared' });
  const seen: string[] = [];
  const stop = mem.observeWrites((gpa, len) => seen.push(`${gpa.toString(16)}+${len}`));
  mem.write(0x1000, new Uint8Array(3));
  mem.fill(0x2000, 16);
  mem.writeU32(0x3000, 1);
  mem.view(0x4000, 8)[0] = 1;
  mem.markDirty(0x4000, 8);
  mem.readU32(0x3000);
  stop();
  mem.writeU8(0x5000, 1);
  assert.deepEqual(seen, ['1000+3', '2000+16', '3000+4', '4000+8']);
});
