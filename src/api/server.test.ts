import assert from 'node:assert/strict';
import { request } from 'node:http';
import { spawn } from 'node:child_process';
import { lstatSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse } from './client.js';
import { MAX_BODY_BYTES } from './http.js';
import { listenApi } from './server.js';
import { SocketPathError } from './socket-path.js';
import { startTestServer, type TestServer } from './test-server.js';

/** Asserts an error answer: status, code, and a one-line message. */
function assertError(r: ApiResponse, status: number, code: string): { code: string; message: string; path?: unknown[] } {
  assert.equal(r.status, status, r.text);
  const err = (r.body as { error: { code: string; message: string; path?: unknown[] } }).error;
  assert.equal(err.code, code, r.text);
  assert.ok(err.message.length > 0 && !err.message.includes('\n'), err.message);
  return err;
}

/** A raw request, for content types and bodies the client would not send. */
function raw(path: string, method: string, target: string, body: string | Buffer, headers: Record<string, string>): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: path, method, path: target, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('API server in run mode', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer('run');
  });
  after(() => t.close());

  it('describes the VM', async () => {
    const r = await t.client.request('GET', '/v1/vm');
    assert.equal(r.status, 200);
    const d = r.body as { state: string; config: { memory: number }; boots: number; exit: null; vmm: { mode: string; version: string } };
    assert.equal(d.state, 'running');
    assert.equal(d.config.memory, 64 * 1024 * 1024);
    assert.equal(d.boots, 1);
    assert.equal(d.exit, null);
    assert.equal(d.vmm.mode, 'run');
    assert.equal(d.vmm.version, '0.0.0-test');
    assert.match(String(r.headers['content-type']), /^application\/json/);
  });

  it('pauses and resumes; a verb in the wrong state is 409 and changes nothing', async () => {
    assert.deepEqual((await t.client.request('POST', '/v1/vm/pause')).body, { state: 'paused', exit: null });
    const calls = t.vm().calls.length;
    const err = assertError(await t.client.request('POST', '/v1/vm/pause'), 409, 'invalid-state');
    assert.equal(err.message, 'cannot pause a VM that is paused');
    assert.equal(t.vm().calls.length, calls);
    assert.deepEqual((await t.client.request('POST', '/v1/vm/resume', {})).body, { state: 'running', exit: null });
    assertError(await t.client.request('POST', '/v1/vm/resume'), 409, 'invalid-state');
  });

  it('serializes overlapping verbs: of two pauses one succeeds, the other is refused', async () => {
    const [a, b] = await Promise.all([t.client.request('POST', '/v1/vm/pause'), t.client.request('POST', '/v1/vm/pause')]);
    assert.deepEqual([a.status, b.status].sort(), [200, 409]);
    assert.equal(t.vm().state, 'paused');
    await t.client.request('POST', '/v1/vm/resume');
  });

  it('presses the power button, sends an NMI, resets', async () => {
    assert.equal((await t.client.request('POST', '/v1/vm/shutdown')).status, 200);
    assert.equal((await t.client.request('POST', '/v1/vm/nmi')).status, 200);
    assert.equal((await t.client.request('POST', '/v1/vm/reset')).status, 200);
    assert.deepEqual(t.vm().calls.slice(-3), ['powerButton', 'nmi', 'reset']);
    assertError(await t.client.request('POST', '/v1/vm/pause', { now: true }), 400, 'invalid-body');
  });

  it('answers the inspect tree as JSON, 64-bit and hex values as strings', async () => {
    const r = await t.client.request('GET', '/v1/vm/inspect?path=machine/vcpus/0');
    assert.equal(r.status, 200);
    const v = r.body as { rip: string; instructions: string; halted: boolean };
    assert.equal(v.rip, '0xffffffff81000000');
    assert.match(v.instructions, /^\d+$/);
    assert.equal(v.halted, false);
    const all = (await t.client.request('GET', '/v1/vm/inspect')).body as { state: string; machine: object };
    assert.equal(all.state, 'running');
    assertError(await t.client.request('GET', '/v1/vm/inspect?path=machine/nope'), 404, 'no-such-node');
  });

  it('snapshots a running VM by pausing and resuming it; a failure is 500 and the VM runs on', async () => {
    const r = await t.client.request('POST', '/v1/vm/snapshot', { path: join(t.dir, 'snap') });
    const reply = r.body as { path: string; state: string; ms: number };
    assert.equal(reply.path, join(t.dir, 'snap'));
    assert.equal(reply.state, 'running');
    assert.ok(Number.isInteger(reply.ms));
    assert.deepEqual(t.vm().calls.slice(-3), ['pause', `snapshot ${join(t.dir, 'snap')}`, 'resume']);
    t.vm().snapshotFailure = 'disk full';
    const err = assertError(await t.client.request('POST', '/v1/vm/snapshot', { path: '/tmp/x' }), 500, 'snapshot-failed');
    assert.match(err.message, /disk full/);
    assert.equal(t.vm().state, 'running');
    const bad = assertError(await t.client.request('POST', '/v1/vm/snapshot', { path: 7 }), 400, 'invalid-body');
    assert.deepEqual(bad.path, ['path']);
    assertError(await t.client.request('POST', '/v1/vm/snapshot', { path: '/x', extra: 1 }), 400, 'invalid-body');
    assertError(await t.client.request('POST', '/v1/vm/snapshot'), 400, 'invalid-body');
    // A directory that cannot be made is refused before the VM is paused.
    const calls = t.vm().calls.length;
    const file = join(t.dir, 'snap', 'not-a-dir');
    writeFileSync(file, '');
    const where = assertError(await t.client.request('POST', '/v1/vm/snapshot', { path: join(file, 'x') }), 400, 'bad-snapshot-path');
    assert.deepEqual(where.path, ['path']);
    assert.equal(t.vm().calls.length, calls);
  });

  it('refuses malformed JSON, other content types and oversized bodies', async () => {
    assertError(await raw(t.path, 'POST', '/v1/vm/snapshot', '{"path": ', { 'content-type': 'application/json' }), 400, 'malformed-json');
    assertError(await raw(t.path, 'POST', '/v1/vm/snapshot', 'path=/x', { 'content-type': 'text/plain' }), 415, 'unsupported-media-type');
    assertError(await raw(t.path, 'POST', '/v1/vm/snapshot', '{}', {}), 415, 'unsupported-media-type');
    const big = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20);
    assertError(await raw(t.path, 'POST', '/v1/vm/snapshot', big, { 'content-type': 'application/json' }), 413, 'body-too-large');
    // Accepted with a charset parameter.
    const ok = await raw(t.path, 'POST', '/v1/vm/snapshot', '{"path":"/tmp/s"}', { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(ok.status, 200, ok.text);
  });

  it('answers 404 for unknown paths, 405 with Allow for wrong methods, 409 for hot-plug', async () => {
    assertError(await t.client.request('GET', '/v1/vm/explode'), 404, 'not-found');
    assertError(await t.client.request('GET', '/v2/vm'), 404, 'not-found');
    const r = await t.client.request('DELETE', '/v1/vm');
    assertError(r, 405, 'method-not-allowed');
    assert.equal(r.headers.allow, 'GET, PUT');
    assert.equal((await t.client.request('GET', '/v1/vm/')).status, 200, 'a trailing slash names the same resource');
    const hp = assertError(await t.client.request('POST', '/v1/vm/disks', { path: '/x.img' }), 409, 'hotplug-unsupported');
    assert.match(hp.message, /hot-plug is not supported/);
    assertError(await t.client.request('DELETE', '/v1/vm/nets/net0'), 409, 'hotplug-unsupported');
  });

  it('PUT /v1/vm is 409 in run mode: the VM came from the command line', async () => {
    assertError(await t.client.request('PUT', '/v1/vm', { memory: 67108864 }), 409, 'already-configured');
  });

  it('serves the OpenAPI document', async () => {
    const r = await t.client.request('GET', '/openapi.json');
    assert.equal(r.status, 200);
    const doc = r.body as { openapi: string; paths: Record<string, object>; components: { schemas: Record<string, object> } };
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/v1/vm/pause']);
    assert.ok(doc.components.schemas['VmConfig']);
  });

  it('stops the VM; then verbs are 409', async () => {
    const r = await t.client.request('POST', '/v1/vm/stop');
    assert.deepEqual(r.body, { state: 'stopped', exit: { code: 0, reason: 'stopped through the API' } });
    assertError(await t.client.request('POST', '/v1/vm/resume'), 409, 'invalid-state');
    const d = (await t.client.request('GET', '/v1/vm')).body as { exit: { code: number } };
    assert.equal(d.exit.code, 0);
  });
});

describe('API server in serve mode', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer('serve');
  });
  after(() => t.close());

  it('has no VM until PUT /v1/vm; verbs before it are 409 not-configured', async () => {
    const d = (await t.client.request('GET', '/v1/vm')).body as { state: string; config: null; vmm: { mode: string } };
    assert.equal(d.state, 'unconfigured');
    assert.equal(d.config, null);
    assert.equal(d.vmm.mode, 'serve');
    assertError(await t.client.request('POST', '/v1/vm/start'), 409, 'not-configured');
    assertError(await t.client.request('GET', '/v1/vm/inspect'), 409, 'not-configured');
  });

  it('refuses invalid configs with the key path: unknown keys, wrong types, out-of-range values', async () => {
    let e = assertError(await t.client.request('PUT', '/v1/vm', { memroy: 1 }), 400, 'invalid-config');
    assert.deepEqual(e.path, ['memroy']);
    assert.match(e.message, /^memroy: unknown key/);
    e = assertError(await t.client.request('PUT', '/v1/vm', { cpus: '2' }), 400, 'invalid-config');
    assert.equal(e.message, 'cpus: "2" is not accepted (expected an integer from 1 to 255)');
    e = assertError(await t.client.request('PUT', '/v1/vm', { cpus: 0 }), 400, 'invalid-config');
    e = assertError(await t.client.request('PUT', '/v1/vm', { disks: [{ path: 'a.img', format: 'vmdk' }] }), 400, 'invalid-config');
    assert.deepEqual(e.path, ['disks', 0, 'format']);
    assertError(await t.client.request('PUT', '/v1/vm', [1, 2]), 400, 'invalid-config');
    assertError(await t.client.request('PUT', '/v1/vm'), 400, 'invalid-body');
    assert.equal(t.controller.vm, null);
  });

  it('configures once, then starts', async () => {
    const r = await t.client.request('PUT', '/v1/vm', { memory: 134217728, accel: 'emu' });
    assert.equal(r.status, 200, r.text);
    assert.equal((r.body as { state: string }).state, 'created');
    assertError(await t.client.request('PUT', '/v1/vm', { memory: 134217728 }), 409, 'already-configured');
    assertError(await t.client.request('POST', '/v1/vm/pause'), 409, 'invalid-state');
    assert.deepEqual((await t.client.request('POST', '/v1/vm/start')).body, { state: 'running', exit: null });
    assert.equal(t.vm().config.memory, 134217728);
  });
});

describe('API socket path', () => {
  it('refuses a path a live server holds, replaces a stale socket, leaves other files alone', async () => {
    const t = await startTestServer('run');
    try {
      await assert.rejects(listenApi(t.path, t.controller), (e: Error) => e instanceof SocketPathError && /in use/.test(e.message));
      assert.equal((await t.client.request('GET', '/v1/vm')).status, 200, 'the first server is unharmed');
      // A stale socket: its server was killed and could not remove the file.
      const stale = join(t.dir, 'stale.sock');
      const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`]);
      await new Promise((r) => child.stdout.once('data', r));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      assert.ok(lstatSync(stale).isSocket());
      const second = await listenApi(stale, t.controller);
      await second.close();
      await assert.rejects(listenApi(join(t.dir), t.controller), SocketPathError);
    } finally {
      await t.close();
    }
  });
});
