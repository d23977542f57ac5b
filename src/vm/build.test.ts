import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sampleVmlinux } from '../loader/test-images.js';
import { buildVm, VmBuildError } from './build.js';
import { formatConfigPath, parseVmConfig } from './config.js';
import { checkConfigFiles, checkInputFile } from './input-file.js';

let dir = '';
let kernel = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsvmm-build-'));
  kernel = join(dir, 'vmlinux');
  writeFileSync(kernel, sampleVmlinux());
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Asserts a one-line VmBuildError with this message and key path. */
function buildError(message: RegExp, path: readonly (string | number)[] | undefined) {
  return (e: unknown) => {
    assert.ok(e instanceof VmBuildError, String(e));
    assert.equal(e.name, 'VmBuildError');
    assert.match(e.message, message);
    assert.ok(!e.message.includes('\n'));
    assert.deepEqual(e.path, path);
    return true;
  };
}

describe('buildVm', () => {
  it('builds a VM in state created and says which backend it picked', async () => {
    const lines: string[] = [];
    const prepared = await buildVm(parseVmConfig({ accel: 'auto', memory: 32 * 1024 * 1024, kernel }), { log: (l) => lines.push(l) });
    try {
      assert.equal(prepared.vm.state, 'created');
      assert.equal(prepared.vm.config.kernel, kernel);
      assert.match(lines.join('\n'), /^using the software CPU \(/);
    } finally {
      await prepared.release();
    }
  });

  it('refuses what it cannot build with the one-line messages of `tsvmm run` and the key', async () => {
    await assert.rejects(buildVm(parseVmConfig({ accel: 'kvm', kernel })), buildError(/^--accel kvm: .*\(use --accel emu\)$/, ['accel']));
    await assert.rejects(
      buildVm(parseVmConfig({ accel: 'emu', kernel: join(dir, 'none') })),
      buildError(new RegExp(`^--kernel: ${join(dir, 'none')}: no such file$`), ['kernel']),
    );
    await assert.rejects(
      buildVm(parseVmConfig({ accel: 'emu', kernel, initrd: join(dir, 'none.cpio') })),
      buildError(/^--initrd: .*none\.cpio: no such file$/, ['initrd']),
    );
    await assert.rejects(
      buildVm(parseVmConfig({ accel: 'emu', kernel, disks: [{ path: join(dir, 'missing.img') }] })),
      buildError(/^--disk: .*missing\.img: /, ['disks', 0]),
    );
  });
});

describe('checkInputFile and checkConfigFiles', () => {
  it('name the place, the file and what is wrong; the error carries the key', () => {
    assert.throws(() => checkInputFile('--kernel', join(dir, 'x')), buildError(/^--kernel: .*x: no such file$/, undefined));
    assert.throws(() => checkInputFile('--kernel', dir), buildError(/: is a directory$/, undefined));
    const config = parseVmConfig({ kernel, disks: [{ path: kernel }, { path: join(dir, 'gone.img'), readonly: true }] });
    assert.throws(() => checkConfigFiles(config, formatConfigPath, 'HINT'), buildError(/^disks\[1\]\.path: .*gone\.img: no such file$/, ['disks', 1, 'path']));
    assert.throws(
      () => checkConfigFiles(parseVmConfig({ initrd: join(dir, 'i') }), (p) => `--config: vm.json: ${formatConfigPath(p)}`, 'HINT'),
      buildError(/^--config: vm\.json: initrd: .*: no such file$/, ['initrd']),
    );
  });

  it('a disk the guest writes must be writable; the hint says how to attach it read-only', (t) => {
    if (process.getuid?.() === 0) return t.skip('root can write any file');
    const ro = join(dir, 'ro.img');
    writeFileSync(ro, Buffer.alloc(512));
    chmodSync(ro, 0o444);
    const config = parseVmConfig({ disks: [{ path: ro }] });
    assert.throws(() => checkConfigFiles(config, formatConfigPath, 'add ,readonly'), buildError(/cannot write: permission denied \(add ,readonly\)$/, ['disks', 0, 'path']));
    checkConfigFiles(parseVmConfig({ disks: [{ path: ro, readonly: true }] }), formatConfigPath, 'add ,readonly');
  });
});
