/**
 * Serial backends and crash handling: a socket console that several
 * clients attach to (with replay, and `tsvmm console` without a TTY), a
 * client that vanishes without harming the VM, a kernel panic reported
 * through pvpanic (exit code 4); a file console with --no-reboot.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConsoleText } from './console-text.js';
import { guestReady } from './guest-ready.js';
import { CLI, VmProcess } from './vm-process.js';

/** A client of a --serial socket console. */
class SocketConsole extends ConsoleText {
  private closed = false;
  private constructor(readonly sock: Socket) {
    super();
    sock.on('data', (d: Buffer) => this.received(d.toString('latin1')));
    sock.on('close', () => {
      this.closed = true;
    });
  }
  /** Connects, retrying while the VMM is still creating the socket. */
  static async open(path: string, timeoutMs = 60_000): Promise<SocketConsole> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = createConnection(path);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        return new SocketConsole(sock);
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
  protected write(text: string): void {
    this.sock.write(text);
  }
  protected ended(): string | null {
    return this.closed ? 'the console socket closed' : null;
  }
}

const skipNoKvm = existsSync('/dev/kvm') ? 'the KVM backend is not built yet' : 'skipped: /dev/kvm not available';

for (const { accel, skip } of [{ accel: 'emu', skip: false as string | false }, { accel: 'kvm', skip: skipNoKvm }]) {
  describe(`serial backends and panics on --accel ${accel}`, { skip }, () => {
    it('socket console: replay, two clients, an abrupt disconnect, tsvmm console, then a panic exits 4', { timeout: 900_000 }, async (t) => {
      const why = await guestReady();
      if (why) return t.skip(why);
      const dir = mkdtempSync(join(tmpdir(), 'tsvmm-serial-'));
      const path = join(dir, 'console.sock');
      const vm = new VmProcess(['--accel', accel, '--memory', '256M', '--serial', `socket=${path}`]);
      try {
        const first = await SocketConsole.open(path);
        await first.waitFor(/tsvmm:\/# /, 600_000);
        // A late client gets the recent output replayed, then live output.
        const second = await SocketConsole.open(path);
        await second.waitFor(/tsvmm-guest: init started/, 10_000);
        first.sock.destroy(); // vanishes without a goodbye
        assert.equal((await second.run('uname -s')).trim(), 'Linux');
        // `tsvmm console` with piped stdin: forwards input, prints output, detaches at end of input.
        const client = spawn(process.execPath, [CLI, 'console', path], { stdio: ['pipe', 'pipe', 'pipe'] });
        let clientOut = '';
        client.stdout.on('data', (d: Buffer) => {
          clientOut += d.toString('latin1');
        });
        client.stdin.write('echo via-console-$((6*7))\n');
        const deadline = Date.now() + 60_000;
        while (!clientOut.includes('via-console-42') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        assert.match(clientOut, /via-console-42/);
        client.stdin.end();
        assert.equal(await new Promise((r) => client.on('exit', r)), 0);
        // The VM is still fine after all that.
        assert.equal((await second.run('echo still-$((1+1))')).trim(), 'still-2');
        second.send('echo c > /proc/sysrq-trigger');
        assert.equal(await vm.exited, 4, vm.errors);
        assert.match(vm.errors, /kernel panic \(reported through pvpanic\)/);
      } finally {
        vm.kill();
      }
    });

    it('file console, no pvpanic driver, --no-reboot: panic=-1 reboots and the VM ends with 0', { timeout: 900_000 }, async (t) => {
      const why = await guestReady();
      if (why) return t.skip(why);
      const dir = mkdtempSync(join(tmpdir(), 'tsvmm-serial-'));
      const log = join(dir, 'console.log');
      writeFileSync(log, 'earlier run\n');
      // No init: the kernel panics before any module (pvpanic) loads; panic=-1 reboots at once.
      const vm = new VmProcess(['--accel', accel, '--memory', '256M', '--serial', `file=${log}`, '--no-reboot',
        '--cmdline', 'console=ttyS0 reboot=k panic=-1 cryptomgr.notests i8042.noaux rdinit=/no-such-init']);
      try {
        assert.equal(await vm.exited, 0, vm.errors);
        assert.match(vm.errors, /the guest rebooted \(i8042; --no-reboot\)/);
        const text = readFileSync(log, 'latin1');
        assert.ok(text.startsWith('earlier run\n'), 'the file is appended to');
        assert.match(text, /Kernel panic - not syncing/);
      } finally {
        vm.kill();
      }
    });
  });
}

it('a --serial socket path that exists and is not a socket is refused with exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-serial-'));
  const path = join(dir, 'not-a-socket');
  writeFileSync(path, 'x');
  const vm = new VmProcess(['--accel', 'emu', '--kernel', path, '--serial', `socket=${path}`]);
  assert.equal(await vm.exited, 2);
  assert.equal(vm.errors.trim().split('\n').length, 1, vm.errors);
  assert.match(vm.errors, /exists and is not a socket/);
});
