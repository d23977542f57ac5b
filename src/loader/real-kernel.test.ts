/**
 * The loader against a real distribution kernel. Set TSVMM_TEST_KERNEL to
 * a bzImage built with CONFIG_PVH=y (e.g. Debian's
 * /boot/vmlinuz-*-cloud-amd64); without it the test skips and says so.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { GuestMemory } from '../memory/guest-memory.js';
import { MiB } from '../memory/layout.js';
import { BOOT_START_INFO, BOOT_ZERO_PAGE } from './cpu-state.js';
import { parseElf } from './elf.js';
import { extractVmlinux, payloadFormat } from './extract.js';
import { loadLinux } from './linux.js';
import { XLF_KERNEL_64, bzImagePayload, parseSetupHeader } from './setup-header.js';

const path = process.env['TSVMM_TEST_KERNEL'];

test('a real bzImage: header, extracted vmlinux with the PVH note, and both boot paths', (t) => {
  if (!path) {
    t.skip('TSVMM_TEST_KERNEL is not set (point it at a bzImage built with CONFIG_PVH=y, e.g. Debian\'s vmlinuz-*-cloud-amd64)');
    return;
  }
  const kernel = new Uint8Array(readFileSync(path));
  const hdr = parseSetupHeader(kernel, path);
  assert.ok(hdr.version >= 0x020c);
  assert.ok(hdr.xloadflags & XLF_KERNEL_64);
  const format = payloadFormat(bzImagePayload(kernel, hdr));
  const start = performance.now();
  const vmlinux = extractVmlinux(kernel, { name: path });
  const ms = performance.now() - start;
  const elf = parseElf(vmlinux, `${path} (decompressed)`);
  assert.equal(elf.bits, 64);
  assert.ok(elf.pvhEntry !== undefined, 'the vmlinux has a PVH entry note');
  // The kernel is linked to run at the address its bzImage prefers.
  assert.equal(elf.segments[0]!.paddr, hdr.prefAddress);
  t.diagnostic(`${format} payload of ${hdr.payloadLength} bytes -> vmlinux of ${vmlinux.length} bytes in ${ms.toFixed(0)} ms (${(vmlinux.length / 1e6 / (ms / 1000)).toFixed(0)} MB/s)`);
  t.diagnostic(`protocol ${(hdr.version >> 8)}.${hdr.version & 0xff}, pref_address 0x${hdr.prefAddress.toString(16)}, init_size 0x${hdr.initSize.toString(16)}, PVH entry 0x${elf.pvhEntry!.toString(16)}`);

  const memory = GuestMemory.create(256 * MiB, { backing: 'shared' });
  try {
    const initrd = new Uint8Array(1 * MiB).fill(0x30);
    const pvh = loadLinux(memory, { kernel, initrd, cmdline: 'console=ttyS0', prefer: 'pvh' });
    assert.equal(pvh.kind, 'pvh-from-bzimage');
    assert.equal(pvh.entry.regs.rip, BigInt(elf.pvhEntry!));
    assert.equal(pvh.entry.regs.rbx, BigInt(BOOT_START_INFO));
    assert.ok(pvh.initrd!.addr >= pvh.kernelEnd);
    const bz = loadLinux(memory, { kernel, initrd, cmdline: 'console=ttyS0', prefer: 'bzimage' });
    assert.equal(bz.kind, 'bzimage');
    assert.equal(bz.entry.regs.rip, BigInt(hdr.prefAddress + 0x200));
    assert.equal(bz.entry.regs.rsi, BigInt(BOOT_ZERO_PAGE));
    assert.equal(bz.kernelEnd, hdr.prefAddress + hdr.initSize);
  } finally {
    memory.close();
  }
});
