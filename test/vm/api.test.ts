/**
 * The HTTP API beside a running guest (`tsvmm run --api-socket`) on the
 * software CPU: describe, pause (the guest stops: no instruction retires,
 * typed input waits), resume (a counter loop keeps counting), inspect, an
 * NMI, a snapshot, events over SSE, refused requests that leave the guest
 * running, a taken socket path, and the power button.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ApiClient, ApiResponse, SseEvent } from '../../src/api/client.js';
import { ctl, sleep, waitForApi } from './api-process.js';
import { guestReady } from './guest-ready.js';
import { CLI, VmProcess } from './vm-process.js';

const PROMPT = /tsvmm:\/# /;

function errorOf(r: ApiResponse): { code: string; message: string } {
  return (r.body as { error: { code: string; message: string } }).error;
}

/** A request with a raw body (malformed JSON and the like). */
function rawPut(socket: string, path: string, body: string): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method: 'PUT', path, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, body: JSON.parse(text) as unknown }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function instructions(client: ApiClient): Promise<string> {
  const r = await client.request('GET', '/v1/vm/inspect?path=machine/vcpus/0/instructions');
  assert.equal(r.status, 200, r.text);
  return String(r.body);
}

async function state(client: ApiClient): Promise<string> {
  return ((await client.request('GET', '/v1/vm')).body as { state: string }).state;
}

describe('HTTP API beside a running guest on --accel emu', () => {
  it('describe, pause/resume, inspect, NMI, snapshot, events, bad requests, a taken socket, the power button', { timeout: 1_200_000 }, async (t) => {
    const why = await guestReady();
    if (why) return t.skip(why);
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-api-vm-'));
    const socket = join(dir, 'api.sock');
    const vm = new VmProcess(['--accel', 'emu', '--memory', '256M', '--api-socket', socket]);
    const events: SseEvent[] = [];
    try {
      const client = await waitForApi(socket, 120_000);
      const following = (async () => {
        for await (const e of client.events()) events.push(e);
      })();

      // describe
      const d = (await client.request('GET', '/v1/vm')).body as { state: string; config: { memory: number; accel: string }; boots: number; vmm: { mode: string } };
      assert.equal(d.state, 'running');
      assert.equal(d.config.memory, 256 * 1024 * 1024);
      assert.equal(d.config.accel, 'emu');
      assert.equal(d.vmm.mode, 'run');
      assert.equal(d.boots, 1);

      // A second VMM on the same socket path: one line, exit 2; the first runs on.
      const second = spawnSync(process.execPath, [CLI, 'run', '--accel', 'emu', '--api-socket', socket], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(second.status, 2, second.stderr);
      assert.match(second.stderr, /^tsvmm: --api-socket: [^\n]* is in use by another running VMM\n$/);

      await vm.waitFor(PROMPT, 600_000);
      t.diagnostic('the guest is at its shell prompt');
      // Ctrl-] on piped stdin is an ordinary byte: the VM does not stop.
      vm.send('\x1d');
      assert.equal((await vm.run('echo still-$((40+2))')).trim(), 'still-42');

      // A counter the guest keeps in a file.
      vm.send('(i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done) &');
      await sleep(2000);
      const before = Number((await vm.run('cat /tmp/count')).trim());
      assert.ok(before > 0);

      // pause: no instruction retires, and what is typed waits.
      assert.deepEqual((await client.request('POST', '/v1/vm/pause')).body, { state: 'paused', exit: null });
      const i1 = await instructions(client);
      const from = vm.send('echo typed-while-paused-$((2*21))');
      await sleep(2000);
      assert.equal(await instructions(client), i1, 'no instruction retires while paused');
      assert.doesNotMatch(vm.output.slice(from), /typed-while-paused-42/);
      // Pausing again is refused; the guest stays paused.
      const again = await client.request('POST', '/v1/vm/pause');
      assert.equal(again.status, 409);
      assert.equal(errorOf(again).code, 'invalid-state');
      assert.equal(errorOf(again).message, 'cannot pause a VM that is paused');

      // resume: the typed line runs, the counter counts on.
      assert.deepEqual((await client.request('POST', '/v1/vm/resume')).body, { state: 'running', exit: null });
      await vm.waitFor(/^typed-while-paused-42/m, 60_000, from);
      await sleep(1500);
      const after = Number((await vm.run('cat /tmp/count')).trim());
      assert.ok(after > before, `the counter went from ${before} to ${after}`);
      assert.notEqual(await instructions(client), i1);

      // Refused requests: each a JSON 4xx, the guest unharmed.
      const resume = await client.request('POST', '/v1/vm/resume');
      assert.equal(resume.status, 409);
      assert.equal(errorOf(resume).message, 'cannot resume a VM that is running');
      const malformed = await rawPut(socket, '/v1/vm', '{"memory": ');
      assert.equal(malformed.status, 400);
      assert.equal(errorOf(malformed).code, 'malformed-json');
      const unknown = await client.request('POST', '/v1/vm/snapshot', { path: join(dir, 's'), compress: true });
      assert.equal(unknown.status, 400);
      assert.equal(errorOf(unknown).code, 'invalid-body');
      const wrongType = await client.request('POST', '/v1/vm/snapshot', { path: 42 });
      assert.equal(errorOf(wrongType).code, 'invalid-body');
      assert.equal((await client.request('PUT', '/v1/vm', { cpus: 999 })).status, 409, 'run mode: the VM came from the flags');
      assert.equal(errorOf(await client.request('GET', '/v1/vm/inspect?path=no/such/node')).code, 'no-such-node');
      assert.equal(errorOf(await client.request('POST', '/v1/vm/disks', { path: '/x.img' })).code, 'hotplug-unsupported');
      assert.equal(errorOf(await client.request('GET', '/v1/nothing')).code, 'not-found');
      assert.equal((await ctl(socket, 'resume')).code, 2);
      assert.equal(await state(client), 'running');
      assert.equal((await vm.run('echo alive')).trim(), 'alive');

      // inspect
      const tree = (await client.request('GET', '/v1/vm/inspect')).body as { machine: { devices: Record<string, unknown>; vcpus: Record<string, { rip: string }> } };
      assert.ok(tree.machine.devices['com1'], Object.keys(tree.machine.devices).join(' '));
      assert.match(tree.machine.vcpus['0']!.rip, /^0x[0-9a-f]+$/);
      const ctlInspect = await ctl(socket, 'inspect', 'machine/memory');
      assert.equal(ctlInspect.code, 0, ctlInspect.err);
      assert.equal((JSON.parse(ctlInspect.out) as { bytes: number }).bytes, 256 * 1024 * 1024);

      // An NMI reaches the guest kernel through the LAPIC of vCPU 0.
      const nmiFrom = vm.output.length;
      assert.equal((await client.request('POST', '/v1/vm/nmi')).status, 200);
      await vm.waitFor(/NMI received for unknown reason/, 60_000, nmiFrom);

      // A snapshot of the running guest: paused for it, running after it.
      const snap = await client.request('POST', '/v1/vm/snapshot', { path: join(dir, 'snap') });
      assert.equal(snap.status, 200, snap.text);
      assert.equal((snap.body as { state: string }).state, 'running');
      t.diagnostic(`snapshot took ${(snap.body as { ms: number }).ms} ms`);
      assert.equal((await vm.run('echo after-snapshot')).trim(), 'after-snapshot');

      // The power button: the GED raises the event, the guest's button driver turns it into a
      // key press, and the default guest's acpid powers off, without anyone typing.
      const acpid = (await vm.run('pidof acpid >/dev/null && echo acpid-running')).trim();
      assert.equal(acpid, 'acpid-running', 'the default guest runs acpid for the power button');
      assert.equal((await client.request('POST', '/v1/vm/shutdown')).status, 200);
      assert.equal(await vm.exited, 0, vm.errors);
      await following; // the stream ends after the exit event
      const types = events.map((e) => (e.data as { type: string; state?: string }).state ?? e.event);
      assert.deepEqual(types.slice(0, 3), ['running', 'paused', 'running']);
      assert.deepEqual(events.at(-1)?.data, { type: 'exit', code: 0, reason: 'the guest powered off' });
      assert.ok(!existsSync(socket), 'the socket is removed on exit');
      assert.equal((await ctl(socket, 'describe')).code, 3, 'nobody answers any more');
    } finally {
      vm.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
