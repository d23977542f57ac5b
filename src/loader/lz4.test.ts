import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import test from 'node:test';
import fc from 'fast-check';
import { LoaderError } from './errors.js';
import { LZ4_LEGACY_BLOCK, decompressLz4Legacy } from './lz4.js';
import { concat, lz4EncodeBlock, lz4LegacyEncode } from './test-images.js';

const MAGIC = [0x02, 0x21, 0x4c, 0x18];
const le32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
const frame = (...blocks: number[][]): Uint8Array =>
  new Uint8Array([...MAGIC, ...blocks.flatMap((b) => [...le32(b.length), ...b])]);
const text = (s: string): number[] => [...new TextEncoder().encode(s)];
const decode = (b: Uint8Array): string => new TextDecoder().decode(decompressLz4Legacy(b));

test('hand-made blocks: literals only, a match, an overlapping match, long lengths', () => {
  // Token 0x50: five literals, end of block.
  assert.equal(decode(frame([0x50, ...text('hello')])), 'hello');
  // "abcd" then a match of 8 at offset 4 (repeats "abcd" twice), then 5 literals.
  assert.equal(decode(frame([0x44, ...text('abcd'), 4, 0, 0x50, ...text('vwxyz')])), 'abcdabcdabcdvwxyz');
  // Offset 1 repeats one byte: 'a' + 14 more 'a' + "aaaaa" = 20 bytes.
  assert.equal(decode(frame([0x1a, ...text('a'), 1, 0, 0x50, ...text('aaaaa')])), 'a'.repeat(20));
  // Literal length 15 + 255 + 3 = 273, match length 4 + 15 + 255 + 1 = 275 with offset 3.
  const lits = Array.from({ length: 273 }, (_, i) => 0x41 + (i % 26));
  const out = decompressLz4Legacy(frame([0xff, 255, 3, ...lits, 3, 0, 255, 1, 0x00]));
  assert.equal(out.length, 273 + 275);
  assert.deepEqual([...out.subarray(0, 273)], lits);
  for (let i = 273; i < out.length; i++) assert.equal(out[i], out[i - 3]);
});

test('the appended uncompressed size (bzImage payloads) is checked, and frames may be concatenated', () => {
  const data = new TextEncoder().encode('the quick brown fox jumps over the lazy dog '.repeat(50));
  const withSize = lz4LegacyEncode(data, { appendSize: true });
  assert.deepEqual(decompressLz4Legacy(withSize), data);
  const lying = withSize.slice();
  lying[lying.length - 1] ^= 1;
  assert.throws(() => decompressLz4Legacy(lying, { name: 'vmlinuz' }), /vmlinuz: corrupt LZ4 data: the appended size \d+ differs from the 2200 bytes decompressed/);
  const two = concat([lz4LegacyEncode(data.subarray(0, 1000)), lz4LegacyEncode(data.subarray(1000))]);
  assert.deepEqual(decompressLz4Legacy(two), data);
});

test('blocks are independent and the output grows past a wrong size hint', () => {
  const data = new Uint8Array(300_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 27;
  const enc = lz4LegacyEncode(data, { blockSize: 65536 });
  assert.deepEqual(decompressLz4Legacy(enc), data);
  // The last u32 of the final block doubles as a size hint here; it must not matter.
  const out = decompressLz4Legacy(concat([enc, new Uint8Array([0, 0])]));
  assert.equal(out.length, data.length);
});

test('property: decode(encode(x)) == x for arbitrary and repetitive data', () => {
  const repetitive = fc
    .array(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 60 })), { maxLength: 20 })
    .map((runs) => concat(runs.flatMap(([chunk, n]) => Array.from({ length: n }, () => chunk))));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 5000 }), repetitive), fc.integer({ min: 1, max: 4096 }), (data, blockSize) => {
      const enc = lz4LegacyEncode(data, { blockSize, appendSize: data.length > 0 });
      assert.deepEqual(decompressLz4Legacy(enc), data);
    }),
    { numRuns: 300 },
  );
});

test('agrees with the lz4 command-line tool (lz4 -l), when it is installed', (t) => {
  const probe = spawnSync('lz4', ['--version']);
  if (probe.error || probe.status !== 0) {
    t.skip('lz4 is not installed');
    return;
  }
  const data = new Uint8Array(3 * LZ4_LEGACY_BLOCK + 12345);
  for (let i = 0; i < data.length; i++) data[i] = i % 1000 < 600 ? (i >>> 9) & 0xff : (i * 40503) >>> 11;
  const r = spawnSync('lz4', ['-l', '-c', '-9'], { input: data, maxBuffer: 1 << 28 });
  assert.equal(r.status, 0);
  assert.deepEqual(decompressLz4Legacy(new Uint8Array(r.stdout)), data);
});

test('malformed frames are LoaderErrors that say what is wrong', () => {
  const cases: Array<[Uint8Array, RegExp]> = [
    [new Uint8Array([1, 2, 3, 4, 5]), /no legacy frame magic/],
    [new Uint8Array([...MAGIC, ...le32(100), 0x50]), /a block of 100 bytes runs past the end of the data/],
    [new Uint8Array([...MAGIC, ...le32(7)]), /the appended size 7 differs from the 0 bytes decompressed/],
    [new Uint8Array([...MAGIC, ...le32(0), 0, 0, 0, 0, 0]), /a block claims 0 compressed bytes/],
    [new Uint8Array([...MAGIC, ...le32(0xffffffff), 0]), /a block claims 4294967295 compressed bytes/],
    [frame([0x60, ...text('abc')]), /literals run past the end of their block/],
    [frame([0xf0, 255, 255]), /a literal length runs past the end of its block/],
    [frame([0x40, ...text('abcd'), 4]), /a match offset is cut off/],
    [frame([0x40, ...text('abcd'), 5, 0, 0x00]), /a match points before the start of its block/],
    [frame([0x40, ...text('abcd'), 0, 0, 0x00]), /a match points before the start of its block/],
    [frame([0x4f, ...text('abcd'), 1, 0, 255]), /a match length runs past the end of its block/],
    [frame([0x44, ...text('abcd'), 4, 0]), /a block ends where a sequence should start/],
    // A match in the second block cannot reach into the first.
    [frame([0x50, ...text('hello')], [0x10, ...text('x'), 3, 0, 0x00]), /a match points before the start of its block/],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => decompressLz4Legacy(input), (e: unknown) => e instanceof LoaderError && e.code === 'malformed' && message.test(e.message), message.source);
  }
});

test('an empty frame, with or without its appended size, is empty', () => {
  assert.equal(decompressLz4Legacy(new Uint8Array(MAGIC)).length, 0);
  assert.equal(decompressLz4Legacy(new Uint8Array([...MAGIC, ...le32(0)])).length, 0);
});

test('output is capped: per block at 8 MiB, overall at maxOutput', () => {
  // 4 + 15 + 255 * 33000 bytes from one match: more than a legacy block may hold.
  const huge = frame([0x1f, ...text('z'), 1, 0, ...new Array(33000).fill(255), 0, 0x00]);
  assert.throws(() => decompressLz4Legacy(huge), /a block expands to more than 8 MiB/);
  const enc = lz4LegacyEncode(new Uint8Array(100_000));
  assert.throws(() => decompressLz4Legacy(enc, { maxOutput: 50_000, name: 'k' }), (e: unknown) =>
    e instanceof LoaderError && e.code === 'does-not-fit' && e.message === 'k: decompresses to more than 50000 bytes');
  assert.equal(decompressLz4Legacy(enc, { maxOutput: 100_000 }).length, 100_000);
});

test('property: mutated and truncated frames decode or fail with a LoaderError, within the cap', () => {
  const data = new TextEncoder().encode('Linux version 6.1.0 (debian-kernel@lists.debian.org) '.repeat(40));
  const valid = lz4LegacyEncode(data, { blockSize: 700, appendSize: true });
  assert.ok(valid.length < data.length);
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.option(fc.nat()),
      (flips, cut) => {
        const input = valid.slice(0, cut === null ? valid.length : cut % (valid.length + 1));
        for (const [at, v] of flips) if (input.length) input[at % input.length] = v;
        try {
          const out = decompressLz4Legacy(input, { maxOutput: 1 << 20 });
          assert.ok(out.length <= 1 << 20);
        } catch (e) {
          if (!(e instanceof LoaderError)) throw e;
        }
      },
    ),
    { numRuns: 2000 },
  );
});

test('a block encoded by the test encoder keeps the format end rules', () => {
  const block = lz4EncodeBlock(new Uint8Array(100));
  // The final token is literals only: its low nibble is zero and the block ends in 5+ literals.
  assert.ok(block.length < 20);
  assert.deepEqual(decompressLz4Legacy(frame([...block])), new Uint8Array(100));
});
