import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VmmController } from '../api/controller.js';
import { FakeVm } from '../api/fake-vm.js';
import { hexDump, parseReplNumber, replCompleter, runReplLine, type ReplMemory, type ReplTarget } from './repl-commands.js';

function target(): { t: ReplTarget; vm: FakeVm; ram: Uint8Array } {
  const vm = new FakeVm();
  vm.start();
  const ram = new Uint8Array(0x10000);
  const memory: ReplMemory = {
    size: ram.length,
    read: (gpa, len) => {
      if (gpa + len > ram.length) throw new Error(`0x${gpa.toString(16)}+${len} is outside guest RAM`);
      return ram.slice(gpa, gpa + len);
    },
    write: (gpa, bytes) => ram.set(bytes, gpa),
  };
  const controller = new VmmController({ vm });
  return { t: { controller, memory: () => (vm.state === 'stopped' ? null : memory) }, vm, ram };
}

describe('REPL commands', () => {
  it('pause, resume and their refusals; unknown and ambiguous commands', async () => {
    const { t, vm } = target();
    assert.deepEqual(await runReplLine('pause', t), { output: 'paused', next: 'prompt' });
    assert.equal(vm.state, 'paused');
    assert.deepEqual(await runReplLine('pause', t), { output: 'pause: cannot pause a VM that is paused', next: 'prompt' });
    assert.equal((await runReplLine('  RESUME  ', t)).output, 'running');
    assert.match((await runReplLine('frob', t)).output, /^unknown command "frob" \(type help\)$/);
    assert.match((await runReplLine('re', t)).output, /ambiguous \(resume, reset, read\)/);
    assert.equal((await runReplLine('inf', t)).output.split('\n')[0], 'state: running', 'a unique prefix is enough');
  });

  it('Enter and continue go back to the console; stop and quit end it', async () => {
    const { t, vm } = target();
    assert.deepEqual(await runReplLine('', t), { output: '', next: 'console' });
    assert.equal((await runReplLine('continue', t)).next, 'console');
    assert.deepEqual(await runReplLine('quit', t), { output: 'stopped', next: 'exit' });
    assert.equal(vm.state, 'stopped');
    assert.equal(vm.exit?.reason, 'stopped from the console');
  });

  it('shutdown, nmi and reset reach the VM', async () => {
    const { t, vm } = target();
    assert.equal((await runReplLine('shutdown', t)).output, 'power button pressed');
    assert.equal((await runReplLine('nmi', t)).output, 'NMI sent to vCPU 0');
    assert.equal((await runReplLine('reset', t)).output, 'reset; the guest boots again');
    assert.deepEqual(vm.calls.slice(-3), ['powerButton', 'nmi', 'reset']);
  });

  it('reads and writes guest memory, refusing bad arguments', async () => {
    const { t, ram } = target();
    assert.equal((await runReplLine('write 0x100 de ad BE ef', t)).output, 'wrote 4 bytes at 0x100');
    assert.deepEqual([...ram.subarray(0x100, 0x104)], [0xde, 0xad, 0xbe, 0xef]);
    assert.equal((await runReplLine('read 256 4', t)).output, `00000100: de ad be ef${' '.repeat(36)}  ....`);
    assert.match((await runReplLine('read 0x100', t)).output, /^read: missing LEN \(usage: read ADDR LEN\)$/);
    assert.match((await runReplLine('read 0x100 0', t)).output, /LEN: expected 1 to 65536/);
    assert.match((await runReplLine('write 0x100 abc', t)).output, /HEXBYTES: expected pairs of hex digits/);
    assert.match((await runReplLine('read 0xffff0 32', t)).output, /^read: failed: .*outside guest RAM/);
    await runReplLine('stop', t);
    assert.match((await runReplLine('read 0 1', t)).output, /the VM is stopped: no guest memory/);
  });

  it('inspect prints path: value lines; info summarizes', async () => {
    const { t } = target();
    const out = (await runReplLine('inspect machine/vcpus/0', t)).output.split('\n');
    assert.ok(out.includes('machine/vcpus/0/rip: 0xffffffff81000000'), out.join('\n'));
    assert.match((await runReplLine('inspect nope', t)).output, /^inspect: inspect: no node at "nope"$/);
    const info = (await runReplLine('info', t)).output;
    assert.match(info, /^state: running\nboots: 1\nmemory: 64 MiB, cpus: 1, accel: emu\nkernel: \(default guest\)\nvcpu0: rip 0xffffffff81000000/);
  });

  it('help lists every command', async () => {
    const { t } = target();
    const help = (await runReplLine('help', t)).output;
    for (const c of ['continue', 'info', 'pause', 'resume', 'reset', 'shutdown', 'nmi', 'inspect [PATH]', 'read ADDR LEN', 'write ADDR HEXBYTES', 'snapshot PATH', 'stop', 'quit', 'help']) {
      assert.match(help, new RegExp(`^  ${c.replace(/[[\]]/g, '\\$&')} `, 'm'));
    }
  });

  it('completes command names and inspect paths', () => {
    const { t } = target();
    const complete = replCompleter(t);
    assert.deepEqual(complete('pa'), [['pause '], 'pa']);
    assert.deepEqual(complete('re')[0].sort(), ['read ', 'reset ', 'resume ']);
    assert.deepEqual(complete('inspect ma'), [['machine/'], 'ma']);
    assert.deepEqual(complete('inspect machine/vc'), [['machine/vcpus/'], 'machine/vc']);
    assert.deepEqual(complete('inspect machine/vcpus/'), [['machine/vcpus/0/'], 'machine/vcpus/']);
    assert.deepEqual(complete('inspect machine/vcpus/0/r'), [['machine/vcpus/0/rip'], 'machine/vcpus/0/r']);
    assert.deepEqual(complete('inspect nothing/x'), [[], 'nothing/x']);
  });

  it('parses numbers and dumps like xxd', () => {
    assert.equal(parseReplNumber('0x1F', 'A'), 31);
    assert.equal(parseReplNumber('42', 'A'), 42);
    assert.throws(() => parseReplNumber('1e3', 'A'), /A: "1e3" is not a number/);
    assert.equal(hexDump(0x10, Uint8Array.from([0x41, 0x00, 0x7a])), `00000010: 41 00 7a${' '.repeat(39)}  A.z`);
  });
});
