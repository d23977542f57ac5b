import assert from 'node:assert/strict';
import test from 'node:test';
import { GuestMemory } from '../memory/guest-memory.js';
import { LOW_RAM_TOP, MiB } from '../memory/layout.js';
import { CR0 } from '../hv/registers.js';
import { BOOT_CMDLINE, BOOT_START_INFO, SEL_CODE32 } from './cpu-state.js';
import { parseElf } from './elf.js';
import { LoaderError } from './errors.js';
import { E820_RAM, E820_RESERVED } from './memmap.js';
import { HVM_START_MAGIC, MEMMAP_ENTRY_SIZE, SI, START_INFO_SIZE, buildStartInfo, loadPvh } from './pvh.js';
import { type ElfSpec, buildElf, pvhNote, sampleVmlinux } from './test-images.js';
import { BOOT_AREA, firstWriteOutside, isZero } from './test-memory.js';

const mem64 = (): GuestMemory => GuestMemory.create(64 * MiB, { backing: 'shared' });
const pvh = (memory: GuestMemory, kernel: Uint8Array, extra: { initrd?: Uint8Array; cmdline?: string; rsdp?: number } = {}) =>
  loadPvh(memory, { kernel, cmdline: extra.cmdline ?? 'console=hvc0', initrd: extra.initrd, rsdp: extra.rsdp, name: 'vmlinux', initrdName: 'initrd.img' });
const loaderError = (code: string, message: RegExp) => (e: unknown): boolean =>
  e instanceof LoaderError && e.code === code && message.test(e.message) && !e.message.includes('\n');

test('ELF64: PT_LOADs at p_paddr, bss zeroed, 32-bit entry at the PVH note with EBX = start info', () => {
  const memory = mem64();
  // Dirty the bss first: the loader must clear it.
  memory.fill(0x1000000 + 0x3000, 0x2000, 0xee);
  const kernel = sampleVmlinux(0x1000000, 0x3000, 0x2000);
  const r = pvh(memory, kernel);
  const elf = parseElf(kernel, 'k');
  assert.equal(elf.bits, 64);
  assert.equal(elf.pvhEntry, 0x1000050);
  assert.deepEqual(memory.read(0x1000000, 0x3000), kernel.subarray(elf.segments[0]!.offset, elf.segments[0]!.offset + 0x3000));
  assert.ok(isZero(memory, 0x1003000, 0x2000));
  assert.equal(r.kernelEnd, 0x1005000);
  assert.equal(r.entryPoint, 0x1000050);
  assert.equal(r.entry.regs.rip, 0x1000050n);
  assert.equal(r.entry.regs.rbx, BigInt(BOOT_START_INFO));
  assert.equal(r.entry.sregs.cs.selector, SEL_CODE32);
  assert.equal(r.entry.sregs.cr0 & BigInt(CR0.PG), 0n);
  assert.ok(r.entry.sregs.cr0 & BigInt(CR0.PE));
  memory.close();
});

test('hvm_start_info: version 1 fields at the offsets of start_info.h, memmap after it, initrd as module 0', () => {
  const memory = mem64();
  const initrd = new Uint8Array(7000).fill(0x42);
  const r = pvh(memory, sampleVmlinux(), { initrd, cmdline: 'console=hvc0 root=/dev/vda', rsdp: 0xf0000 });
  const si = (off: number, size: 4 | 8): number =>
    size === 4 ? memory.readU32(BOOT_START_INFO + off) : Number(memory.readU64(BOOT_START_INFO + off));
  assert.equal(si(SI.magic, 4), HVM_START_MAGIC);
  assert.equal(si(SI.magic, 4), 0x336ec578);
  assert.equal(si(SI.version, 4), 1);
  assert.equal(si(SI.flags, 4), 0);
  assert.equal(si(SI.cmdlinePaddr, 8), BOOT_CMDLINE);
  assert.equal(si(SI.rsdpPaddr, 8), 0xf0000);
  assert.equal(si(SI.memmapPaddr, 8), BOOT_START_INFO + 0x38);
  assert.equal(si(SI.memmapEntries, 4), 3);
  assert.equal(si(SI.reserved, 4), 0);
  const memmap = [0, 1, 2].map((i) => {
    const at = BOOT_START_INFO + START_INFO_SIZE + i * MEMMAP_ENTRY_SIZE;
    return { addr: Number(memory.readU64(at)), size: Number(memory.readU64(at + 8)), type: memory.readU32(at + 16), reserved: memory.readU32(at + 20) };
  });
  assert.deepEqual(memmap, [
    { addr: 0, size: 0x9fc00, type: E820_RAM, reserved: 0 },
    { addr: 0x9fc00, size: 0x60400, type: E820_RESERVED, reserved: 0 },
    { addr: 0x100000, size: 63 * MiB, type: E820_RAM, reserved: 0 },
  ]);
  // Module list: one hvm_modlist_entry {paddr, size, cmdline_paddr, reserved} right after the memmap.
  assert.equal(si(SI.nrModules, 4), 1);
  const mod = si(SI.modlistPaddr, 8);
  assert.equal(mod, BOOT_START_INFO + 0x38 + 3 * 24);
  assert.equal(Number(memory.readU64(mod)), r.initrd!.addr);
  assert.equal(Number(memory.readU64(mod + 8)), 7000);
  assert.equal(memory.readU64(mod + 16), 0n);
  assert.equal(memory.readU64(mod + 24), 0n);
  assert.equal(r.initrd!.addr, 64 * MiB - 0x2000);
  assert.deepEqual(memory.read(r.initrd!.addr, 7000), initrd);
  assert.equal(new TextDecoder().decode(memory.read(BOOT_CMDLINE, 27)), 'console=hvc0 root=/dev/vda\0');
  memory.close();
});

test('without an initrd there are no modules; a stale start info page is cleared', () => {
  const memory = mem64();
  memory.fill(BOOT_START_INFO, 0x1000, 0xff);
  pvh(memory, sampleVmlinux());
  assert.equal(memory.readU32(BOOT_START_INFO + SI.nrModules), 0);
  assert.equal(memory.readU64(BOOT_START_INFO + SI.modlistPaddr), 0n);
  assert.equal(memory.readU64(BOOT_START_INFO + SI.rsdpPaddr), 0n);
  assert.ok(isZero(memory, BOOT_START_INFO + 0x38 + 3 * 24, 0x1000 - 0x38 - 3 * 24));
  assert.throws(() => buildStartInfo({ cmdline: 0, rsdp: 0, memmap: Array.from({ length: 200 }, () => ({ addr: 0, size: 1, type: 1 })) }),
    /the memory map has 200 entries but the hvm_start_info page holds at most 167/);
  memory.close();
});

test('ELF32 with a 4-byte PVH note, several segments, notes before and after', () => {
  const memory = mem64();
  const a = new Uint8Array(0x1000).fill(1);
  const b = new Uint8Array(0x800).fill(2);
  const kernel = buildElf({
    bits: 32,
    segments: [{ paddr: 0x100000, data: a }, { paddr: 0x300000, data: b, memsz: 0x1000 }],
    notes: [{ name: 'Xen', type: 6, desc: new Uint8Array([0x6c, 0x69, 0x6e, 0x75, 0x78, 0]) }, pvhNote(0x100010, 4), { name: 'Linux', type: 1, desc: new Uint8Array(4) }],
  });
  const r = pvh(memory, kernel);
  assert.equal(r.entryPoint, 0x100010);
  assert.equal(r.kernelEnd, 0x301000);
  assert.deepEqual(memory.read(0x100000, 0x1000), a);
  assert.deepEqual(memory.read(0x300000, 0x800), b);
  memory.close();
});

test('initrd and command line limits', () => {
  const memory = mem64();
  // The kernel ends at 0x1005000; RAM at 64 MiB.
  const room = 64 * MiB - 0x1005000;
  assert.equal(pvh(memory, sampleVmlinux(), { initrd: new Uint8Array(room) }).initrd!.addr, 0x1005000);
  assert.throws(() => pvh(memory, sampleVmlinux(), { initrd: new Uint8Array(room + 1) }),
    loaderError('does-not-fit', /^initrd\.img: the initrd is 50311169 bytes but only 50311168 bytes are free between the kernel's end 0x1005000 and 0x4000000 \(the end of low RAM\)$/));
  pvh(memory, sampleVmlinux(), { cmdline: 'x'.repeat(0xffff) });
  assert.equal(memory.readU8(BOOT_CMDLINE + 0xffff), 0);
  assert.throws(() => pvh(memory, sampleVmlinux(), { cmdline: 'x'.repeat(0x10000) }), loaderError('bad-option', /65536 bytes but the command line area accepts at most 65535/));
  memory.close();
  const big = GuestMemory.create(LOW_RAM_TOP + 64 * MiB, { backing: 'shared' });
  assert.equal(pvh(big, sampleVmlinux(), { initrd: new Uint8Array(100) }).initrd!.addr, LOW_RAM_TOP - 0x1000);
  big.close();
});

test('malformed, unsupported and misplaced ELFs: one clear line each, and guest memory untouched', () => {
  const memory = mem64();
  const good = sampleVmlinux();
  const patch = (f: (dv: DataView, img: Uint8Array) => void, img = good.slice()) => {
    f(new DataView(img.buffer), img);
    return img;
  };
  const elf = (spec: Partial<ElfSpec>) => buildElf({ segments: [{ paddr: 0x1000000, data: new Uint8Array(0x100) }], notes: [pvhNote(0x1000000)], ...spec });
  const ph0 = 64; // first program header of an ELF64
  // The Xen note follows a 36-byte GNU note: {namesz, descsz, type, "Xen\0", desc}.
  const xen = Number(new DataView(good.buffer).getBigUint64(ph0 + 56 + 8, true)) + 36;
  const cases: Array<[Uint8Array, string, RegExp]> = [
    [elf({ notes: [] }), 'no-pvh-note', /^vmlinux: the ELF kernel has no PVH entry point \(no XEN_ELFNOTE_PHYS32_ENTRY note; build it with CONFIG_PVH=y\)$/],
    [elf({ notes: [{ name: 'Xem', type: 18, desc: new Uint8Array(8) }] }), 'no-pvh-note', /no PVH entry point/],
    [good.subarray(0, 40), 'malformed', /^vmlinux: truncated: the ELF header needs bytes 0x0\.\.0x40 but the file is 40 bytes$/],
    [good.subarray(0, 100), 'malformed', /truncated: the program header table needs bytes 0x40\.\.0xb0/],
    [good.subarray(0, 0x200), 'malformed', /truncated: segment 0 needs bytes/],
    [patch((_, i) => (i[4] = 3)), 'malformed', /unknown ELF class 3/],
    [patch((_, i) => (i[5] = 2)), 'unsupported', /a big-endian ELF cannot be an x86 kernel/],
    [patch((dv) => dv.setUint16(18, 183, true)), 'unsupported', /ELF64 for machine 183 is not an x86 kernel/],
    [patch((dv) => dv.setUint16(16, 3, true)), 'unsupported', /not an executable ELF \(e_type 3\)/],
    [patch((dv) => dv.setUint16(56, 0, true)), 'malformed', /the ELF has no program headers/],
    [patch((dv) => dv.setUint16(56, 0xffff, true)), 'unsupported', /more than 65534 program headers/],
    [patch((dv) => dv.setUint16(54, 32, true)), 'malformed', /program headers of 32 bytes are too small \(need 56\)/],
    [patch((dv) => dv.setUint32(ph0, 6, true)), 'malformed', /the ELF has no PT_LOAD segment to load/],
    [patch((dv) => dv.setBigUint64(ph0 + 40, 0x10n, true)), 'malformed', /segment 0 has memsz 0x10 below its filesz 0x3000/],
    [patch((dv) => dv.setBigUint64(ph0 + 8, 0xffffffffffffffffn, true)), 'malformed', /truncated: segment 0 needs bytes/],
    [patch((dv) => dv.setUint32(xen, 0x1000, true)), 'malformed', /an ELF note at 0x[0-9a-f]+ runs past the end of its PT_NOTE segment/],
    [patch((dv) => dv.setUint32(xen + 4, 0x1000, true)), 'malformed', /an ELF note at 0x[0-9a-f]+ runs past the end of its PT_NOTE segment/],
    [patch((dv) => dv.setUint32(xen + 4, 2, true)), 'malformed', /the PVH entry point note has 2 bytes of data \(expected 4 or 8\)/],
    [patch((dv) => dv.setUint32(xen + 20, 1, true)), 'malformed', /the PVH entry point note gives an address above 4 GiB/],
    [elf({ notes: [pvhNote(0x2000000)] }), 'malformed', /the PVH entry point 0x2000000 is not inside a loaded segment/],
    [elf({ segments: [{ paddr: 0xf0000, data: new Uint8Array(0x100) }], notes: [pvhNote(0xf0000)] }), 'does-not-fit', /^vmlinux: a segment needs 0xf0000\.\.0xf0100 but guest RAM for the kernel is 0x100000\.\.0x4000000$/],
    [elf({ segments: [{ paddr: 0x3fff000, data: new Uint8Array(0x100), memsz: 0x1001 }], notes: [pvhNote(0x3fff000)] }), 'does-not-fit', /a segment needs 0x3fff000\.\.0x4000001/],
    [elf({ segments: [{ paddr: 2 ** 40, data: new Uint8Array(0x100) }], notes: [pvhNote(0)] }), 'does-not-fit', /a segment needs 0x10000000000/],
  ];
  for (const [kernel, code, message] of cases) {
    assert.throws(() => pvh(memory, kernel), loaderError(code, message), message.source);
  }
  assert.ok(isZero(memory, 0, 64 * MiB));
  memory.close();
});

test('a load that fails on its command line, initrd or RSDP writes nothing', () => {
  const memory = mem64();
  const tries: Array<() => unknown> = [
    () => pvh(memory, sampleVmlinux(), { cmdline: 'x'.repeat(0x10000) }),
    () => pvh(memory, sampleVmlinux(), { initrd: new Uint8Array(60 * MiB) }),
    () => pvh(memory, sampleVmlinux(), { rsdp: 2 ** 32 }),
  ];
  for (const attempt of tries) assert.throws(attempt, LoaderError);
  assert.ok(isZero(memory, 0, 64 * MiB));
  memory.close();
});

test('a load writes only the boot area, the command line, the segments and the initrd', () => {
  const memory = mem64();
  const r = pvh(memory, sampleVmlinux(0x2000000), { initrd: new Uint8Array(100).fill(1), cmdline: 'ab' });
  assert.equal(firstWriteOutside(memory, [BOOT_AREA, { addr: BOOT_CMDLINE, size: 3 }, { addr: 0x2000000, size: r.kernelEnd - 0x2000000 }, r.initrd!]), -1);
  memory.close();
});
