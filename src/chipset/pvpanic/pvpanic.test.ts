import assert from 'node:assert/strict';
import test from 'node:test';
import { fuzzDevice } from '../../bus/device-fuzz.js';
import { RecordingMachineControl } from '../../bus/machine.js';
import { createPvpanic } from './pvpanic.js';
import { PVPANIC_CRASH_LOADED, PVPANIC_PANICKED, PVPANIC_PORT } from './regs.js';

test('reading the port reports the supported events (panicked, crash loaded)', () => {
  const dev = createPvpanic({}, { machine: new RecordingMachineControl() });
  assert.equal(dev.pio.read(PVPANIC_PORT, 1), PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
});

test('a panic event becomes a machine crash request; other values do not', () => {
  const machine = new RecordingMachineControl();
  const dev = createPvpanic({}, { machine });
  dev.pio.write(PVPANIC_PORT, 1, 0);
  dev.pio.write(PVPANIC_PORT, 1, 0x80);
  assert.deepEqual(machine.requests, []);
  dev.pio.write(PVPANIC_PORT, 1, PVPANIC_PANICKED);
  assert.deepEqual(machine.requests, [{ kind: 'crash', source: 'pvpanic', message: 'kernel panic (reported through pvpanic)' }]);
});

test('it describes itself to ACPI as QEMU0001 with its port', () => {
  const dev = createPvpanic({}, { machine: new RecordingMachineControl() });
  const aml = Buffer.concat(dev.aml().map((n) => Buffer.from(n.encode())));
  assert.ok(aml.includes(Buffer.from('QEMU0001')));
  // IO port descriptor (0x47) with min = max = 0x505.
  assert.ok(aml.includes(Buffer.from([0x47, 0x01, 0x05, 0x05, 0x05, 0x05])));
});

test('saved state round-trips through JSON', () => {
  const dev = createPvpanic({}, { machine: new RecordingMachineControl() });
  dev.pio.write(PVPANIC_PORT, 1, PVPANIC_CRASH_LOADED);
  const saved = JSON.parse(JSON.stringify(dev.save()));
  const again = createPvpanic({}, { machine: new RecordingMachineControl() }, saved);
  assert.deepEqual(again.save(), dev.save());
  assert.equal(again.inspect().children!['events']!.value, PVPANIC_CRASH_LOADED);
});

test('random accesses never throw', () => {
  fuzzDevice(() => createPvpanic({}, { machine: new RecordingMachineControl() }));
});
