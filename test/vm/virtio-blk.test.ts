/**
 * The default guest with a raw disk on virtio-blk over PCI (MSI-X): Linux
 * finds /dev/vda with the file's size and serial, a pattern written with
 * dd reads back with the same checksum after the page cache is dropped,
 * and after sync and poweroff the host file holds exactly that pattern.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { guestReady } from './guest-ready.js';
import { VmProcess } from './vm-process.js';

const MiB = 1024 * 1024;
const DISK_SIZE = 16 * MiB;
/** Where the guest writes its pattern, and how much. */
const PATTERN_OFFSET = 3 * MiB;
const PATTERN_SIZE = 2 * MiB;
const LINE = 'tsvmm virtio-blk pattern 0123456789\n';

/** The bytes `yes '...' | head -c N` produces in the guest. */
function expectedPattern(): Buffer {
  return Buffer.from(LINE.repeat(Math.ceil(PATTERN_SIZE / LINE.length)).slice(0, PATTERN_SIZE), 'latin1');
}

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

const backends: Array<{ accel: string; skip: string | false }> = [
  { accel: 'emu', skip: false },
  { accel: 'kvm', skip: existsSync('/dev/kvm') ? 'the KVM backend is not built yet' : 'skipped: /dev/kvm not available' },
];

for (const { accel, skip } of backends) {
  describe(`virtio-blk on --accel ${accel}`, { skip }, () => {
    it('the guest sees /dev/vda, writes and reads back a pattern, and the host file holds it', { timeout: 900_000 }, async (t) => {
      const why = await guestReady();
      if (why) return t.skip(why);
      const dir = mkdtempSync(join(tmpdir(), 'tsvmm-blk-'));
      const disk = join(dir, 'disk0.img');
      writeFileSync(disk, '');
      truncateSync(disk, DISK_SIZE);
      const vm = new VmProcess(['--accel', accel, '--memory', '256M', '--disk', disk]);
      try {
        await vm.waitFor(/tsvmm:\/# /, 600_000);

        assert.equal((await vm.run('cat /sys/block/vda/size')).trim(), String(DISK_SIZE / 512), 'size in 512-byte sectors');
        assert.equal((await vm.run('cat /sys/block/vda/serial; echo')).trim(), 'disk0.img', 'GET_ID gives the serial');
        assert.match(await vm.run('cat /proc/interrupts'), /PCI-MSI.*virtio0-req\.0/, 'requests complete through MSI-X');

        // (Commands that print nothing get an echo: run() needs a line between its markers.)
        await vm.run(`yes '${LINE.trimEnd()}' | head -c ${PATTERN_SIZE} > /tmp/pattern; echo ok`);
        const want = md5(expectedPattern());
        assert.equal((await vm.run('md5sum /tmp/pattern')).split(/\s/)[0], want);

        const bs = 64 * 1024;
        let t0 = Date.now();
        await vm.run(`dd if=/tmp/pattern of=/dev/vda bs=${bs} seek=${PATTERN_OFFSET / bs} conv=fsync 2>/dev/null; echo ok`, 300_000);
        const writeMs = Date.now() - t0;
        await vm.run('echo 3 > /proc/sys/vm/drop_caches; echo ok');
        t0 = Date.now();
        const readBack = await vm.run(`dd if=/dev/vda bs=${bs} skip=${PATTERN_OFFSET / bs} count=${PATTERN_SIZE / bs} 2>/dev/null | md5sum`, 300_000);
        const readMs = Date.now() - t0;
        assert.equal(readBack.split(/\s/)[0], want, 'the read after dropping the page cache matches');
        const rate = (ms: number) => `${((PATTERN_SIZE / MiB) / (ms / 1000)).toFixed(1)} MiB/s`;
        t.diagnostic(`${accel}: 2 MiB written (dd conv=fsync) in ${writeMs} ms (${rate(writeMs)}), read back in ${readMs} ms (${rate(readMs)}), console round trips included`);

        await vm.run('sync; echo ok');
        vm.send('poweroff -f');
        assert.equal(await vm.exited, 0, vm.errors);

        const host = readFileSync(disk);
        assert.equal(host.length, DISK_SIZE, 'the image keeps its size');
        assert.equal(md5(host.subarray(PATTERN_OFFSET, PATTERN_OFFSET + PATTERN_SIZE)), want, 'the host file holds the pattern');
        assert.ok(host.subarray(0, PATTERN_OFFSET).every((b) => b === 0), 'nothing was written before it');
        assert.ok(host.subarray(PATTERN_OFFSET + PATTERN_SIZE).every((b) => b === 0), 'nor after it');
      } finally {
        vm.kill();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
