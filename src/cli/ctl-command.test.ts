import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../api/test-server.js';
import { writeTestSnapshot } from '../api/test-snapshot.js';
import { ExitCode, UsageError } from './errors.js';
import { runCtl } from './ctl-command.js';
import { captureIo } from './io.js';

async function ctl(socket: string, verb: string, ...args: string[]) {
  const io = captureIo();
  const code = await runCtl(socket, verb, args, io);
  return { code, out: io.out, err: io.err };
}

describe('tsvmm ctl against a VMM', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer('run');
  });
  after(() => t.close());

  it('describe and inspect print JSON', async () => {
    const d = await ctl(t.path, 'describe');
    assert.equal(d.code, 0);
    assert.equal((JSON.parse(d.out) as { state: string }).state, 'running');
    assert.match(d.out, /^\{\n {2}"state"/, 'pretty-printed');
    const i = await ctl(t.path, 'inspect', 'machine/vcpus/0/rip');
    assert.equal(i.out, '"0xffffffff81000000"\n');
  });

  it('verbs print one short line; a refused verb is one line on stderr and exit 2', async () => {
    assert.deepEqual(await ctl(t.path, 'pause'), { code: 0, out: 'paused\n', err: '' });
    assert.deepEqual(await ctl(t.path, 'pause'), {
      code: ExitCode.Usage,
      out: '',
      err: 'tsvmm: ctl pause: cannot pause a VM that is paused [invalid-state]\n',
    });
    assert.equal((await ctl(t.path, 'resume')).out, 'running\n');
    assert.equal((await ctl(t.path, 'shutdown')).out, 'power button pressed (the guest decides)\n');
    assert.equal((await ctl(t.path, 'nmi')).out, 'NMI sent to vCPU 0\n');
  });

  it('snapshot sends the path as this shell means it (absolute)', async () => {
    const r = await ctl(t.path, 'snapshot', join(t.dir, 'snap'));
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `snapshot written to ${join(t.dir, 'snap')} (running)\n`);
    const cwd = process.cwd();
    process.chdir(t.dir); // each test file runs in its own process
    try {
      const rel = await ctl(t.path, 'snapshot', 'relative-snap');
      assert.equal(rel.out, `snapshot written to ${join(t.dir, 'relative-snap')} (running)\n`);
    } finally {
      process.chdir(cwd);
    }
  });

  it('usage mistakes throw UsageError (exit 2 in main); a config file is read and checked locally', async () => {
    await assert.rejects(ctl(t.path, 'explode'), (e: Error) => e instanceof UsageError && /"explode" is not a verb/.test(e.message));
    await assert.rejects(ctl(t.path, 'inspect', 'a', 'b'), /ctl inspect: expected at most 1 argument \(usage: tsvmm ctl SOCKET inspect \[PATH\]\)/);
    await assert.rejects(ctl(t.path, 'snapshot'), /ctl snapshot: expected 1 argument \(usage: tsvmm ctl SOCKET snapshot PATH\)/);
    await assert.rejects(ctl(t.path, 'configure', join(t.dir, 'none.json')), /ctl configure: .*none\.json: no such file/);
    const bad = join(t.dir, 'bad.json');
    writeFileSync(bad, '{"memory": ');
    await assert.rejects(ctl(t.path, 'configure', bad), /ctl configure: .*bad\.json: malformed JSON/);
    await assert.rejects(ctl(t.path, 'toString'), /"toString" is not a verb/);
  });

  it('events prints one JSON object per line until the exit', async () => {
    const done = ctl(t.path, 'events');
    await new Promise((r) => setTimeout(r, 100));
    await ctl(t.path, 'stop');
    const r = await done;
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as unknown);
    assert.deepEqual(lines.at(-1), { type: 'exit', code: 0, reason: 'stopped through the API' });
    assert.deepEqual(lines[0], { type: 'state', state: 'running' });
  });
});

describe('tsvmm ctl when the VMM is gone or failing', () => {
  it('exits 3 when nothing answers, with one line', async () => {
    const r = await ctl('/nonexistent/dir/vm.sock', 'describe');
    assert.equal(r.code, ExitCode.VmmFailure);
    assert.match(r.err, /^tsvmm: ctl describe: cannot reach the VMM: [^\n]*no such socket[^\n]*\n$/);
  });

  it('exits 3 on a 5xx answer, with the server message', async () => {
    const t = await startTestServer('run');
    const path = join(t.dir, 'failing.sock');
    const failing = createServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'internal-error', message: 'the disk caught fire' } }));
    });
    await new Promise<void>((r) => failing.listen(path, r));
    try {
      const r = await ctl(path, 'pause');
      assert.equal(r.code, ExitCode.VmmFailure);
      assert.equal(r.err, 'tsvmm: ctl pause: the disk caught fire [internal-error]\n');
    } finally {
      failing.close();
      await t.close();
    }
  });
});

describe('tsvmm ctl restore against a serve-mode VMM', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer('serve');
    writeTestSnapshot(join(t.dir, 'snap'));
  });
  after(() => t.close());

  it('usage mistakes are UsageErrors; a directory without a snapshot is the VMM\'s one-line refusal', async () => {
    await assert.rejects(ctl(t.path, 'restore'), /ctl restore: expected at least 1 argument \(usage: tsvmm ctl SOCKET restore DIR \[--resume\]\)/);
    await assert.rejects(ctl(t.path, 'restore', 'a', 'b'), /ctl restore: expected a snapshot directory \(usage: tsvmm ctl SOCKET restore DIR \[--resume\]\)/);
    await assert.rejects(ctl(t.path, 'restore', 'a', '--now'), (e: Error) => e instanceof UsageError && /unknown option "--now" \(expected --resume\)/.test(e.message));
    const r = await ctl(t.path, 'restore', join(t.dir, 'none'));
    assert.equal(r.code, ExitCode.Usage);
    assert.equal(r.err, `tsvmm: ctl restore: ${join(t.dir, 'none')}: no snapshot there (no snapshot.json) [invalid-snapshot]\n`);
  });

  it('restores paused, the directory as this shell means it; then a second restore is refused', async () => {
    const cwd = process.cwd();
    process.chdir(t.dir); // each test file runs in its own process
    try {
      const r = await ctl(t.path, 'restore', 'snap');
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, `restored from ${join(t.dir, 'snap')} (paused; next: resume)\n`);
    } finally {
      process.chdir(cwd);
    }
    assert.deepEqual(t.vm().calls, ['start paused']);
    const again = await ctl(t.path, 'restore', '--resume', join(t.dir, 'snap'));
    assert.equal(again.code, ExitCode.Usage);
    assert.match(again.err, /^tsvmm: ctl restore: this VMM already has its VM[^\n]*\[already-configured\]\n$/);
    assert.equal((await ctl(t.path, 'resume')).out, 'running\n');
  });

  it('restore --resume leaves it running', async () => {
    const s = await startTestServer('serve');
    try {
      writeTestSnapshot(join(s.dir, 'snap'));
      const r = await ctl(s.path, 'restore', join(s.dir, 'snap'), '--resume');
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, `restored from ${join(s.dir, 'snap')} (running)\n`);
    } finally {
      await s.close();
    }
  });
});

describe('tsvmm ctl configure against a serve-mode VMM', () => {
  it('sends relative paths of the config resolved where ctl runs, as run --config reads them', async () => {
    const t = await startTestServer('serve');
    const cwd = process.cwd();
    try {
      const file = join(t.dir, 'vm.json');
      writeFileSync(file, JSON.stringify({ accel: 'emu', kernel: 'bzImage', disks: [{ path: '/abs/disk.img', overlay: 'o.qcow2' }] }));
      process.chdir(t.dir); // each test file runs in its own process
      const r = await ctl(t.path, 'configure', 'vm.json');
      assert.equal(r.code, 0, r.err);
      const config = t.vm().config;
      assert.equal(config.kernel, join(t.dir, 'bzImage'));
      assert.equal(config.disks[0]!.path, '/abs/disk.img');
      assert.equal(config.disks[0]!.overlay, join(t.dir, 'o.qcow2'));
    } finally {
      process.chdir(cwd);
      await t.close();
    }
  });
});
