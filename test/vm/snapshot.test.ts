/**
 * Snapshot and restore on the software CPU: a guest booted in this process
 * (driving Vm directly) runs a counter in the background; the VM is paused,
 * snapshotted and stopped; `tsvmm run --restore DIR` in a new process
 * continues it: the counter goes on from where it was, the console
 * answers, a guest reboot boots the recorded kernel afresh, power-off
 * exits 0. The same snapshot restored into `tsvmm serve` through the API
 * (`tsvmm ctl SOCKET restore DIR`) waits paused, then continues on resume.
 * Then the CLI's refusals: a damaged or missing memory file exits 2 with
 * one line.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ensureDefaultGuest } from '../../src/guest/index.js';
import { parseVmConfig } from '../../src/vm/config.js';
import { pciPart } from '../../src/vm/pci-part.js';
import { Vm } from '../../src/vm/vm.js';
import { CommandConsole, ctl, sleep, tsvmmCommand, waitForApi } from './api-process.js';
import { ConsoleText } from './console-text.js';
import { guestReady } from './guest-ready.js';
import { VmProcess } from './vm-process.js';

/** The console of a Vm running in this process. */
class InProcessConsole extends ConsoleText {
  constructor(private readonly vm: Vm) {
    super();
    vm.serial.onOutput = (b) => this.received(Buffer.from(b).toString('latin1'));
  }
  protected write(text: string): void {
    this.vm.serial.write(Buffer.from(text, 'latin1'));
  }
  protected ended(): string | null {
    return this.vm.state === 'stopped' ? `the VM stopped (${this.vm.exit?.reason})` : null;
  }
}

/** The counts printed as "count N" line ends in `text` (the first may follow the shell's prompt). */
function counts(text: string): number[] {
  return [...text.matchAll(/count (\d+)\r?$/gm)].map((m) => Number(m[1]));
}

const PROMPT = /tsvmm:\/# /;

describe('snapshot and restore on --accel emu', () => {
  it('continues a running counter in a new process, console working, power-off exits 0', { timeout: 1_200_000 }, async (t) => {
    const why = await guestReady();
    if (why) return t.skip(why);
    const guest = await ensureDefaultGuest();
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-snapshot-'));
    // The same machine `tsvmm run` builds: the PCI part (no disks) is part of it.
    const config = parseVmConfig({ accel: 'emu', memory: 256 * 1024 * 1024 });
    const vm = new Vm(
      config,
      {
        kernel: new Uint8Array(await readFile(guest.kernel)),
        kernelName: 'default guest kernel',
        kernelPath: guest.kernel,
        initrd: new Uint8Array(await readFile(guest.initrd)),
        initrdName: 'default guest initramfs',
        initrdPath: guest.initrd,
        cmdline: guest.cmdline,
      },
      { parts: [pciPart({})] },
    );
    const con = new InProcessConsole(vm);
    let restored: VmProcess | null = null;
    try {
      vm.start();
      await con.waitFor(PROMPT, 600_000);
      const from = con.send('(i=0; while true; do i=$((i+1)); echo count $i; sleep 1; done) &');
      await con.waitFor(/count 3\r?$/m, 120_000, from);
      await vm.pause();
      const before = counts(con.output.slice(from));
      const last = before[before.length - 1]!;
      assert.deepEqual(before, Array.from({ length: last }, (_, k) => k + 1), con.output.slice(from));
      await vm.snapshot(dir);
      const info = vm.lastSnapshot!;
      assert.ok(info.memory.pages > 0 && info.memory.pages < (256 * 1024 * 1024) / 4096, `${info.memory.pages} pages stored`);
      t.diagnostic(`snapshot: ${info.memory.pages} pages, ${(info.memory.fileBytes / 2 ** 20).toFixed(1)} MiB, ${info.totalMs.toFixed(0)} ms`);
      assert.equal((await vm.stop()).code, 0);

      restored = new VmProcess(['--restore', dir]);
      // No prompt comes back by itself: the guest goes on counting.
      const first = await restored.waitFor(/^count (\d+)\r?$/m, 300_000);
      assert.ok(Number(first[1]) > last, `the counter restarted: ${first[1]} after ${last}\n${restored.output}`);
      const more = Number(first[1]) + 1;
      await restored.waitFor(new RegExp(`^count ${more}\\r?$`, 'm'), 120_000);
      const after = counts(restored.output);
      assert.ok(after.every((n) => n > last), `counts after restore: ${after.join(' ')} (last before: ${last})`);
      assert.equal((await restored.run('echo restored-ok', 120_000)).trim().split('\n').filter((l) => l === 'restored-ok').length, 1);
      // Nothing booted: the guest went on from the snapshot.
      assert.doesNotMatch(restored.output, /tsvmm-guest: init started/);
      // A reboot needs the kernel again: the restored VMM reads it from the recorded path (hash-checked).
      const boot2 = restored.send('reboot -f');
      await restored.waitFor(/tsvmm-guest: init started/, 600_000, boot2);
      await restored.waitFor(PROMPT, 300_000, boot2);
      assert.match(restored.errors, /the guest rebooted \(boot 2\)/);
      restored.send('poweroff -f');
      assert.equal(await restored.exited, 0, restored.errors);

      // The same snapshot into a `tsvmm serve` VMM through the API: paused until resumed, then the counter goes on.
      const apiDir = mkdtempSync(join(tmpdir(), 'tsvmm-snapshot-api-'));
      const socket = join(apiDir, 'api.sock');
      const served = new CommandConsole(tsvmmCommand(['serve', '--api-socket', socket]));
      try {
        await waitForApi(socket);
        let r = await ctl(socket, 'restore', join(apiDir, 'none'));
        assert.equal(r.code, 2, r.err);
        assert.match(r.err, /^tsvmm: ctl restore: [^\n]*none: no snapshot there [^\n]*\[invalid-snapshot\]\n$/);
        r = await ctl(socket, 'restore', dir);
        assert.equal(r.code, 0, r.err);
        assert.equal(r.out, `restored from ${dir} (paused; next: resume)\n`);
        const paused = (await ctl(socket, 'inspect', 'machine/vcpus/0/instructions')).out;
        await sleep(1500);
        assert.equal((await ctl(socket, 'inspect', 'machine/vcpus/0/instructions')).out, paused, 'paused: no instruction retires');
        r = await ctl(socket, 'restore', dir, '--resume');
        assert.equal(r.code, 2);
        assert.match(r.err, /\[already-configured\]/);
        assert.equal((await ctl(socket, 'resume')).out, 'running\n');
        const next = await served.waitFor(/^count (\d+)\r?$/m, 300_000);
        assert.ok(Number(next[1]) > last, `the counter restarted: ${next[1]} after ${last}\n${served.output}`);
        await served.waitFor(new RegExp(`^count ${Number(next[1]) + 1}\\r?$`, 'm'), 120_000);
        const servedCounts = counts(served.output);
        assert.ok(servedCounts.every((n) => n > last), `counts after the API restore: ${servedCounts.join(' ')} (last before: ${last})`);
        assert.equal((await served.run('echo served-ok', 120_000)).trim().split('\n').filter((l) => l === 'served-ok').length, 1);
        assert.doesNotMatch(served.output, /tsvmm-guest: init started/);
        r = await ctl(socket, 'stop');
        assert.equal(r.code, 0, r.err);
        assert.equal(await served.exited, 0, served.errors);
      } finally {
        served.kill();
        rmSync(apiDir, { recursive: true, force: true });
      }

      // A damaged memory file is refused with one line, exit 2.
      const bad = mkdtempSync(join(tmpdir(), 'tsvmm-snapshot-bad-'));
      try {
        copyFileSync(join(dir, 'snapshot.json'), join(bad, 'snapshot.json'));
        const mem = readFileSync(join(dir, 'memory.bin'));
        mem[1000] = mem[1000]! ^ 0xff;
        writeFileSync(join(bad, 'memory.bin'), mem);
        const corrupt = new VmProcess(['--restore', bad]);
        assert.equal(await corrupt.exited, 2);
        assert.match(corrupt.errors.trim(), /^tsvmm: --restore: .*memory file memory\.bin is corrupt \(CRC mismatch/);
        assert.equal(corrupt.errors.trim().split('\n').length, 1, corrupt.errors);

        rmSync(join(bad, 'memory.bin'));
        const missing = new VmProcess(['--restore', bad]);
        assert.equal(await missing.exited, 2);
        assert.match(missing.errors, /the memory file memory\.bin is missing/);
      } finally {
        rmSync(bad, { recursive: true, force: true });
      }
    } finally {
      if (vm.state !== 'stopped') await vm.stop();
      restored?.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
