import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { absoluteConfigPaths } from './config-paths.js';

test('relative paths become absolute against the directory; absolute ones and other keys stay', () => {
  const config = {
    memory: 268435456,
    kernel: 'k/bzImage',
    initrd: '/abs/initrd.img',
    cmdline: 'console=ttyS0 root=disk.img',
    disks: [{ path: 'disk.img', overlay: '../o.qcow2', readonly: false }, { path: '/d2.raw' }],
    nets: [{ mode: 'user', pcap: 'cap.pcap', hostfwd: ['tcp:127.0.0.1:8080-:80'] }, { mode: 'tap', ifname: 'tap0' }],
    serial: { mode: 'socket', path: 'vm.console' },
  };
  assert.deepEqual(absoluteConfigPaths(config, '/home/u/vms'), {
    ...config,
    kernel: '/home/u/vms/k/bzImage',
    disks: [{ path: '/home/u/vms/disk.img', overlay: '/home/u/o.qcow2', readonly: false }, { path: '/d2.raw' }],
    nets: [{ mode: 'user', pcap: '/home/u/vms/cap.pcap', hostfwd: ['tcp:127.0.0.1:8080-:80'] }, { mode: 'tap', ifname: 'tap0' }],
    serial: { mode: 'socket', path: '/home/u/vms/vm.console' },
  });
  assert.equal(config.kernel, 'k/bzImage', 'the input is not modified');
});

test('a serial of another mode and values of the wrong type are left for the schema', () => {
  const config = { kernel: 7, disks: 'nope', nets: [null, 'x'], serial: { mode: 'stdio', path: 'p' } };
  assert.deepEqual(absoluteConfigPaths(config, '/w'), config);
  assert.equal(absoluteConfigPaths(null, '/w'), null);
  assert.deepEqual(absoluteConfigPaths([1], '/w'), [1]);
});

test('never throws, and every path it changes becomes absolute (any JSON)', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.record({ kernel: fc.string(), disks: fc.array(fc.record({ path: fc.string() })) }), (junk, cfg) => {
      absoluteConfigPaths(junk, '/w');
      const out = absoluteConfigPaths(cfg, '/w') as { kernel: string; disks: { path: string }[] };
      for (const p of [out.kernel, ...out.disks.map((d) => d.path)]) assert.ok(p === '' || p.startsWith('/'));
    }),
  );
});
