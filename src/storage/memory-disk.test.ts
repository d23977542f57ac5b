import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeDiskContract, describeReadOnlyContract, pattern } from './disk-contract.js';
import { MemoryDisk } from './memory-disk.js';
import { ReadOnlyDisk } from './readonly-disk.js';

describeDiskContract('MemoryDisk', { make: async (size) => ({ disk: new MemoryDisk(size) }) });
describeReadOnlyContract('ReadOnlyDisk over a MemoryDisk', async (contents) => ({ disk: new ReadOnlyDisk(new MemoryDisk(contents.length, { contents })) }));

describe('MemoryDisk', () => {
  it('takes memory only for what is written, and gives it back on whole-chunk zeroing', async () => {
    const disk = new MemoryDisk(1024 ** 4); // 1 TiB of address space
    assert.equal(disk.allocated, 0);
    await disk.write(5 * 1024 ** 3 + 100, pattern(200, 1));
    assert.equal(disk.allocated, 64 * 1024);
    await disk.writeZeroes(5 * 1024 ** 3, 64 * 1024, true);
    assert.equal(disk.allocated, 0);
  });

  it('refuses a size that is not a whole number of sectors', () => {
    assert.throws(() => new MemoryDisk(1000), RangeError);
  });
});
