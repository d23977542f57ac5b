import assert from 'node:assert/strict';
import test from 'node:test';
import { fuzzDevice } from '../../bus/device-fuzz.js';
import { RecordingMachineControl } from '../../bus/machine.js';
import { createDebugExit } from './debug-exit.js';

test('a write of V requests debug-exit with V masked to the access width', () => {
  const machine = new RecordingMachineControl();
  const dev = createDebugExit({}, { machine });
  assert.deepEqual(dev.pio.regions, [{ name: 'debug-exit', base: 0xf4, size: 4 }]);
  dev.pio.write(0xf4, 1, 0x01);
  dev.pio.write(0xf4, 2, 0xabcd);
  dev.pio.write(0xf4, 4, 0x80000003);
  dev.pio.write(0xf5, 1, 0x1ff);
  assert.deepEqual(machine.requests, [
    { kind: 'debug-exit', value: 0x01 },
    { kind: 'debug-exit', value: 0xabcd },
    { kind: 'debug-exit', value: 0x80000003 },
    { kind: 'debug-exit', value: 0xff },
  ]);
});

test('reads return all-ones and request nothing; the port is configurable', () => {
  const machine = new RecordingMachineControl();
  const dev = createDebugExit({ port: 0x501, iosize: 2 }, { machine });
  assert.deepEqual(dev.pio.regions, [{ name: 'debug-exit', base: 0x501, size: 2 }]);
  assert.equal(dev.pio.read(0x501, 1), 0xff);
  assert.equal(dev.pio.read(0x501, 2), 0xffff);
  assert.equal(dev.pio.read(0x501, 4), 0xffffffff);
  assert.equal(machine.requests.length, 0);
});

test('save -> JSON -> restore round trip; a newer version is refused', () => {
  const machine = new RecordingMachineControl();
  const dev = createDebugExit({}, { machine });
  const copy = createDebugExit({}, { machine }, JSON.parse(JSON.stringify(dev.save())));
  assert.deepEqual(copy.save(), dev.save());
  copy.pio.write(0xf4, 1, 7);
  assert.deepEqual(machine.requests, [{ kind: 'debug-exit', value: 7 }]);
  assert.throws(() => createDebugExit({}, { machine }, { version: 2 }), /version 2/);
});

test('fuzz: random accesses never throw; every write is one request', () => {
  let writes = 0;
  let requests = 0;
  fuzzDevice(
    () => {
      const machine = { request: () => requests++ };
      const dev = createDebugExit({}, { machine });
      const write = dev.pio.write;
      return { id: dev.id, pio: { regions: dev.pio.regions, read: dev.pio.read, write: (a, s, v) => (writes++, write(a, s, v)) } };
    },
    { after: () => assert.equal(requests, writes) },
  );
});
