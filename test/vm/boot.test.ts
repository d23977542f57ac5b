/**
 * The main job: the default guest boots to a shell on every backend this
 * machine has, runs commands through the console and powers off with exit
 * code 0. Builds the default guest first (Debian packages via apt).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ensureDefaultGuest } from '../../src/guest/index.js';
import { guestReady } from './guest-ready.js';
import { VmProcess } from './vm-process.js';

const backends: Array<{ accel: string; skip: string | false }> = [
  { accel: 'emu', skip: false },
  { accel: 'kvm', skip: existsSync('/dev/kvm') ? 'the KVM backend is not built yet' : 'skipped: /dev/kvm not available' },
];

for (const { accel, skip } of backends) {
  describe(`default guest on --accel ${accel}`, { skip }, () => {
    it('boots to a shell, runs commands and powers off with exit code 0', { timeout: 900_000 }, async (t) => {
      const why = await guestReady();
      if (why) return t.skip(why);
      const started = Date.now();
      const vm = new VmProcess(['--accel', accel, '--memory', '256M']);
      try {
        await vm.waitFor(/tsvmm-guest: init started/, 600_000);
        const initMs = Date.now() - started;
        await vm.waitFor(/tsvmm:\/# /, 300_000);
        t.diagnostic(`${accel}: init after ${(initMs / 1000).toFixed(1)} s, shell after ${((Date.now() - started) / 1000).toFixed(1)} s`);

        assert.equal((await vm.run('uname -r')).trim(), (await ensureDefaultGuest()).release);

        // The guest's wall clock comes from the VMM (kvm-clock): within a few minutes of ours.
        const guestEpoch = Number((await vm.run('date +%s')).trim());
        assert.ok(Math.abs(guestEpoch - Date.now() / 1000) < 300, `guest time ${guestEpoch} vs host ${Date.now() / 1000}`);

        const cpuinfo = await vm.run('cat /proc/cpuinfo');
        assert.match(cpuinfo, /^processor\s*: 0$/m);
        assert.match(cpuinfo, /^flags\s*:.* sse2 .*$/m);

        // The console UART takes interrupts through the IOAPIC; the timer ticks.
        const interrupts = await vm.run('cat /proc/interrupts');
        assert.match(interrupts, /IO-APIC\s+4-edge\s+ttyS0/);
        const loc = interrupts.match(/^\s*LOC:\s+(\d+)/m);
        assert.ok(loc && Number(loc[1]) > 0, interrupts);

        vm.send('poweroff -f');
        assert.equal(await vm.exited, 0, vm.errors);
        assert.match(vm.errors, /the guest powered off/);
      } finally {
        vm.kill();
      }
    });
  });
}
