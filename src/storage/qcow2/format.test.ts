import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryImageFile } from '../image-file.js';
import { ImageFormatError } from '../open-error.js';
import { createQcow2 } from './create.js';
import { compressedClusters, decodeL1, decodeL2, encodeData, encodeZero } from './entries.js';
import { EXT_FEATURE_TABLE, H, V3_HEADER_LENGTH, encodeHeader, l1EntriesFor, parseHeader } from './format.js';

async function image(opts: { size?: number; backingFile?: string } = {}): Promise<Uint8Array> {
  const file = new MemoryImageFile();
  await createQcow2(file, { size: opts.size ?? 10 << 20, ...(opts.backingFile ? { backingFile: opts.backingFile, backingFormat: 'raw' as const } : {}) });
  return file.contents();
}

function rejects(bytes: Uint8Array, kind: 'corrupt' | 'unsupported', words: string | RegExp): void {
  assert.throws(
    () => parseHeader(bytes, bytes.length),
    (err: unknown) => err instanceof ImageFormatError && err.kind === kind && (typeof words === 'string' ? err.message.includes(words) : words.test(err.message)),
  );
}

function withU32(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(at, value);
  return out;
}

function withU64(bytes: Uint8Array, at: number, value: bigint): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setBigUint64(at, value);
  return out;
}

describe('qcow2 header', () => {
  it('parses what createQcow2 writes', async () => {
    const bytes = await image({ backingFile: '/images/base.raw' });
    const h = parseHeader(bytes, bytes.length);
    assert.equal(h.version, 3);
    assert.equal(h.clusterBits, 16);
    assert.equal(h.size, 10 << 20);
    assert.equal(h.l1Size, l1EntriesFor(10 << 20, 16));
    assert.equal(h.refcountOrder, 4);
    assert.equal(h.headerLength, V3_HEADER_LENGTH);
    assert.equal(h.backingFile, '/images/base.raw');
    assert.equal(h.backingFormat, 'raw');
    assert.equal(h.incompatibleFeatures, 0n);
  });

  it('names the field that is wrong', async () => {
    const good = await image();
    rejects(good.subarray(0, 50), 'corrupt', 'too short');
    rejects(withU32(good, H.magic, 0x12345678), 'corrupt', 'magic');
    rejects(withU32(good, H.version, 4), 'unsupported', 'version 4');
    rejects(withU32(good, H.clusterBits, 8), 'corrupt', 'cluster_bits 8');
    rejects(withU32(good, H.clusterBits, 22), 'corrupt', 'cluster_bits 22');
    rejects(withU32(good, H.headerLength, 100), 'corrupt', 'header_length 100');
    rejects(withU32(good, H.headerLength, 1 << 20), 'corrupt', 'header_length');
    rejects(withU32(good, H.cryptMethod, 1), 'unsupported', 'encrypted');
    rejects(withU32(good, H.l1Size, 0), 'corrupt', 'too small');
    rejects(withU32(good, H.l1Size, 0x7fff_ffff), 'corrupt', 'limit');
    rejects(withU64(good, H.size, 1n << 60n), 'corrupt', 'size');
    rejects(withU64(good, H.l1TableOffset, 0x12345n), 'corrupt', 'L1 table offset');
    rejects(withU64(good, H.l1TableOffset, 1n << 40n), 'corrupt', 'past the end of the file');
    rejects(withU64(good, H.refcountTableOffset, 0n), 'corrupt', 'refcount table offset');
    rejects(withU32(good, H.refcountTableClusters, 0), 'corrupt', 'refcount_table_clusters');
    rejects(withU32(good, H.refcountTableClusters, 1 << 20), 'corrupt', 'refcount_table_clusters');
    rejects(withU32(good, H.nbSnapshots, 1 << 20), 'corrupt', 'nb_snapshots');
    rejects(withU32(good, H.refcountOrder, 7), 'corrupt', 'refcount_order');
    rejects(withU64(good, H.backingFileOffset, 60000n), 'corrupt', 'backing_file_size');
    rejects(withU32(withU64(good, H.backingFileOffset, 65530n), H.backingFileSize, 100), 'corrupt', 'backing file name');
  });

  it('refuses features it cannot honour, by name', async () => {
    const good = await image();
    rejects(withU64(good, H.incompatibleFeatures, 1n << 2n), 'unsupported', 'external data file');
    rejects(withU64(good, H.incompatibleFeatures, 1n << 4n), 'unsupported', 'extended L2');
    rejects(withU64(good, H.incompatibleFeatures, 1n << 40n), 'unsupported', 'bit 40');
    const zstd = good.slice();
    zstd[H.compressionType] = 1;
    rejects(withU64(zstd, H.incompatibleFeatures, 1n << 3n), 'unsupported', 'zstd');
    // A feature name table lets the message say what the unknown bit is.
    const named = withU64(good, H.incompatibleFeatures, 1n << 9n);
    const dv = new DataView(named.buffer);
    dv.setUint32(V3_HEADER_LENGTH, EXT_FEATURE_TABLE);
    dv.setUint32(V3_HEADER_LENGTH + 4, 48);
    named[V3_HEADER_LENGTH + 8] = 0;
    named[V3_HEADER_LENGTH + 9] = 9;
    named.set(new TextEncoder().encode('frobnication'), V3_HEADER_LENGTH + 10);
    rejects(named, 'unsupported', 'frobnication');
  });

  it('refuses a header extension that runs past the header cluster', async () => {
    const bad = withU32(withU32(await image(), V3_HEADER_LENGTH, 0x1234), V3_HEADER_LENGTH + 4, 1 << 20);
    rejects(bad, 'corrupt', 'header extension');
  });

  it('encodes a backing file name after the extensions', () => {
    const bytes = encodeHeader({ clusterBits: 16, size: 1 << 20, l1Size: 1, l1TableOffset: 3 << 16, refcountTableOffset: 1 << 16, refcountTableClusters: 1, backingFile: 'b.img' });
    const dv = new DataView(bytes.buffer);
    const at = Number(dv.getBigUint64(H.backingFileOffset));
    assert.ok(at >= V3_HEADER_LENGTH + 8);
    assert.equal(new TextDecoder().decode(bytes.subarray(at, at + dv.getUint32(H.backingFileSize))), 'b.img');
  });
});

describe('qcow2 table entries', () => {
  it('decodes standard, zero and unallocated L2 entries', () => {
    assert.deepEqual(decodeL2(...encodeData(0x30000), 16, false), { kind: 'data', host: 0x30000, copied: true });
    assert.deepEqual(decodeL2(...encodeZero(0), 16, false), { kind: 'zero', host: 0, copied: false });
    assert.deepEqual(decodeL2(...encodeZero(0x50000), 16, false), { kind: 'zero', host: 0x50000, copied: true });
    assert.deepEqual(decodeL2(0, 0, 16, false), { kind: 'unallocated' });
    // Version 2 has no zero flag: bit 0 is reserved and ignored there.
    assert.deepEqual(decodeL2(0x8000_0000, 0x30001, 16, true), { kind: 'data', host: 0x30000, copied: true });
    assert.deepEqual(decodeL2(...encodeData(2 ** 40), 16, false), { kind: 'data', host: 2 ** 40, copied: true });
  });

  it('rejects misaligned and out-of-range offsets', () => {
    assert.throws(() => decodeL2(0x8000_0000, 0x31000, 16, false), /not cluster-aligned/);
    assert.throws(() => decodeL2(0x80ff_ffff, 0, 16, false), /8 PiB/);
    assert.throws(() => decodeL1(0x8000_0000, 0x10200, 65536, 1 << 20), /not cluster-aligned/);
    assert.throws(() => decodeL1(0x8000_0000, 0x200000, 65536, 1 << 20), /past the end/);
    assert.equal(decodeL1(0x8000_0000, 0x20000, 65536, 1 << 20), 0x20000);
  });

  it('decodes compressed descriptors for any cluster size', () => {
    // 64 KiB clusters: x = 54; offset 0x123456, 3 additional sectors.
    const hi = 0x4000_0000 | (3 << (54 - 32));
    const m = decodeL2(hi, 0x123456, 16, false);
    assert.deepEqual(m, { kind: 'compressed', host: 0x123456, length: 4 * 512 - 0x56 });
    assert.deepEqual(compressedClusters(0x123456, 4 * 512 - 0x56, 65536), [0x12, 1]);
    // A stream that crosses into the next host cluster holds a reference to both.
    assert.deepEqual(compressedClusters(0x1ff00, 1024, 65536), [1, 2]);
    // 512-byte clusters: x = 61; the sector count field is one bit.
    const small = decodeL2(0x4000_0000 | (1 << 29), 0x1234, 9, false);
    assert.deepEqual(small, { kind: 'compressed', host: 0x1234, length: 1024 - 0x34 });
  });
});
