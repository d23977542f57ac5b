import assert from 'node:assert/strict';
import test from 'node:test';
import { extractVmlinux, payloadFormat } from './extract.js';
import { LoaderError } from './errors.js';
import { buildBzImage, gzipPayload, lz4LegacyEncode, sampleVmlinux } from './test-images.js';

const vmlinux = sampleVmlinux();
const loaderError = (code: string, message: RegExp) => (e: unknown): boolean =>
  e instanceof LoaderError && e.code === code && message.test(e.message) && !e.message.includes('\n');

test('LZ4 (with the appended size), gzip and uncompressed payloads give back the vmlinux', () => {
  for (const payload of [lz4LegacyEncode(vmlinux, { appendSize: true }), lz4LegacyEncode(vmlinux), gzipPayload(vmlinux), vmlinux]) {
    assert.deepEqual(extractVmlinux(buildBzImage({ payload, payloadOffset: 0x3c0 })), vmlinux);
  }
});

test('payload formats are told apart by their magic', () => {
  const fmt = (...b: number[]) => payloadFormat(new Uint8Array([...b, 0, 0, 0, 0, 0, 0, 0, 0]));
  assert.equal(fmt(0x02, 0x21, 0x4c, 0x18), 'lz4');
  assert.equal(fmt(0x1f, 0x8b), 'gzip');
  assert.equal(fmt(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00), 'xz');
  assert.equal(fmt(0x28, 0xb5, 0x2f, 0xfd), 'zstd');
  assert.equal(fmt(0x42, 0x5a, 0x68), 'bzip2');
  assert.equal(fmt(0x5d, 0x00, 0x00), 'lzma');
  assert.equal(fmt(0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a), 'lzo');
  assert.equal(fmt(0x7f, 0x45, 0x4c, 0x46), 'none');
  assert.equal(fmt(0x00), 'unknown');
  assert.equal(payloadFormat(new Uint8Array(0)), 'unknown');
});

test('xz, zstd, bzip2, lzma and lzo are reported as unsupported, naming the format', () => {
  const magics: Record<string, number[]> = {
    xz: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], zstd: [0x28, 0xb5, 0x2f, 0xfd], bzip2: [0x42, 0x5a, 0x68, 0x39],
    lzma: [0x5d, 0x00, 0x00, 0x00, 0x04], lzo: [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a],
  };
  for (const [format, magic] of Object.entries(magics)) {
    const kernel = buildBzImage({ payload: new Uint8Array([...magic, 1, 2, 3, 4]) });
    assert.throws(() => extractVmlinux(kernel, { name: 'vmlinuz' }), loaderError('unsupported',
      new RegExp(`^vmlinuz: the kernel is ${format}-compressed; only lz4 and gzip payloads can be extracted \\(the kernel can still decompress itself\\)$`)));
  }
});

test('corrupt payloads are malformed, oversize ones do not fit', () => {
  const gz = gzipPayload(vmlinux);
  const badGz = gz.slice();
  badGz[20] ^= 0xff;
  const cases: Array<[Uint8Array, string, RegExp]> = [
    [buildBzImage({ payload: badGz }), 'malformed', /^vmlinuz: corrupt gzip payload: /],
    [buildBzImage({ payload: gz.subarray(0, 100) }), 'malformed', /^vmlinuz: corrupt gzip payload: /],
    [buildBzImage({ payload: new Uint8Array([9, 9, 9, 9]) }), 'malformed', /no known compression magic/],
    [buildBzImage({ payload: new Uint8Array(0) }), 'malformed', /no known compression magic/],
    [buildBzImage({ payload: gzipPayload(new TextEncoder().encode('not an elf')) }), 'malformed', /^vmlinuz: the decompressed kernel is not an ELF file$/],
    [buildBzImage({ payload: lz4LegacyEncode(new Uint8Array(100)) }), 'malformed', /not an ELF file/],
    [buildBzImage({ payload: lz4LegacyEncode(vmlinux).subarray(0, 300) }), 'malformed', /^vmlinuz: corrupt LZ4 data: a block of \d+ bytes runs past the end/],
    [new Uint8Array(600), 'not-a-kernel', /not a bzImage/],
  ];
  for (const [kernel, code, message] of cases) {
    assert.throws(() => extractVmlinux(kernel, { name: 'vmlinuz' }), loaderError(code, message), message.source);
  }
  for (const payload of [gz, lz4LegacyEncode(vmlinux)]) {
    assert.throws(() => extractVmlinux(buildBzImage({ payload }), { name: 'k', maxOutput: 1000 }),
      loaderError('does-not-fit', /^k: (the gzip payload )?decompresses to more than 1000 bytes$/));
  }
});
