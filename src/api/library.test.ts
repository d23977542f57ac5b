import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../vm/config.js';
import { ApiClient } from './client.js';
import { ApiError } from './errors.js';
import { Vm } from './library.js';

// Booting a guest is test/vm/library.test.ts's job; these cover what happens before and around it.
describe('library Vm', () => {
  let dir = '';
  let notAKernel = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsvmm-lib-'));
    notAKernel = join(dir, 'bzImage');
    writeFileSync(notAKernel, 'not a kernel at all');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses bad configs with ConfigError naming the key', async () => {
    await assert.rejects(Vm.create({ memory: 'lots' }), (e: Error) => e instanceof ConfigError && e.message.startsWith('memory: "lots" is not accepted'));
    await assert.rejects(Vm.create({ cpus: 0 }), (e: Error) => e instanceof ConfigError && /^cpus: 0 is not accepted/.test(e.message));
    await assert.rejects(Vm.create({ kernel: join(dir, 'missing') }), (e: Error) => e instanceof ConfigError && /^kernel: .*missing: no such file/.test(e.message));
    await assert.rejects(Vm.create({ memroy: 1 } as never), (e: Error) => e instanceof ConfigError && e.path[0] === 'memroy');
  });

  it('refuses what the VM builder cannot build with ConfigError naming the key', async () => {
    await assert.rejects(
      Vm.create({ accel: 'kvm', kernel: notAKernel }),
      (e: Error) => e instanceof ConfigError && e.path[0] === 'accel' && /^accel: .*\(expected an accelerator this machine has/.test(e.message),
    );
    await assert.rejects(
      Vm.create({ accel: 'emu', kernel: notAKernel, disks: [{ path: join(dir, 'gone.img') }] }),
      (e: Error) => e instanceof ConfigError && /^disks\[0\]\.path: .*gone\.img: no such file/.test(e.message),
    );
  });

  it('takes sizes with suffixes, starts, and reports a kernel that cannot boot as vm-failed', async () => {
    const vm = await Vm.create({ memory: '64M', accel: 'emu', kernel: notAKernel });
    assert.equal(vm.config.memory, 64 * 1024 * 1024);
    assert.equal(vm.state, 'created');
    assert.deepEqual(vm.inspect('state'), 'created');
    await assert.rejects(vm.start(), (e: Error) => e instanceof ApiError && e.code === 'vm-failed' && /not a Linux kernel|kernel/i.test(e.message));
    assert.equal(vm.state, 'stopped');
    await assert.rejects(vm.console.waitFor('x', { timeoutMs: 1000 }), /the VM stopped/);
  });

  it('serves the HTTP API for its VM when asked, owner-only, until it stops', async () => {
    const socket = join(dir, 'lib.sock');
    const vm = await Vm.create({ memory: 64 * 1024 * 1024, accel: 'emu', kernel: notAKernel }, { apiSocket: socket });
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    const client = new ApiClient(socket);
    const d = (await client.request('GET', '/v1/vm')).body as { state: string; vmm: { mode: string } };
    assert.equal(d.state, 'created');
    assert.equal(d.vmm.mode, 'run');
    const exit = await vm.stop();
    assert.deepEqual(exit, { code: 0, reason: 'stopped through the API' });
    await assert.rejects(client.request('GET', '/v1/vm'), /no such socket|nobody is listening/);
  });
});
