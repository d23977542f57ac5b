import assert from 'node:assert/strict';
import test from 'node:test';
import { GuestMemory } from '../memory/guest-memory.js';
import { GiB, LOW_RAM_TOP, MiB } from '../memory/layout.js';
import { CR0, EFER } from '../hv/registers.js';
import { BP, E820_MAX_ZEROPAGE, buildZeroPage, loadAddress, loadBzImage } from './bzimage.js';
import { BOOT_CMDLINE, BOOT_IDENTITY_MAP_END, BOOT_PD_LOW, BOOT_ZERO_PAGE, SEL_CODE64 } from './cpu-state.js';
import { LoaderError } from './errors.js';
import { E820_RAM, E820_RESERVED } from './memmap.js';
import { HDR, parseSetupHeader } from './setup-header.js';
import { type BzImageSpec, buildBzImage } from './test-images.js';
import { BOOT_AREA, firstWriteOutside, isZero } from './test-memory.js';

const mem64 = (): GuestMemory => GuestMemory.create(64 * MiB, { backing: 'shared' });
const load = (memory: GuestMemory, spec: BzImageSpec = {}, extra: { initrd?: Uint8Array; cmdline?: string; rsdp?: number } = {}) =>
  loadBzImage(memory, { kernel: buildBzImage(spec), cmdline: extra.cmdline ?? 'console=ttyS0', initrd: extra.initrd, rsdp: extra.rsdp, name: 'kernel.img', initrdName: 'initrd.img' });
const loaderError = (code: string, message: RegExp) => (e: unknown): boolean =>
  e instanceof LoaderError && e.code === code && message.test(e.message) && !e.message.includes('\n');

test('the protected-mode kernel lands at pref_address and the entry is long mode at +0x200, RSI = zero page', () => {
  const memory = mem64();
  const image = buildBzImage({ prefAddress: 0x200000, initSize: 0x400000 });
  const r = loadBzImage(memory, { kernel: image, cmdline: 'console=ttyS0', name: 'k', initrdName: 'i' });
  assert.equal(r.loadAddress, 0x200000);
  assert.equal(r.kernelEnd, 0x600000);
  // setup_sects 4 -> the protected-mode part starts at 5 * 512 in the file.
  assert.deepEqual(memory.read(0x200000, image.length - 0xa00), image.subarray(0xa00));
  assert.equal(r.entry.regs.rip, 0x200200n);
  assert.equal(r.entry.regs.rsi, BigInt(BOOT_ZERO_PAGE));
  assert.equal(r.entry.sregs.cs.selector, SEL_CODE64);
  assert.ok(r.entry.sregs.cs.l);
  assert.ok(r.entry.sregs.efer & BigInt(EFER.LMA));
  assert.ok(r.entry.sregs.cr0 & BigInt(CR0.PG));
  // The whole init_size window must be identity-mapped: the last 2 MiB page below 1 GiB is.
  assert.equal(memory.readU64(BOOT_PD_LOW + 511 * 8), BigInt(BOOT_IDENTITY_MAP_END - 2 * MiB) | 0x83n);
  memory.close();
});

test('boot_params: the setup header is copied and the loader fields are set per boot.rst', () => {
  const memory = mem64();
  const image = buildBzImage({ prefAddress: 0x1000000, initSize: 0x800000 });
  const initrd = new Uint8Array(10000).fill(0x5a);
  const r = loadBzImage(memory, { kernel: image, cmdline: 'root=/dev/vda quiet', initrd, rsdp: 0xe0000, name: 'k', initrdName: 'i' });
  const zp = memory.read(BOOT_ZERO_PAGE, 0x1000);
  const dv = new DataView(zp.buffer);
  // Untouched header bytes are the image's (0x1f1 up to 0x202 + image[0x201]).
  for (const off of [HDR.setupSects, HDR.syssize, HDR.bootFlag, HDR.header, HDR.version, HDR.initrdAddrMax,
    HDR.kernelAlignment, HDR.relocatableKernel, HDR.xloadflags, HDR.cmdlineSize, HDR.payloadOffset, HDR.payloadLength,
    HDR.prefAddress, HDR.initSize]) {
    assert.equal(zp[off], image[off], `byte at 0x${off.toString(16)}`);
  }
  assert.equal(dv.getUint16(HDR.bootFlag, true), 0xaa55);
  assert.equal(dv.getUint32(HDR.header, true), 0x53726448);
  // Nothing before the header (the sentinel at 0x1ef stays 0) or after it.
  assert.ok(zp.subarray(0, HDR.setupSects).every((b, i) => b === 0 || (i >= BP.acpiRsdpAddr && i < BP.acpiRsdpAddr + 8) || (i >= BP.e820Entries && i < BP.e820Entries + 1)));
  assert.equal(zp[BP.sentinel], 0);
  // Loader-written fields.
  assert.equal(dv.getUint16(HDR.vidMode, true), 0xffff);
  assert.equal(zp[HDR.typeOfLoader], 0xff);
  assert.equal(zp[HDR.loadflags], 0x81); // LOADED_HIGH | CAN_USE_HEAP
  assert.equal(dv.getUint16(HDR.heapEndPtr, true), 0xfe00);
  assert.equal(dv.getUint32(HDR.code32Start, true), 0x1000000);
  assert.equal(dv.getUint32(HDR.cmdLinePtr, true), BOOT_CMDLINE);
  assert.equal(dv.getUint32(BP.extCmdLinePtr, true), 0);
  assert.equal(dv.getUint32(HDR.ramdiskImage, true), r.initrd!.addr);
  assert.equal(dv.getUint32(HDR.ramdiskSize, true), 10000);
  assert.equal(dv.getUint32(BP.extRamdiskImage, true), 0);
  assert.equal(dv.getUint32(BP.extRamdiskSize, true), 0);
  assert.equal(dv.getBigUint64(BP.acpiRsdpAddr, true), 0xe0000n);
  assert.equal(dv.getBigUint64(HDR.setupData, true), 0n);
  // e820 at 0x2d0: 20-byte entries {u64 addr, u64 size, u32 type}.
  assert.equal(zp[BP.e820Entries], 3);
  const e820 = [0, 1, 2].map((i) => ({
    addr: Number(dv.getBigUint64(BP.e820Table + 20 * i, true)),
    size: Number(dv.getBigUint64(BP.e820Table + 20 * i + 8, true)),
    type: dv.getUint32(BP.e820Table + 20 * i + 16, true),
  }));
  assert.deepEqual(e820, [
    { addr: 0, size: 0x9fc00, type: E820_RAM },
    { addr: 0x9fc00, size: 0x60400, type: E820_RESERVED },
    { addr: 0x100000, size: 63 * MiB, type: E820_RAM },
  ]);
  assert.ok(zp.subarray(BP.e820Table + 60).every((b) => b === 0));
  // The command line is NUL-terminated at 0x20000.
  assert.equal(new TextDecoder().decode(memory.read(BOOT_CMDLINE, 20)), 'root=/dev/vda quiet\0');
  memory.close();
});

test('a hostile header cannot preset setup_data, hardware_subarch or loader IDs', () => {
  const image = buildBzImage();
  const dv = new DataView(image.buffer);
  dv.setBigUint64(HDR.setupData, 0x123456n, true);
  dv.setUint32(HDR.hardwareSubarch, 2, true);
  dv.setBigUint64(HDR.hardwareSubarchData, 7n, true);
  image[HDR.loadflags] = 0xff;
  image[HDR.extLoaderType] = 9;
  const zp = buildZeroPage(image, parseSetupHeader(image, 'k'), { loadAddress: 0x200000, cmdline: BOOT_CMDLINE, rsdp: 0, e820: [] });
  const zdv = new DataView(zp.buffer);
  assert.equal(zdv.getBigUint64(HDR.setupData, true), 0n);
  assert.equal(zdv.getUint32(HDR.hardwareSubarch, true), 0);
  assert.equal(zdv.getBigUint64(HDR.hardwareSubarchData, true), 0n);
  assert.equal(zp[HDR.loadflags], 0x81);
  assert.equal(zp[HDR.extLoaderType], 0);
  const tooMany = Array.from({ length: E820_MAX_ZEROPAGE + 1 }, (_, i) => ({ addr: i * 4096, size: 4096, type: 1 }));
  assert.throws(() => buildZeroPage(image, parseSetupHeader(image, 'k'), { loadAddress: 0x200000, cmdline: 0, rsdp: 0, e820: tooMany }), /at most 128/);
});

test('the header copy stops where the image says its header ends, and at 0x290', () => {
  const short = buildBzImage({ headerLength: 0x66 }); // ends at 0x268: no kernel_info_offset
  new DataView(short.buffer).setUint32(0x268, 0xabcdef01, true);
  const zp = buildZeroPage(short, parseSetupHeader(short, 'k'), { loadAddress: 0x200000, cmdline: 0, rsdp: 0, e820: [] });
  assert.equal(new DataView(zp.buffer).getUint32(0x268, true), 0);
  const long = buildBzImage({ headerLength: 0xff });
  long.fill(0x77, 0x270, 0x301);
  const zp2 = buildZeroPage(long, parseSetupHeader(long, 'k'), { loadAddress: 0x200000, cmdline: 0, rsdp: 0, e820: [] });
  assert.equal(zp2[0x28f], 0x77);
  assert.equal(zp2[0x290], 0);
});

test('load address: pref_address, aligned up for a relocatable kernel', () => {
  const hdr = (spec: BzImageSpec) => parseSetupHeader(buildBzImage(spec), 'k');
  assert.equal(loadAddress(hdr({ prefAddress: 0x1000000 })), 0x1000000);
  assert.equal(loadAddress(hdr({ prefAddress: 0x1000001, kernelAlignment: 0x200000 })), 0x1200000);
  assert.equal(loadAddress(hdr({ prefAddress: 0x1000001, relocatable: false })), 0x1000001);
  assert.equal(loadAddress(hdr({ prefAddress: 0x1000001, kernelAlignment: 0x300000 })), 0x1000001);
  assert.equal(loadAddress(hdr({ prefAddress: 0, relocatable: false })), 0x100000);
  assert.equal(loadAddress(hdr({ prefAddress: 0 })), 0x200000);
});

test('setup_sects 0 means 4', () => {
  const memory = mem64();
  const image = buildBzImage({ setupSects: 0 });
  assert.equal(parseSetupHeader(image, 'k').setupSize, 5 * 512);
  loadBzImage(memory, { kernel: image, cmdline: '', name: 'k', initrdName: 'i' });
  assert.deepEqual(memory.read(0x200000, 16), image.subarray(0xa00, 0xa10));
  memory.close();
});

test('initrd: page aligned, as high as initrd_addr_max, RAM and 3 GiB allow', () => {
  const memory = mem64();
  const initrd = new Uint8Array(5000).fill(1);
  // RAM ends first: 64 MiB.
  assert.deepEqual(load(memory, {}, { initrd }).initrd, { addr: 64 * MiB - 0x2000, size: 5000 });
  assert.deepEqual(memory.read(64 * MiB - 0x2000, 5000), initrd);
  // initrd_addr_max is the last byte it may use.
  assert.deepEqual(load(memory, { initrdAddrMax: 0x1ffffff }, { initrd }).initrd, { addr: 0x2000000 - 0x2000, size: 5000 });
  assert.deepEqual(load(memory, { initrdAddrMax: 0x1ffffff }, { initrd: new Uint8Array(8192) }).initrd, { addr: 0x2000000 - 0x2000, size: 8192 });
  memory.close();
  const big = GuestMemory.create(LOW_RAM_TOP + 64 * MiB, { backing: 'shared' });
  // Never above 3 GiB, even when the kernel would take it.
  assert.deepEqual(load(big, { initrdAddrMax: 0xffffffff }, { initrd }).initrd, { addr: LOW_RAM_TOP - 0x2000, size: 5000 });
  big.close();
});

test('initrd: too large for the room above the kernel is a LoaderError naming the sizes', () => {
  const memory = mem64();
  // Kernel window 0x200000..0x600000; 0x600000..0x1000000 free below initrd_addr_max 0xffffff.
  assert.equal(load(memory, { initrdAddrMax: 0xffffff }, { initrd: new Uint8Array(0xa00000) }).initrd!.addr, 0x600000);
  assert.throws(() => load(memory, { initrdAddrMax: 0xffffff }, { initrd: new Uint8Array(0xa00001) }),
    loaderError('does-not-fit', /^initrd\.img: the initrd is 10485761 bytes but only 10485760 bytes are free between the kernel's end 0x600000 and 0x1000000 \(the kernel's initrd_addr_max 0xffffff\)$/));
  assert.throws(() => load(memory, {}, { initrd: new Uint8Array(0) }), loaderError('bad-option', /initrd is empty/));
  memory.close();
});

test('command line: at most cmdline_size bytes, no NULs; UTF-8 counts bytes', () => {
  const memory = mem64();
  load(memory, { cmdlineSize: 10 }, { cmdline: '0123456789' });
  assert.deepEqual([...memory.read(BOOT_CMDLINE, 11)], [...new TextEncoder().encode('0123456789'), 0]);
  assert.throws(() => load(memory, { cmdlineSize: 10 }, { cmdline: '0123456789a' }),
    loaderError('bad-option', /^the kernel command line is 11 bytes but kernel\.img \(cmdline_size\) accepts at most 10$/));
  assert.throws(() => load(memory, { cmdlineSize: 10 }, { cmdline: 'é'.repeat(6) }), /is 12 bytes/);
  assert.throws(() => load(memory, {}, { cmdline: 'a\0b' }), loaderError('bad-option', /contains a NUL/));
  // A header asking for more than our 64 KiB area gets the area's limit.
  assert.throws(() => load(memory, { cmdlineSize: 0xffffffff }, { cmdline: 'x'.repeat(0x10000) }), /the command line area accepts at most 65535/);
  memory.close();
});

test('kernel placement: below 1 MiB, past RAM or past the identity map is a LoaderError', () => {
  const memory = mem64();
  assert.throws(() => load(memory, { prefAddress: 0x80000, relocatable: false }), loaderError('does-not-fit', /^kernel\.img: the kernel needs 0x80000\.\.0x480000/));
  assert.throws(() => load(memory, { prefAddress: 0x3e00000, initSize: 0x200001 }), loaderError('does-not-fit', /needs 0x3e00000\.\.0x4000001 .* guest RAM for it is 0x100000\.\.0x4000000/));
  assert.equal(load(memory, { prefAddress: 0x3e00000, initSize: 0x200000 }).kernelEnd, 64 * MiB);
  assert.throws(() => load(memory, { prefAddress: 2 ** 40 }), loaderError('does-not-fit', /needs 0x10000000000/));
  memory.close();
  const big = GuestMemory.create(2 * GiB, { backing: 'shared' });
  assert.throws(() => load(big, { prefAddress: 0x3fe00000, initSize: 0x400000 }), /guest RAM for it is 0x100000\.\.0x40000000/);
  big.close();
});

test('RSDP option: a 32-bit address or nothing', () => {
  const memory = mem64();
  load(memory, {}, {});
  assert.equal(memory.readU64(BOOT_ZERO_PAGE + BP.acpiRsdpAddr), 0n);
  for (const rsdp of [-1, 2 ** 32, 1.5]) assert.throws(() => load(memory, {}, { rsdp }), loaderError('bad-option', /RSDP/));
  memory.close();
});

test('malformed and unsupported images: one clear line each, and guest memory untouched', () => {
  const memory = mem64();
  const truncate = (n: number) => buildBzImage().subarray(0, n);
  const withHeader = (f: (dv: DataView, img: Uint8Array) => void) => {
    const img = buildBzImage();
    f(new DataView(img.buffer), img);
    return img;
  };
  const cases: Array<[Uint8Array, string, RegExp]> = [
    [new Uint8Array(100), 'not-a-kernel', /^kernel\.img: not a bzImage/],
    [truncate(0x204), 'not-a-kernel', /not a bzImage/],
    [truncate(0x250), 'malformed', /^kernel\.img: truncated: the setup header needs bytes 0x1f1\.\.0x26c but the file is 592 bytes$/],
    [truncate(0xa00), 'malformed', /truncated: the setup code is 2560 bytes but the file is only 2560 bytes/],
    [truncate(0xa80), 'malformed', /truncated: the header promises 272 bytes of protected-mode kernel, the file has 128/],
    [withHeader((dv) => dv.setUint16(0x206, 0x020b, true)), 'unsupported', /boot protocol 2\.11 is too old; the 64-bit entry point needs 2\.12 or newer/],
    [withHeader((dv) => dv.setUint16(0x206, 0x0100, true)), 'unsupported', /boot protocol 1\.00 is too old/],
    [withHeader((dv) => dv.setUint16(0x236, 0x7e, true)), 'unsupported', /not a 64-bit kernel \(xloadflags lacks XLF_KERNEL_64\)/],
    [withHeader((_, img) => (img[0x211] = 0)), 'unsupported', /a zImage \(loaded below 1 MiB\) is not supported/],
    [withHeader((_, img) => (img[0x201] = 0x10)), 'malformed', /the setup header ends at 0x212, too short for protocol 2\.15/],
    [withHeader((dv) => dv.setUint32(0x24c, 0x1000, true)), 'malformed', /the compressed payload \(4096 bytes at 0x100\) runs past the end of the kernel \(272 bytes\)/],
    [withHeader((dv) => dv.setUint32(0x248, 0xffffffff, true)), 'malformed', /runs past the end of the kernel/],
    [withHeader((_, img) => (img[0x1f1] = 0xff)), 'malformed', /truncated: the setup code is 131072 bytes/],
  ];
  for (const [kernel, code, message] of cases) {
    assert.throws(() => loadBzImage(memory, { kernel, cmdline: '', name: 'kernel.img', initrdName: 'i' }), loaderError(code, message), message.source);
  }
  assert.ok(isZero(memory, 0, 64 * MiB));
  memory.close();
});

test('a load that fails on its command line, initrd or RSDP writes nothing', () => {
  const memory = mem64();
  const tries: Array<() => unknown> = [
    () => load(memory, { cmdlineSize: 3 }, { cmdline: 'abcd' }),
    () => load(memory, {}, { initrd: new Uint8Array(70 * MiB) }),
    () => load(memory, {}, { rsdp: -5 }),
  ];
  for (const attempt of tries) assert.throws(attempt, LoaderError);
  assert.ok(isZero(memory, 0, 64 * MiB));
  memory.close();
});

test('a load writes only the boot area, the command line, the kernel window and the initrd', () => {
  const memory = mem64();
  const r = load(memory, { tail: 0x3000 }, { initrd: new Uint8Array(3000).fill(9), cmdline: 'x' });
  assert.equal(firstWriteOutside(memory, [BOOT_AREA, { addr: BOOT_CMDLINE, size: 2 }, { addr: r.loadAddress, size: r.kernelEnd - r.loadAddress }, r.initrd!]), -1);
  memory.close();
});
