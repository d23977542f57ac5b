/**
 * PUT /v1/vm/restore in front of the fake VM: a serve-mode VMM takes its VM
 * from a snapshot directory, paused or running; bad bodies, directories
 * without a (valid) snapshot and a VMM that already has its VM are refused
 * with stable codes and change nothing.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse } from './client.js';
import { VmmController } from './controller.js';
import { ApiError } from './errors.js';
import { FakeVm } from './fake-vm.js';
import { startTestServer, type TestServer } from './test-server.js';
import { SNAPSHOT_CONFIG, writeTestSnapshot } from './test-snapshot.js';

function assertError(r: ApiResponse, status: number, code: string): { code: string; message: string; path?: unknown[] } {
  assert.equal(r.status, status, r.text);
  const err = (r.body as { error: { code: string; message: string; path?: unknown[] } }).error;
  assert.equal(err.code, code, r.text);
  assert.ok(err.message.length > 0 && !err.message.includes('\n'), err.message);
  return err;
}

describe('PUT /v1/vm/restore in serve mode', () => {
  let t: TestServer;
  let snap = '';
  before(async () => {
    t = await startTestServer('serve');
    snap = join(t.dir, 'snap');
    writeTestSnapshot(snap);
  });
  after(() => t.close());

  it('refuses malformed bodies with the key path, before looking at the disk', async () => {
    const cases: Array<[unknown, unknown[] | undefined]> = [
      [{ dir: 'relative/snap' }, ['dir']],
      [{ dir: '' }, ['dir']],
      [{ dir: '/tmp/a\u0000b' }, ['dir']],
      [{ dir: 7 }, ['dir']],
      [{}, ['dir']],
      [{ dir: snap, resume: 'yes' }, ['resume']],
      [{ dir: snap, resume: true, now: 1 }, ['now']],
      [{ path: snap }, undefined],
      [[snap], []],
      ['/tmp/snap', []],
      [null, []],
    ];
    for (const [body, path] of cases) {
      const e = assertError(await t.client.request('PUT', '/v1/vm/restore', body), 400, 'invalid-body');
      if (path !== undefined) assert.deepEqual(e.path, path, JSON.stringify(body));
    }
    assertError(await t.client.request('PUT', '/v1/vm/restore'), 400, 'invalid-body');
    const m = assertError(await t.client.request('POST', '/v1/vm/restore', { dir: snap }), 405, 'method-not-allowed');
    assert.match(m.message, /restore/);
    assert.equal(t.controller.vm, null);
  });

  it('answers invalid-snapshot for a directory without a snapshot, or with a damaged one', async () => {
    let e = assertError(await t.client.request('PUT', '/v1/vm/restore', { dir: join(t.dir, 'none') }), 400, 'invalid-snapshot');
    assert.equal(e.message, `${join(t.dir, 'none')}: no snapshot there (no snapshot.json)`);
    assert.deepEqual(e.path, ['dir']);
    const bad = join(t.dir, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'snapshot.json'), '{"magic": "tsvmm-snapshot", "formatVersion": 1');
    e = assertError(await t.client.request('PUT', '/v1/vm/restore', { dir: bad }), 400, 'invalid-snapshot');
    assert.match(e.message, /the manifest is corrupt/);
    writeFileSync(join(bad, 'snapshot.json'), JSON.stringify({ magic: 'tsvmm-snapshot', formatVersion: 99, tsvmmVersion: '9.0.0' }));
    e = assertError(await t.client.request('PUT', '/v1/vm/restore', { dir: bad }), 400, 'invalid-snapshot');
    assert.match(e.message, /format version 99 \(written by tsvmm 9\.0\.0\) is newer/);
    assert.equal(t.controller.vm, null);
    assert.equal(((await t.client.request('GET', '/v1/vm')).body as { state: string }).state, 'unconfigured');
  });

  it('restores paused by default, with the snapshot\'s config; then everything else that would give a VM is 409', async () => {
    const r = await t.client.request('PUT', '/v1/vm/restore', { dir: `${snap}/` });
    assert.equal(r.status, 200, r.text);
    const d = r.body as { state: string; config: unknown; vmm: { mode: string } };
    assert.equal(d.state, 'paused');
    assert.deepEqual(d.config, SNAPSHOT_CONFIG);
    assert.equal(d.vmm.mode, 'serve');
    assert.deepEqual(t.vm().calls, ['start paused']);
    const again = assertError(await t.client.request('PUT', '/v1/vm/restore', { dir: snap, resume: true }), 409, 'already-configured');
    assert.match(again.message, /already has its VM/);
    assertError(await t.client.request('PUT', '/v1/vm', { accel: 'emu' }), 409, 'already-configured');
    assertError(await t.client.request('POST', '/v1/vm/start'), 409, 'invalid-state');
    assert.deepEqual(t.vm().calls, ['start paused']);
    assert.deepEqual((await t.client.request('POST', '/v1/vm/resume')).body, { state: 'running', exit: null });
  });
});

describe('PUT /v1/vm/restore with resume, and in run mode', () => {
  it('runs the restored VM at once with resume: true', async () => {
    const t = await startTestServer('serve');
    try {
      const snap = join(t.dir, 'snap');
      writeTestSnapshot(snap);
      const r = await t.client.request('PUT', '/v1/vm/restore', { dir: snap, resume: true });
      assert.equal(r.status, 200, r.text);
      assert.equal((r.body as { state: string }).state, 'running');
      assert.deepEqual(t.vm().calls, ['start']);
    } finally {
      await t.close();
    }
  });

  it('is 409 already-configured when the VM came from the command line (run)', async () => {
    const t = await startTestServer('run');
    try {
      const snap = join(t.dir, 'snap');
      writeTestSnapshot(snap);
      const calls = t.vm().calls.length;
      assertError(await t.client.request('PUT', '/v1/vm/restore', { dir: snap }), 409, 'already-configured');
      // Refused before the snapshot is looked at: a bad directory is the same 409.
      assertError(await t.client.request('PUT', '/v1/vm/restore', { dir: join(t.dir, 'none') }), 409, 'already-configured');
      assert.equal(t.vm().calls.length, calls);
    } finally {
      await t.close();
    }
  });
});

describe('VmmController.restore', () => {
  let scratch = '';
  let dir = '';
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'tsvmm-restore-'));
    dir = join(scratch, 'snap');
    writeTestSnapshot(dir);
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('starts the restored VM only once the VM listeners (the console) are ready', async () => {
    let vm: FakeVm | null = null;
    const controller = new VmmController({ factory: async () => new FakeVm(), restorer: async (s) => (vm = new FakeVm(s.manifest.config)) });
    let ready: () => void = () => {};
    controller.onVm(() => new Promise<void>((r) => (ready = r)));
    const restoring = controller.restore({ dir, resume: true });
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(vm, 'built');
    assert.deepEqual((vm as FakeVm).calls, [], 'not started before the console is attached');
    ready();
    assert.equal((await restoring).state, 'running');
    assert.deepEqual((vm as FakeVm).calls, ['start']);
    controller.close();
  });

  it('passes on what the restorer and the listeners refuse', async () => {
    const refusing = new VmmController({
      factory: async () => new FakeVm(),
      restorer: async () => {
        throw new ApiError('invalid-snapshot', 'the disk is gone', ['dir']);
      },
    });
    await assert.rejects(refusing.restore({ dir, resume: false }), (e: Error) => e instanceof ApiError && e.code === 'invalid-snapshot');
    assert.equal(refusing.vm, null);

    const vm = new FakeVm();
    const noConsole = new VmmController({ factory: async () => new FakeVm(), restorer: async () => vm });
    noConsole.onVm(() => Promise.reject(new ApiError('invalid-config', 'serial: the socket is taken', ['serial'])));
    await assert.rejects(noConsole.restore({ dir, resume: true }), (e: Error) => e instanceof ApiError && e.code === 'invalid-config');
    assert.deepEqual(vm.calls, [], 'never started');
  });
});
