import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { DiskError, type Disk } from './disk.js';
import { pattern } from './disk-contract.js';
import { flockBinding } from './host-ops.js';
import { lockFilePath } from './lock.js';
import { DiskOpenError } from './open-error.js';
import { openDisk } from './open.js';
import { createQcow2File } from './qcow2/create.js';

let dir = '';
let n = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsvmm-open-test-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function rawFile(contents: Uint8Array | number): string {
  const path = join(dir, `raw${n++}.img`);
  if (typeof contents !== 'number') writeFileSync(path, contents);
  else {
    const fd = openSync(path, 'w');
    ftruncateSync(fd, contents);
    closeSync(fd);
  }
  return path;
}

async function qcow2(size = 1 << 20): Promise<string> {
  const path = join(dir, `img${n++}.qcow2`);
  await createQcow2File(path, { size });
  return path;
}

async function fails(p: Promise<Disk>, kind: DiskOpenError['kind'], path: string, words: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof DiskOpenError, `expected DiskOpenError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    assert.ok(err.message.startsWith(`${path}: `), err.message);
    assert.ok(err.message.includes(words), err.message);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  });
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('openDisk', () => {
  it('opens raw and qcow2 images read-write, and read-only ones that refuse writes', async () => {
    const raw = await openDisk({ path: rawFile(1 << 20), format: 'raw', readonly: false });
    assert.equal(raw.size, 1 << 20);
    assert.equal(raw.readOnly, false);
    await raw.write(0, pattern(100, 1));
    await raw.close();
    const path = await qcow2();
    const ro = await openDisk({ path, format: 'qcow2', readonly: true });
    assert.equal(ro.readOnly, true);
    await assert.rejects(ro.write(0, new Uint8Array(512)), (e: unknown) => e instanceof DiskError && e.kind === 'readonly');
    await ro.close();
  });

  it('says which file is missing, unreadable, a directory, or not what its format claims', async () => {
    const missing = join(dir, 'nope.img');
    await fails(openDisk({ path: missing, format: 'raw', readonly: false }), 'missing', missing, 'no such file');
    const sub = join(dir, `dir${n++}`);
    mkdirSync(sub);
    await fails(openDisk({ path: sub, format: 'raw', readonly: true }), 'unsupported', sub, 'not a regular file');
    const raw = rawFile(pattern(4096, 1));
    await fails(openDisk({ path: raw, format: 'qcow2', readonly: false }), 'corrupt', raw, 'not a qcow2 image');
    const bad = await qcow2();
    const bytes = readFileSync(bad);
    bytes.writeUInt32BE(7, 20); // cluster_bits
    writeFileSync(bad, bytes);
    await fails(openDisk({ path: bad, format: 'qcow2', readonly: false }), 'corrupt', bad, 'corrupt qcow2 image: cluster_bits 7');
  });

  it('says when it may not write a file', { skip: process.getuid?.() === 0 ? 'running as root: permissions do not apply' : false }, async () => {
    const path = rawFile(4096);
    chmodSync(path, 0o444);
    await fails(openDisk({ path, format: 'raw', readonly: false }), 'unreadable', path, 'attach it with readonly');
    (await openDisk({ path, format: 'raw', readonly: true })).close();
    chmodSync(path, 0o000);
    await fails(openDisk({ path, format: 'raw', readonly: true }), 'unreadable', path, 'permission denied');
  });

  it('warns about a qcow2 image attached as raw, and a length that is not whole sectors', async () => {
    const path = await qcow2();
    const warnings: string[] = [];
    const disk = await openDisk({ path, format: 'raw', readonly: true }, { warn: (w) => warnings.push(w) });
    await disk.close();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /qcow2 header but is attached as raw/);
    const odd = rawFile(pattern(1000, 1));
    const w2: string[] = [];
    await (await openDisk({ path: odd, format: 'raw', readonly: false }, { warn: (w) => w2.push(w) })).close();
    assert.match(w2.join(), /not a whole number of 512-byte sectors/);
  });

  it('locks an image against a second writer, and a writer against readers', async () => {
    const path = await qcow2();
    const first = await openDisk({ path, format: 'qcow2', readonly: false });
    await fails(openDisk({ path, format: 'qcow2', readonly: false }), 'locked', path, 'in use by');
    await fails(openDisk({ path, format: 'qcow2', readonly: true }), 'locked', path, 'open for writing');
    await first.close();
    const r1 = await openDisk({ path, format: 'qcow2', readonly: true });
    const r2 = await openDisk({ path, format: 'qcow2', readonly: true });
    await r1.close();
    await r2.close();
    const again = await openDisk({ path, format: 'qcow2', readonly: false });
    await again.close();
    assert.equal(existsSync(lockFilePath(path)), false, 'the lock is gone after close');
  });

  it('takes over the lock of a process that died', async () => {
    const path = await qcow2();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(lockFilePath(path), `${dead.stdout}\n`);
    const disk = await openDisk({ path, format: 'qcow2', readonly: false });
    // With flock() the image itself is locked and a leftover lock file does not matter;
    // the lock-file fallback takes the file over from the dead process.
    if (flockBinding() === undefined) assert.equal(readFileSync(lockFilePath(path), 'utf8').trim(), String(process.pid));
    await disk.close();
  });

  it('creates an overlay over a read-only base, which stays byte-identical', async () => {
    const base = rawFile(pattern(2 << 20, 3));
    const before = sha256(base);
    const overlay = join(dir, `over${n++}.qcow2`);
    const vm = await openDisk({ path: base, format: 'raw', readonly: false, overlay });
    assert.equal(vm.size, 2 << 20);
    await vm.write(1000, pattern(70000, 4));
    await vm.writeZeroes(1 << 20, 65536, true);
    await vm.discard(3 << 16, 1 << 16);
    // A second VM shares the base through its own overlay.
    const overlay2 = join(dir, `over${n++}.qcow2`);
    const vm2 = await openDisk({ path: base, format: 'raw', readonly: false, overlay: overlay2 });
    await vm2.write(0, pattern(4096, 5));
    await vm.close();
    await vm2.close();
    assert.equal(sha256(base), before);

    const reopened = await openDisk({ path: base, format: 'raw', readonly: false, overlay });
    const got = new Uint8Array(2 << 20);
    await reopened.read(0, got);
    await reopened.close();
    const want = pattern(2 << 20, 3);
    want.set(pattern(70000, 4), 1000);
    want.fill(0, 1 << 20, (1 << 20) + 65536);
    want.fill(0, 3 << 16, 4 << 16);
    assert.deepEqual(got, want);
    assert.equal(sha256(base), before);
  });

  it('refuses an overlay that belongs to another base', async () => {
    const a = rawFile(1 << 20);
    const b = rawFile(1 << 20);
    const overlay = join(dir, `over${n++}.qcow2`);
    await (await openDisk({ path: a, format: 'raw', readonly: false, overlay })).close();
    await fails(openDisk({ path: b, format: 'raw', readonly: false, overlay }), 'mismatch', overlay, `is an overlay of ${a}`);
  });

  it('stops at a loop of backing files', async () => {
    const a = join(dir, `loop${n++}.qcow2`);
    const b = join(dir, `loop${n++}.qcow2`);
    await createQcow2File(a, { size: 1 << 20, backingFile: b, backingFormat: 'qcow2' });
    await createQcow2File(b, { size: 1 << 20, backingFile: a, backingFormat: 'qcow2' });
    await fails(openDisk({ path: a, format: 'qcow2', readonly: true }), 'unsupported', a, 'deeper than 16');
  });

  it('names the image and the backing file that failed', async () => {
    const gone = join(dir, 'gone.raw');
    const mid = join(dir, `mid${n++}.qcow2`);
    const top = join(dir, `top${n++}.qcow2`);
    await createQcow2File(mid, { size: 1 << 20, backingFile: gone, backingFormat: 'raw' });
    await createQcow2File(top, { size: 1 << 20, backingFile: mid, backingFormat: 'qcow2' });
    await fails(openDisk({ path: top, format: 'qcow2', readonly: false }), 'missing', top, `backing file ${gone}: no such file`);
  });
});
