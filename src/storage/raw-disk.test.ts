import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeDiskContract, describeReadOnlyContract, pattern } from './disk-contract.js';
import { NodeImageFile } from './image-file.js';
import { RawDisk } from './raw-disk.js';

let dir = '';
let n = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsvmm-raw-test-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A new file with these contents, or sparse and this long. */
function newFile(contents: Uint8Array | number): string {
  const path = join(dir, `disk${n++}.img`);
  if (typeof contents !== 'number') {
    writeFileSync(path, contents);
    return path;
  }
  const fd = openSync(path, 'w');
  ftruncateSync(fd, contents);
  closeSync(fd);
  return path;
}

describeDiskContract('RawDisk', {
  make: async (size) => {
    const path = newFile(size);
    return { disk: await RawDisk.open(await NodeImageFile.open(path, true)), after: async () => rmSync(path) };
  },
});
describeReadOnlyContract('RawDisk opened read-only', async (contents) => {
  const path = newFile(contents);
  return { disk: await RawDisk.open(await NodeImageFile.open(path, false), { readOnly: true }), after: async () => rmSync(path) };
});

describe('RawDisk', () => {
  it('writes reach the file at the same offsets', async () => {
    const path = newFile(1 << 20);
    const disk = await RawDisk.open(await NodeImageFile.open(path, true));
    await disk.write(12345, pattern(1000, 4));
    await disk.flush();
    await disk.close();
    assert.deepEqual(new Uint8Array(readFileSync(path).subarray(12345, 13345)), pattern(1000, 4));
    assert.equal(statSync(path).size, 1 << 20);
  });

  it('pads a file that is not a whole number of sectors with zeros', async () => {
    const path = newFile(pattern(1000, 2));
    const disk = await RawDisk.open(await NodeImageFile.open(path, true));
    assert.equal(disk.size, 1024);
    const all = new Uint8Array(1024);
    await disk.read(0, all);
    assert.deepEqual(all.subarray(0, 1000), pattern(1000, 2));
    assert.ok(all.subarray(1000).every((b) => b === 0));
    await disk.close();
  });

  it('writes zeros for write-zeroes whether or not it can punch holes', async () => {
    const path = newFile(pattern(1 << 20, 3));
    const disk = await RawDisk.open(await NodeImageFile.open(path, true));
    await disk.writeZeroes(4096, 3 << 16, true);
    await disk.writeZeroes(500000, 1000, false);
    await disk.close();
    const bytes = readFileSync(path);
    assert.ok(bytes.subarray(4096, 4096 + (3 << 16)).every((b) => b === 0));
    assert.ok(bytes.subarray(500000, 501000).every((b) => b === 0));
    assert.deepEqual(new Uint8Array(bytes.subarray(0, 4096)), pattern(1 << 20, 3).subarray(0, 4096));
  });
});
