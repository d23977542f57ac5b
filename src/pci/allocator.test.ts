import assert from 'node:assert/strict';
import test from 'node:test';
import { silentSink } from '../bus/log.js';
import { BarAllocator, IO_WINDOW, MMIO32_WINDOW, PHYS_ADDR_LIMIT, mmio64Window } from './allocator.js';
import { PciFunction } from './function.js';

const GiB = 2 ** 30;

test('the 64-bit window starts at 4 GiB or above RAM, 1 GiB aligned, and stays below the CPU address width', () => {
  assert.equal(mmio64Window(512 << 20).base, 4 * GiB);
  assert.equal(mmio64Window(4 * GiB + 2 * GiB + 4096).base, 7 * GiB);
  assert.equal(mmio64Window(4 * GiB + 2 * GiB + 4096).size, 64 * GiB);
  const huge = mmio64Window(PHYS_ADDR_LIMIT - 2 * GiB);
  assert.equal(huge.base + huge.size, PHYS_ADDR_LIMIT);
});

test('BARs are naturally aligned, memory BARs at least to a page, largest first; a full window is an error', () => {
  const alloc = new BarAllocator({ mmio32: { base: 0xc000_0000, size: 0x10_0000 }, mmio64: mmio64Window(0), io: IO_WINDOW });
  const fn = new PciFunction({ id: 'x' }, { vendorId: 1, deviceId: 2, classCode: 0 }, silentSink);
  const bar = { read: () => 0, write: () => {} };
  fn.addBar({ index: 0, kind: 'mem32', size: 0x100, ...bar });
  fn.addBar({ index: 1, kind: 'mem32', size: 0x4000, ...bar });
  fn.addBar({ index: 2, kind: 'mem64', size: 0x8000, ...bar });
  fn.addBar({ index: 4, kind: 'io', size: 0x20, ...bar });
  alloc.assign(fn);
  assert.equal(fn.barAddress(1), 0xc000_0000, 'the larger 32-bit BAR first');
  assert.equal(fn.barAddress(0), 0xc000_4000, 'a 256-byte BAR still gets its own page');
  assert.equal(fn.barAddress(2), 4 * GiB);
  assert.equal(fn.barAddress(4), 0x1000);
  assert.throws(() => alloc.allocate('mem32', 0x10_0000), /no room/);
  assert.throws(() => new BarAllocator({ mmio32: MMIO32_WINDOW }).allocate('io', 4), /no I\/O window/);
  assert.equal(new BarAllocator({ mmio32: MMIO32_WINDOW }).allocate('mem64', 0x1000), 0xc000_0000, 'without a 64-bit window 64-bit BARs go low');
});
