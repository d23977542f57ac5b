/**
 * `tsvmm serve`: a VMM with no VM, configured and started through `tsvmm
 * ctl` (PUT /v1/vm, POST /v1/vm/start) on the software CPU; bad configs
 * are refused with one line and exit 2, the guest boots, pauses, resumes,
 * and a stop ends the process with exit code 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CLI } from './vm-process.js';
import { CommandConsole, ctl, sleep, tsvmmCommand, waitForApi } from './api-process.js';
import { guestReady } from './guest-ready.js';

describe('tsvmm serve, driven by tsvmm ctl, on --accel emu', () => {
  it('refuses bad configs, then configures, starts, pauses, resumes and stops the default guest', { timeout: 900_000 }, async (t) => {
    const why = await guestReady();
    if (why) return t.skip(why);
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-serve-'));
    const socket = join(dir, 'api.sock');
    const vmm = new CommandConsole(tsvmmCommand(['serve', '--api-socket', socket]));
    const file = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    try {
      const client = await waitForApi(socket);
      let r = await ctl(socket, 'describe');
      assert.equal(r.code, 0, r.err);
      assert.equal((JSON.parse(r.out) as { state: string }).state, 'unconfigured');

      // Before a configuration: one line, exit 2.
      r = await ctl(socket, 'start');
      assert.equal(r.code, 2);
      assert.match(r.err, /^tsvmm: ctl start: no VM is configured yet [^\n]*\[not-configured\]\n$/);

      // Bad configurations, each one line and exit 2; nothing is configured.
      const bad: Array<[string, string, RegExp]> = [
        ['malformed.json', '{"memory": ', /malformed JSON/],
        ['unknown.json', '{"accel": "emu", "memroy": 1}', /memroy: unknown key/],
        ['type.json', '{"accel": "emu", "cpus": "two"}', /cpus: "two" is not accepted/],
        ['range.json', '{"accel": "emu", "memory": 4096}', /memory: 4096 is not accepted \(expected a size in bytes from 16 MiB/],
        ['missing.json', `{"accel": "emu", "kernel": ${JSON.stringify(join(dir, 'no-such-kernel'))}}`, /kernel: [^\n]*no such file/],
      ];
      for (const [name, text, message] of bad) {
        r = await ctl(socket, 'configure', file(name, text));
        assert.equal(r.code, 2, `${name}: ${r.err}`);
        assert.match(r.err, /^tsvmm: [^\n]+\n$/, `${name}: one line`);
        assert.match(r.err, message, name);
      }
      const raw = await client.request('PUT', '/v1/vm', { accel: 'emu', nets: [{ mode: 'carrier-pigeon' }] });
      assert.equal(raw.status, 400);
      assert.deepEqual((raw.body as { error: { path: unknown[] } }).error.path, ['nets', 0, 'mode']);
      assert.equal((await ctl(socket, 'describe')).out.includes('"unconfigured"'), true);

      // Configure and start.
      r = await ctl(socket, 'configure', file('vm.json', JSON.stringify({ accel: 'emu', memory: 256 * 1024 * 1024 })));
      assert.equal(r.code, 0, r.err);
      r = await ctl(socket, 'configure', file('again.json', '{"accel": "emu"}'));
      assert.equal(r.code, 2);
      assert.match(r.err, /already-configured/);
      const events = spawn(process.execPath, [CLI, 'ctl', socket, 'events'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let eventLines = '';
      events.stdout.on('data', (d: Buffer) => (eventLines += d.toString()));
      const eventsDone = new Promise<number | null>((resolve) => events.on('exit', resolve));
      r = await ctl(socket, 'start');
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, 'running\n');
      await vmm.waitFor(/tsvmm-guest: init started/, 600_000);
      t.diagnostic('the guest is running /init');

      // pause / resume through ctl.
      assert.equal((await ctl(socket, 'pause')).out, 'paused\n');
      const a = (await ctl(socket, 'inspect', 'machine/vcpus/0/instructions')).out;
      await sleep(1500);
      assert.equal((await ctl(socket, 'inspect', 'machine/vcpus/0/instructions')).out, a, 'paused: no instruction retires');
      r = await ctl(socket, 'pause');
      assert.equal(r.code, 2);
      assert.match(r.err, /cannot pause a VM that is paused/);
      assert.equal((await ctl(socket, 'resume')).out, 'running\n');
      await sleep(1500);
      assert.notEqual((await ctl(socket, 'inspect', 'machine/vcpus/0/instructions')).out, a);

      // stop: the VMM exits with 0, the events stream ends with the exit.
      r = await ctl(socket, 'stop');
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^stopped \(exit code 0: stopped through the API\)\n$/);
      assert.equal(await vmm.exited, 0, vmm.errors);
      assert.equal(await eventsDone, 0);
      const lines = eventLines.trim().split('\n').map((l) => JSON.parse(l) as { type: string; state?: string });
      assert.deepEqual(lines.at(-1), { type: 'exit', code: 0, reason: 'stopped through the API' });
      assert.ok(lines.some((l) => l.state === 'paused'));
      assert.equal((await ctl(socket, 'describe')).code, 3);
    } finally {
      vmm.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
