import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { GiB, HIGH_RAM_BASE, LOW_RAM_TOP, MiB, ramLayout } from '../memory/layout.js';
import { LoaderError } from './errors.js';
import { E820_RAM, E820_RESERVED, buildMemoryMap, checkMapSize, describeEntry } from './memmap.js';

test('small machine: low RAM split around the 0x9fc00..1 MiB firmware area', () => {
  assert.deepEqual(buildMemoryMap(ramLayout(64 * MiB)), [
    { addr: 0, size: 0x9fc00, type: E820_RAM },
    { addr: 0x9fc00, size: 0x100000 - 0x9fc00, type: E820_RESERVED },
    { addr: 0x100000, size: 63 * MiB, type: E820_RAM },
  ]);
});

test('large machine: RAM above 4 GiB, and the caller\'s reserved ranges (ECAM) in the hole', () => {
  const map = buildMemoryMap(ramLayout(6 * GiB), [{ addr: 0xe0000000, size: 256 * MiB }]);
  assert.deepEqual(map, [
    { addr: 0, size: 0x9fc00, type: E820_RAM },
    { addr: 0x9fc00, size: 0x60400, type: E820_RESERVED },
    { addr: 0x100000, size: LOW_RAM_TOP - 0x100000, type: E820_RAM },
    { addr: 0xe0000000, size: 256 * MiB, type: E820_RESERVED },
    { addr: HIGH_RAM_BASE, size: 3 * GiB, type: E820_RAM },
  ]);
  assert.equal(describeEntry(map[1]!), '0x9fc00-0xfffff reserved');
});

test('reserved ranges inside RAM cut it, overlapping ones merge', () => {
  const map = buildMemoryMap(ramLayout(64 * MiB), [
    { addr: 0x2000000, size: 0x100000 },
    { addr: 0x2080000, size: 0x100000 },
    { addr: 0xf0000, size: 0x20000 },
  ]);
  assert.deepEqual(map, [
    { addr: 0, size: 0x9fc00, type: E820_RAM },
    { addr: 0x9fc00, size: 0x110000 - 0x9fc00, type: E820_RESERVED },
    { addr: 0x110000, size: 0x2000000 - 0x110000, type: E820_RAM },
    { addr: 0x2000000, size: 0x180000, type: E820_RESERVED },
    { addr: 0x2180000, size: 64 * MiB - 0x2180000, type: E820_RAM },
  ]);
});

test('invalid reserved ranges and oversized maps are LoaderErrors', () => {
  for (const r of [{ addr: -1, size: 10 }, { addr: 0, size: 0 }, { addr: 0.5, size: 1 }, { addr: 2 ** 53, size: 1 }]) {
    assert.throws(() => buildMemoryMap(ramLayout(64 * MiB), [r]), (e: unknown) => e instanceof LoaderError && e.code === 'bad-option');
  }
  const entries = Array.from({ length: 5 }, (_, i) => ({ addr: i * 0x1000, size: 0x1000, type: E820_RAM }));
  assert.throws(() => checkMapSize(entries, 4, 'boot_params'), /the memory map has 5 entries but boot_params holds at most 4/);
});

test('property: the map is sorted, disjoint, covers all RAM, and reserves exactly what was asked', () => {
  const range = fc.record({ addr: fc.integer({ min: 0, max: 8 * GiB }), size: fc.integer({ min: 1, max: GiB }) });
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2048 }), fc.array(range, { maxLength: 6 }), (mib, reserved) => {
      const regions = ramLayout(mib * 4 * MiB);
      const map = buildMemoryMap(regions, reserved);
      for (let i = 1; i < map.length; i++) assert.ok(map[i - 1]!.addr + map[i - 1]!.size <= map[i]!.addr);
      const typeAt = (a: number): number | undefined => map.find((e) => a >= e.addr && a < e.addr + e.size)?.type;
      const probes = [0, 0x9fbff, 0x9fc00, 0xfffff, 0x100000, ...reserved.flatMap((r) => [r.addr, r.addr + r.size - 1, r.addr + r.size]),
        ...regions.flatMap((r) => [r.gpa, r.gpa + r.size - 1, r.gpa + r.size])];
      for (const a of probes) {
        const inReserved = (a >= 0x9fc00 && a < 0x100000) || reserved.some((r) => a >= r.addr && a < r.addr + r.size);
        const inRam = regions.some((r) => a >= r.gpa && a < r.gpa + r.size);
        assert.equal(typeAt(a), inReserved ? E820_RESERVED : inRam ? E820_RAM : undefined, `at 0x${a.toString(16)}`);
      }
    }),
    { numRuns: 300 },
  );
});
