/**
 * Fuzzing the qcow2 reader and writer with mutated images: corrupt headers,
 * L1 and L2 tables, refcount tables and blocks, and truncated files. Opening
 * and using them may fail, but only with DiskOpenError or DiskError, within
 * a time bound, never with any other exception (a crash) or a hang.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { pattern } from '../disk-contract.js';
import { DiskError, type Disk } from '../disk.js';
import { MemoryImageFile } from '../image-file.js';
import { DiskOpenError } from '../open-error.js';
import { createQcow2 } from './create.js';
import { H, parseHeader, readU64 } from './format.js';
import { openQcow2 } from './open-image.js';
import { qemuImg, qemuImgMissing } from './qemu-tools.js';

const TIME_LIMIT_MS = 5000;

/** A small image with every kind of table in use: data, zero and unallocated clusters, several L2 tables. */
async function sampleImage(): Promise<Uint8Array> {
  const file = new MemoryImageFile();
  await createQcow2(file, { size: 3 << 20, clusterBits: 12 });
  const disk = await openQcow2(file, { writable: true });
  await disk.write(0, pattern(20000, 1));
  await disk.write(2 << 20, pattern(9000, 2));
  await disk.write((3 << 20) - 4096, pattern(4096, 3));
  await disk.writeZeroes(8192, 4096, false);
  await disk.discard(12288, 4096);
  await disk.close();
  return file.contents();
}

/** Byte ranges worth mutating: the header and every table the header leads to. */
function metadataRanges(image: Uint8Array): [number, number][] {
  const h = parseHeader(image.subarray(0, Math.min(image.length, 65536)), image.length);
  const cs = 2 ** h.clusterBits;
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const ranges: [number, number][] = [[0, 112], [112, Math.min(cs, 512)], [h.l1TableOffset, h.l1Size * 8], [h.refcountTableOffset, 64]];
  for (let i = 0; i < h.l1Size; i++) {
    const l2 = Number(dv.getBigUint64(h.l1TableOffset + i * 8) & 0x00ff_ffff_ffff_fe00n);
    if (l2 !== 0) ranges.push([l2, cs]);
  }
  const block = readU64(dv, h.refcountTableOffset, 'rt');
  if (block !== 0) ranges.push([block, 64]);
  return ranges.filter(([at, len]) => len > 0 && at + len <= image.length);
}

const EXTREMES = [0n, 1n, 0x200n, 0xffff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n, 0x4000_0000_0000_0000n, 0x00ff_ffff_ffff_fe00n, 0x1000n, 0xffff_ffffn, 1n << 53n];

type Mutation =
  | { readonly kind: 'byte'; readonly range: number; readonly at: number; readonly value: number }
  | { readonly kind: 'u64'; readonly range: number; readonly at: number; readonly value: bigint }
  | { readonly kind: 'u32field'; readonly field: number; readonly value: number }
  | { readonly kind: 'truncate'; readonly fraction: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('byte' as const), range: fc.nat(), at: fc.nat(), value: fc.nat(255) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('u64' as const), range: fc.nat(), at: fc.nat(), value: fc.oneof(fc.constantFrom(...EXTREMES), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('u32field' as const), field: fc.constantFrom(...Object.values(H)), value: fc.oneof(fc.constantFrom(0, 1, 9, 16, 21, 22, 0xffff_ffff, 104, 112, 0x8000_0000), fc.nat()) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }) },
);

function mutate(image: Uint8Array, ranges: [number, number][], ms: readonly Mutation[]): Uint8Array {
  let out = image.slice();
  for (const m of ms) {
    const dv = new DataView(out.buffer);
    if (m.kind === 'truncate') {
      out = out.slice(0, Math.floor(out.length * m.fraction));
      continue;
    }
    if (m.kind === 'u32field') {
      if (m.field + 4 <= out.length) dv.setUint32(m.field, m.value >>> 0);
      continue;
    }
    const [start, len] = ranges[m.range % ranges.length]!;
    if (m.kind === 'byte') {
      const at = start + (m.at % len);
      if (at < out.length) out[at] = m.value;
    } else {
      const at = start + ((m.at % Math.max(1, len >> 3)) << 3);
      if (at + 8 <= out.length) dv.setBigUint64(at, m.value);
    }
  }
  return out;
}

function expected(err: unknown): boolean {
  return err instanceof DiskOpenError || err instanceof DiskError;
}

async function exercise(image: Uint8Array): Promise<void> {
  for (const writable of [false, true]) {
    let disk: Disk;
    try {
      disk = await openQcow2(new MemoryImageFile(image), { writable, refcountCacheBytes: 4096 * 4, l2CacheBytes: 4096 * 4 });
    } catch (err) {
      if (!expected(err)) throw err;
      continue;
    }
    const attempt = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (err) {
        if (!expected(err)) throw err;
      }
    };
    const chunk = new Uint8Array(65536);
    for (let off = 0; off < Math.min(disk.size, 4 << 20); off += chunk.length) await attempt(disk.read(off, chunk.subarray(0, Math.min(chunk.length, disk.size - off))));
    if (writable && disk.size >= 1 << 20) {
      await attempt(disk.write(4000, pattern(9000, 5)));
      await attempt(disk.write(1 << 19, pattern(4096 * 3, 6)));
      await attempt(disk.writeZeroes(0, 8192, true));
      await attempt(disk.discard(2 << 19, 8192));
      await attempt(disk.flush());
    }
    await attempt(disk.close());
  }
}

function withinTime(p: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${TIME_LIMIT_MS} ms (a hang?)`)), TIME_LIMIT_MS);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsvmm-fuzz-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('qcow2 parsing and use of mutated images', () => {
  it('the sample image itself works', async () => {
    const image = await sampleImage();
    const disk = await openQcow2(new MemoryImageFile(image), { writable: false });
    const back = new Uint8Array(9000);
    await disk.read(2 << 20, back);
    assert.deepEqual(back, pattern(9000, 2));
    await disk.close();
  });

  it('fails only with DiskOpenError or DiskError, promptly, on images tsvmm wrote', async () => {
    const image = await sampleImage();
    const ranges = metadataRanges(image);
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 6 }), (ms) => withinTime(exercise(mutate(image, ranges, ms)))),
      { numRuns: 400 },
    );
  });

  it('fails only with DiskOpenError or DiskError on compressed images qemu-img wrote', { skip: qemuImgMissing() }, async () => {
    const raw = join(dir, 'source.raw');
    writeFileSync(raw, pattern(2 << 20, 4));
    const img = join(dir, 'compressed.qcow2');
    const r = qemuImg('convert', '-c', '-O', 'qcow2', '-o', 'cluster_size=4096', raw, img);
    assert.equal(r.status, 0, r.stderr);
    const image = new Uint8Array(readFileSync(img));
    const ranges = metadataRanges(image);
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 6 }), (ms) => withinTime(exercise(mutate(image, ranges, ms)))),
      { numRuns: 300 },
    );
  });
});
