/**
 * SMP and reboot on every backend: two vCPUs both do work, a guest reboot
 * builds the machine afresh (twice), then power-off exits 0.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { VmProcess } from './vm-process.js';
import { guestReady } from './guest-ready.js';

const backends = [
  { accel: 'emu', skip: false as string | false },
  { accel: 'kvm', skip: existsSync('/dev/kvm') ? 'the KVM backend is not built yet' : 'skipped: /dev/kvm not available' },
];

/** Per-CPU busy time (user + nice + system) from /proc/stat lines "cpuN ...". */
function cpuTimes(stat: string): number[] {
  return [...stat.matchAll(/^cpu(\d+) (\d+) (\d+) (\d+)/gm)].map((m) => Number(m[2]) + Number(m[3]) + Number(m[4]));
}

for (const { accel, skip } of backends) {
  describe(`--cpus 2 and reboot on --accel ${accel}`, { skip }, () => {
    it('brings up both CPUs, runs work on both, reboots twice, powers off', { timeout: 1_500_000 }, async (t) => {
      const why = await guestReady();
      if (why) return t.skip(why);
      const vm = new VmProcess(['--accel', accel, '--cpus', '2', '--memory', '256M']);
      try {
        await vm.waitFor(/tsvmm:\/# /, 600_000);
        assert.equal((await vm.run('nproc')).trim(), '2');
        assert.match(await vm.run('dmesg | grep "Total of"'), /Total of 2 processors activated/);
        const before = cpuTimes(await vm.run('cat /proc/stat'));
        // Two busy shells: the scheduler spreads them over both vCPUs.
        await vm.run('(i=0; while [ $i -lt 4000 ]; do i=$((i+1)); done) & a=$!; (j=0; while [ $j -lt 4000 ]; do j=$((j+1)); done) & b=$!; wait $a; wait $b', 600_000);
        const after = cpuTimes(await vm.run('cat /proc/stat'));
        assert.equal(after.length, 2);
        for (let c = 0; c < 2; c++) assert.ok(after[c]! - before[c]! > 5, `cpu${c} did no work: ${before} -> ${after}`);

        for (let boot = 2; boot <= 3; boot++) {
          const from = vm.send('reboot -f');
          await vm.waitFor(/tsvmm-guest: init started/, 600_000, from);
          await vm.waitFor(/tsvmm:\/# /, 300_000, from);
          assert.match(vm.errors, new RegExp(`the guest rebooted \\(boot ${boot}\\)`));
          assert.equal((await vm.run('nproc')).trim(), '2');
        }
        vm.send('poweroff -f');
        assert.equal(await vm.exited, 0, vm.errors);
      } finally {
        vm.kill();
      }
    });
  });
}
