import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { GuestMemory } from '../memory/guest-memory.js';
import { MiB } from '../memory/layout.js';
import { BOOT_CMDLINE, BOOT_START_INFO, BOOT_ZERO_PAGE } from './cpu-state.js';
import { LoaderError } from './errors.js';
import { type LoadLinuxOptions, loadLinux } from './linux.js';
import { buildBzImage, buildElf, gzipPayload, lz4LegacyEncode, sampleVmlinux } from './test-images.js';
import { BOOT_AREA, clearLowRam, isZero } from './test-memory.js';

const vmlinux = sampleVmlinux(0x1000000);
const lz4BzImage = buildBzImage({ payload: lz4LegacyEncode(vmlinux, { appendSize: true }), prefAddress: 0x1000000, initSize: 0x800000 });
const xzBzImage = buildBzImage({ payload: new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2]), prefAddress: 0x1000000 });
const opts = (kernel: Uint8Array, more: Partial<LoadLinuxOptions> = {}): LoadLinuxOptions => ({ kernel, cmdline: 'console=ttyS0', prefer: 'bzimage', ...more });

test('an ELF boots through PVH whatever the preference', () => {
  const memory = GuestMemory.create(64 * MiB, { backing: 'shared' });
  for (const prefer of ['bzimage', 'pvh'] as const) {
    const r = loadLinux(memory, opts(vmlinux, { prefer }));
    assert.equal(r.kind, 'pvh-elf');
    assert.equal(r.entry.regs.rip, 0x1000050n);
    assert.equal(r.kernelEnd, 0x1005000);
  }
  memory.close();
});

test('a bzImage boots through the 64-bit protocol, or decompressed through PVH when preferred', () => {
  const memory = GuestMemory.create(64 * MiB, { backing: 'shared' });
  const initrd = new Uint8Array(4096).fill(3);
  const a = loadLinux(memory, opts(lz4BzImage, { initrd }));
  assert.equal(a.kind, 'bzimage');
  assert.equal(a.entry.regs.rip, 0x1000200n);
  assert.equal(a.entry.regs.rsi, BigInt(BOOT_ZERO_PAGE));
  assert.equal(a.kernelEnd, 0x1800000);
  assert.equal(a.fallbackReason, undefined);
  clearLowRam(memory);
  const b = loadLinux(memory, opts(lz4BzImage, { prefer: 'pvh', initrd }));
  assert.equal(b.kind, 'pvh-from-bzimage');
  assert.equal(b.entry.regs.rip, 0x1000050n);
  assert.equal(b.entry.regs.rbx, BigInt(BOOT_START_INFO));
  assert.equal(b.kernelEnd, 0x1005000);
  assert.deepEqual(b.initrd, { addr: 64 * MiB - 4096, size: 4096 });
  assert.equal(memory.readU32(BOOT_START_INFO), 0x336ec578);
  // The segments of the decompressed vmlinux, not the bzImage, are in memory.
  assert.equal(memory.readU8(0x1000001), (1 * 7 + 3) & 0xff);
  const gz = buildBzImage({ payload: gzipPayload(vmlinux), prefAddress: 0x1000000 });
  assert.equal(loadLinux(memory, opts(gz, { prefer: 'pvh' })).kind, 'pvh-from-bzimage');
  memory.close();
});

test('prefer pvh falls back to the 64-bit protocol for unsupported compression or a kernel without the PVH note', () => {
  const memory = GuestMemory.create(64 * MiB, { backing: 'shared' });
  const xz = loadLinux(memory, opts(xzBzImage, { prefer: 'pvh', kernelName: 'vmlinuz' }));
  assert.equal(xz.kind, 'bzimage');
  assert.match(xz.fallbackReason!, /^vmlinuz: the kernel is xz-compressed/);
  const noNote = buildElf({ segments: [{ paddr: 0x1000000, data: new Uint8Array(64) }] });
  const plain = buildBzImage({ payload: lz4LegacyEncode(noNote), prefAddress: 0x1000000 });
  const r = loadLinux(memory, opts(plain, { prefer: 'pvh', kernelName: 'vmlinuz' }));
  assert.equal(r.kind, 'bzimage');
  assert.match(r.fallbackReason!, /^vmlinuz \(decompressed\): the ELF kernel has no PVH entry point/);
  // A corrupt payload is not a reason to fall back: the guest could not decompress it either.
  const corrupt = lz4BzImage.slice();
  corrupt[corrupt.length - 20] ^= 0xff;
  assert.throws(() => loadLinux(memory, opts(corrupt, { prefer: 'pvh' })), LoaderError);
  memory.close();
});

test('a file that is neither is not a Linux kernel', () => {
  const memory = GuestMemory.create(16 * MiB, { backing: 'shared' });
  assert.throws(() => loadLinux(memory, opts(new TextEncoder().encode('#!/bin/sh\necho hi\n'), { kernelName: 'kernel.img' })),
    (e: unknown) => e instanceof LoaderError && e.code === 'not-a-kernel'
      && e.message === 'kernel.img: not a Linux kernel (no bzImage header magic "HdrS" and no ELF header)');
  assert.throws(() => loadLinux(memory, opts(new Uint8Array(0))), /not a Linux kernel/);
  assert.ok(isZero(memory, 0, 16 * MiB));
  memory.close();
});

test('guest RAM smaller than the kernel wants is a LoaderError, not a memory fault', () => {
  const memory = GuestMemory.create(1 * MiB, { backing: 'shared' });
  for (const kernel of [vmlinux, lz4BzImage]) {
    for (const prefer of ['bzimage', 'pvh'] as const) {
      assert.throws(() => loadLinux(memory, opts(kernel, { prefer })), (e: unknown) => e instanceof LoaderError && e.code === 'does-not-fit');
    }
  }
  memory.close();
});

// Random damage to a valid image: overwritten bytes and words (often at the
// header fields, where it matters most) and truncation.
const damage = (size: number, hot: number, fields: number[]) => {
  const where = fc.oneof(fc.nat({ max: size - 1 }), fc.nat({ max: hot }), fc.constantFrom(...fields));
  return fc.record({
    bytes: fc.array(fc.tuple(where, fc.nat({ max: 255 })), { maxLength: 4 }),
    words: fc.array(fc.tuple(where, fc.constantFrom(0, 1, 0xff, 0x1000, 0x100000, 0x1000000, 0x3ffffff, 0x7fffffff, 0x80000000, 0xffffffff)), { maxLength: 3 }),
    cut: fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: fc.nat({ max: size }), weight: 1 }),
  });
};
const apply = (image: Uint8Array, d: { bytes: [number, number][]; words: [number, number][]; cut: number | null }): Uint8Array => {
  const out = image.slice(0, d.cut ?? image.length);
  const dv = new DataView(out.buffer);
  for (const [at, v] of d.bytes) if (at < out.length) out[at] = v;
  for (const [at, v] of d.words) if (at + 4 <= out.length) dv.setUint32(at, v, true);
  return out;
};

test('property: damaged bzImages, ELFs and LZ4 payloads load or fail with a LoaderError, writing only where they may', (t) => {
  const memory = GuestMemory.create(64 * MiB, { backing: 'shared' });
  // The dirty log lists every page a load wrote, without scanning 64 MiB per run.
  memory.startDirtyLog();
  // Initrds that fit, fit only low enough, and never fit; command lines around the 2047-byte limit.
  const initrds = [undefined, new Uint8Array(5000).fill(0x11), new Uint8Array(40 * MiB), new Uint8Array(70 * MiB)];
  const cmdline = fc.oneof(
    { arbitrary: fc.constant('x'), weight: 6 },
    { arbitrary: fc.nat({ max: 3000 }).map((n) => 'y'.repeat(n)), weight: 2 },
    { arbitrary: fc.constant('a\0b'), weight: 1 },
  );
  const rsdp = fc.oneof({ arbitrary: fc.constantFrom(undefined, 0xe0000), weight: 8 }, { arbitrary: fc.constantFrom(-1, 2 ** 32), weight: 1 });
  const initrd = fc.oneof({ arbitrary: fc.constantFrom(0, 1, 2), weight: 8 }, { arbitrary: fc.constant(3), weight: 1 });
  const elf32 = buildElf({ bits: 32, segments: [{ paddr: 0x200000, data: new Uint8Array(0x300).fill(5), memsz: 0x1000 }], notes: [{ name: 'Xen', type: 18, desc: new Uint8Array([0, 2, 0x20, 0]) }] });
  // Damage in the compressed payload, at its start (frame and block headers) or anywhere.
  const payloadAt = 5 * 512 + 0x100;
  const hdrFields = [0x1f1, 0x1f4, 0x201, 0x206, 0x211, 0x22c, 0x230, 0x234, 0x236, 0x238, 0x248, 0x24c, 0x258, 0x25c, 0x260];
  const phdr64 = [0x18, 0x20, 0x36, 0x38, 0x40, 0x48, 0x58, 0x60, 0x68, 0x78, 0x80, 0x90, 0x98, 0xa0];
  const images: Array<[string, Uint8Array, number, number[]]> = [
    ['bzImage', buildBzImage({ prefAddress: 0x1000000, initSize: 0x800000, tail: 0x400 }), 0x270, hdrFields],
    ['lz4 bzImage', lz4BzImage, payloadAt + 64, [...hdrFields, payloadAt, payloadAt + 4, payloadAt + 8]],
    ['gzip bzImage', buildBzImage({ payload: gzipPayload(vmlinux), prefAddress: 0x1000000 }), payloadAt + 32, hdrFields],
    ['ELF64', vmlinux, 0x120, phdr64],
    ['ELF32', elf32, 0xa0, [0x18, 0x1c, 0x2a, 0x2c, 0x34, 0x38, 0x40, 0x44, 0x48, 0x58, 0x5c, 0x64]],
  ];
  let loaded = 0;
  let failed = 0;
  for (const [what, image, hot, fields] of images) {
    fc.assert(
      fc.property(damage(image.length, hot, fields), fc.constantFrom('bzimage' as const, 'pvh' as const), initrd, cmdline, rsdp, (d, prefer, i, cmd, rs) => {
        const kernel = apply(image, d);
        try {
          const r = loadLinux(memory, { kernel, cmdline: cmd, prefer, initrd: initrds[i], rsdp: rs });
          loaded++;
          // The kernel starts at 1 MiB at the lowest; segments may be anywhere above.
          const allowed = [BOOT_AREA, { addr: BOOT_CMDLINE, size: cmd.length + 1 }, { addr: 0x100000, size: r.kernelEnd - 0x100000 }];
          if (r.initrd) allowed.push(r.initrd);
          for (const page of memory.takeDirtyPages()) {
            const ok = allowed.some((a) => page < a.addr + a.size && page + 4096 > a.addr);
            assert.ok(ok, `${what}: wrote page 0x${page.toString(16)} outside the boot areas`);
          }
        } catch (e) {
          if (!(e instanceof LoaderError)) throw e;
          assert.ok(!e.message.includes('\n'));
          failed++;
          assert.deepEqual(memory.takeDirtyPages(), [], `${what}: a failed load wrote to guest memory (${e.message})`);
        }
      }),
      { numRuns: 200 },
    );
  }
  t.diagnostic(`loaded ${loaded}, failed ${failed}`);
  // Both outcomes must have happened, or the property tested little.
  assert.ok(loaded > 20 && failed > 20, `loaded ${loaded}, failed ${failed}`);
  memory.close();
});
