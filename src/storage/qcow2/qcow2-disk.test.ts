import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeDiskContract, describeReadOnlyContract, pattern } from '../disk-contract.js';
import { MemoryImageFile, NodeImageFile } from '../image-file.js';
import { RawDisk } from '../raw-disk.js';
import { createQcow2, createQcow2File } from './create.js';
import { openQcow2, type OpenQcow2Options } from './open-image.js';
import { qemuCheck, qemuImgMissing } from './qemu-tools.js';

let dir = '';
let n = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsvmm-qcow2-test-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** After a clean close, QEMU must find nothing wrong, not even a leak. */
function assertClean(path: string): void {
  if (qemuImgMissing() !== undefined) return;
  const r = qemuCheck(path);
  assert.equal(r.status, 0, `qemu-img check ${path}: ${r.stdout}${r.stderr}`);
}

interface Make {
  readonly clusterBits?: number;
  readonly open?: Partial<OpenQcow2Options>;
  /** A raw backing file with these contents. */
  readonly backing?: Uint8Array;
}

/** A sparse raw file of `size` bytes, or one holding `contents`. */
function rawFile(contents: Uint8Array | number): string {
  const path = join(dir, `raw${n++}.img`);
  if (typeof contents !== 'number') writeFileSync(path, contents);
  else {
    const fd = openSync(path, 'w');
    ftruncateSync(fd, contents);
    closeSync(fd);
  }
  return path;
}

async function qcow2File(size: number, m: Make = {}) {
  const path = join(dir, `img${n++}.qcow2`);
  const base = m.backing !== undefined ? rawFile(m.backing) : undefined;
  await createQcow2File(path, { size, ...(m.clusterBits !== undefined ? { clusterBits: m.clusterBits } : {}), ...(base !== undefined ? { backingFile: base, backingFormat: 'raw' as const } : {}) });
  const disk = await openQcow2(await NodeImageFile.open(path, true), {
    writable: true,
    ...(base !== undefined ? { openBacking: async () => RawDisk.open(await NodeImageFile.open(base, false), { readOnly: true }) } : {}),
    ...m.open,
  });
  return { path, disk, base };
}

describeDiskContract('qcow2, 64 KiB clusters', {
  make: async (size) => {
    const { path, disk } = await qcow2File(size);
    return { disk, after: async () => assertClean(path) };
  },
  boundaries: [65536 * 2, 65536 * 8192 - 65536],
});

describeDiskContract('qcow2, 512-byte clusters, tiny caches (refcount table growth, evictions)', {
  make: async (size) => {
    const { path, disk } = await qcow2File(size, { clusterBits: 9, open: { l2CacheBytes: 2048, refcountCacheBytes: 2048 } });
    return { disk, after: async () => assertClean(path) };
  },
  boundaries: [512 * 64, 512 * 64 * 3],
  runs: 10,
});

describeDiskContract('qcow2 in memory, 4 KiB clusters', {
  make: async (size) => {
    const file = new MemoryImageFile();
    await createQcow2(file, { size, clusterBits: 12 });
    return { disk: await openQcow2(file, { writable: true, l2CacheBytes: 4096 * 4 }) };
  },
  boundaries: [4096 * 512],
});

describeDiskContract('qcow2 over a backing disk of zeros', {
  make: async (size) => {
    // Shorter than the image: reads past its end are zeros too.
    const { path, disk } = await qcow2File(size, { backing: new Uint8Array(size - 4096) });
    return { disk, after: async () => assertClean(path) };
  },
});

describeReadOnlyContract('qcow2 opened read-only', async (contents) => {
  const { path, disk } = await qcow2File(contents.length);
  await disk.write(0, contents);
  await disk.close();
  return { disk: await openQcow2(await NodeImageFile.open(path, false), { writable: false }) };
});

describe('qcow2 backing files', () => {
  it('reads unallocated clusters through, copies on partial writes, and zero-flags discards', async () => {
    const size = 1 << 20;
    const { path, disk, base } = await qcow2File(size, { backing: pattern(size, 9) });
    const all = new Uint8Array(size);
    await disk.read(0, all);
    assert.deepEqual(all, pattern(size, 9));
    await disk.write(65536 + 100, pattern(50, 1));
    await disk.discard(3 * 65536, 65536);
    await disk.writeZeroes(5 * 65536, 65536, false);
    await disk.read(0, all);
    const want = pattern(size, 9);
    want.set(pattern(50, 1), 65536 + 100);
    want.fill(0, 3 * 65536, 4 * 65536);
    want.fill(0, 5 * 65536, 6 * 65536);
    assert.deepEqual(all, want);
    await disk.close();
    assertClean(path);
    assert.deepEqual(new Uint8Array(readFileSync(base!)), pattern(size, 9));
  });
});

describe('qcow2 allocation', () => {
  it('reuses clusters freed by discard once the discard is durable, and keeps refcounts exact', async () => {
    const { path, disk } = await qcow2File(4 << 20);
    await disk.write(0, pattern(2 << 20, 1));
    await disk.flush();
    await disk.discard(0, 1 << 20);
    await disk.flush();
    await disk.write(2 << 20, pattern(1 << 20, 2));
    await disk.close();
    assertClean(path);
    const reopened = await openQcow2(await NodeImageFile.open(path, false), { writable: false });
    const back = new Uint8Array(1 << 20);
    await reopened.read(2 << 20, back);
    assert.deepEqual(back, pattern(1 << 20, 2));
    await reopened.read(0, back);
    assert.ok(back.every((b) => b === 0));
    await reopened.close();
  });

  it('keeps preallocated zero clusters and fills them in place', async () => {
    const { path, disk } = await qcow2File(1 << 20);
    await disk.write(0, pattern(65536, 1));
    await disk.writeZeroes(0, 65536, false);
    await disk.write(10, pattern(10, 2));
    const back = new Uint8Array(65536);
    await disk.read(0, back);
    const want = new Uint8Array(65536);
    want.set(pattern(10, 2), 10);
    assert.deepEqual(back, want);
    await disk.close();
    assertClean(path);
  });
});
