import assert from 'node:assert/strict';
import test from 'node:test';
import { TableDir, acpicaSkipReason, problemLines } from '../../acpi/acpica-tools.js';
import { layoutAcpiTables } from '../../acpi/tables.js';
import { RestoreError } from '../../bus/device.js';
import { fuzzDevice } from '../../bus/device-fuzz.js';
import { GsiLine, type IrqSink } from '../../bus/irq.js';
import { silentSink } from '../../bus/log.js';
import { RecordingMachineControl } from '../../bus/machine.js';
import { createAcpiPm } from '../../chipset/acpi-pm/acpi-pm.js';
import { GuestMemory } from '../../memory/guest-memory.js';
import * as V from '../regs.js';
import { ECHO_DEVICE_TYPE, ECHO_FEATURE, EchoModel } from '../testing/echo-model.js';
import { SplitDriver } from '../testing/split-driver.js';
import { MAGIC, MMIO_BASE, REG, INT_CONFIG, INT_VRING } from './regs.js';
import { VirtioMmio } from './virtio-mmio.js';

class Edges implements IrqSink {
  rises = 0;
  setIrq(_gsi: number, level: boolean): void {
    if (level) this.rises++;
  }
}

function make(saved?: ConstructorParameters<typeof VirtioMmio>[4], memory = GuestMemory.create(4 << 20, { backing: 'shared' })) {
  const edges = new Edges();
  const model = new EchoModel();
  const dev = new VirtioMmio('vmmio0', model, { base: MMIO_BASE, index: 0 }, { memory, irq: new GsiLine(5, edges), log: silentSink }, saved);
  const r = (off: number) => dev.mmio.read(MMIO_BASE + off, 4);
  const w = (off: number, v: number) => dev.mmio.write(MMIO_BASE + off, 4, v);
  /** virtio_mmio.c's probe and vm_find_vqs, with split rings from 0x100000. */
  const init = (features: V.FeatureWords = V.featureUnion(V.features(V.F_VERSION_1, V.F_EVENT_IDX), V.features(ECHO_FEATURE))) => {
    w(REG.status, 0);
    w(REG.status, V.STATUS_ACKNOWLEDGE | V.STATUS_DRIVER);
    w(REG.driverFeaturesSel, 0);
    w(REG.driverFeatures, features[0]);
    w(REG.driverFeaturesSel, 1);
    w(REG.driverFeatures, features[1]);
    w(REG.status, V.STATUS_ACKNOWLEDGE | V.STATUS_DRIVER | V.STATUS_FEATURES_OK);
    const queues: SplitDriver[] = [];
    for (let i = 0; i < 2; i++) {
      w(REG.queueSel, i);
      assert.equal(r(REG.queueReady), 0);
      const size = r(REG.queueNumMax);
      const q = new SplitDriver(memory, 0x100000 + i * 0x10000, size);
      w(REG.queueNum, size);
      w(REG.queueDescLow, q.desc);
      w(REG.queueDescHigh, 0);
      w(REG.queueDriverLow, q.avail);
      w(REG.queueDriverHigh, 0);
      w(REG.queueDeviceLow, q.used);
      w(REG.queueDeviceHigh, 0);
      w(REG.queueReady, 1);
      queues.push(q);
    }
    w(REG.status, V.STATUS_ACKNOWLEDGE | V.STATUS_DRIVER | V.STATUS_FEATURES_OK | V.STATUS_DRIVER_OK);
    return queues;
  };
  return { dev, model, edges, memory, r, w, init };
}

test('identification registers as virtio_mmio_probe() checks them', () => {
  const { r } = make();
  assert.equal(r(REG.magicValue), MAGIC);
  assert.equal(r(REG.version), 2, 'non-legacy');
  assert.equal(r(REG.deviceId), ECHO_DEVICE_TYPE);
  assert.equal(r(REG.shmLenLow), 0xffffffff, 'no shared memory regions');
});

test('features, queues and status: a driver brings the device up and kicks a queue through QueueNotify', () => {
  const { r, w, init, model, memory, edges } = make();
  w(REG.deviceFeaturesSel, 1);
  assert.ok(r(REG.deviceFeatures) & 1, 'VERSION_1 in the high word');
  w(REG.deviceFeaturesSel, 0);
  assert.ok(r(REG.deviceFeatures) & (1 << ECHO_FEATURE));
  w(REG.queueSel, 9);
  assert.equal(r(REG.queueNumMax), 0, 'no such queue');
  const [q0] = init();
  assert.ok(model.active);
  assert.equal(r(REG.status) & V.STATUS_DRIVER_OK, V.STATUS_DRIVER_OK);
  memory.write(0x300000, Uint8Array.of(1, 2, 3));
  q0!.setUsedEvent(0);
  q0!.add([{ addr: 0x300000, len: 3, write: false }, { addr: 0x301000, len: 3, write: true }]);
  w(REG.queueNotify, 0);
  assert.deepEqual(q0!.takeUsed(), [{ id: 0, len: 3 }]);
  assert.deepEqual([...memory.read(0x301000, 3)], [1, 2, 3]);
  assert.equal(edges.rises, 1);
  assert.equal(r(REG.interruptStatus), INT_VRING);
  w(REG.interruptAck, INT_VRING);
  assert.equal(r(REG.interruptStatus), 0);
  model.link!.configChanged();
  assert.equal(r(REG.interruptStatus), INT_CONFIG);
  assert.equal(r(REG.configGeneration), 1);
  assert.equal(edges.rises, 2);
});

test('queue registers are frozen after DRIVER_OK; feature refusal keeps FEATURES_OK clear', () => {
  const { r, w, init, dev } = make();
  init();
  w(REG.queueSel, 0);
  const before = dev.core.queues[0]!.descLo;
  w(REG.queueDescLow, 0x5000);
  w(REG.queueNum, 4);
  assert.equal(dev.core.queues[0]!.descLo, before);
  assert.equal(dev.core.queues[0]!.size, 16);
  assert.equal(r(REG.queueDescLow), 0, 'write-only registers read as 0');
  w(REG.status, 0);
  w(REG.status, V.STATUS_ACKNOWLEDGE | V.STATUS_DRIVER);
  w(REG.driverFeaturesSel, 0);
  w(REG.driverFeatures, 1 << ECHO_FEATURE);
  w(REG.status, V.STATUS_ACKNOWLEDGE | V.STATUS_DRIVER | V.STATUS_FEATURES_OK);
  assert.equal(r(REG.status) & V.STATUS_FEATURES_OK, 0, 'no VERSION_1');
});

test('device config at 0x100 with any access width', () => {
  const { dev } = make();
  dev.mmio.write(MMIO_BASE + REG.config, 2, 0xbeef);
  assert.equal(dev.mmio.read(MMIO_BASE + REG.config, 1), 0xef);
  assert.equal(dev.mmio.read(MMIO_BASE + REG.config, 4), 0xbeef);
  assert.equal(dev.mmio.read(MMIO_BASE + REG.config + 8, 4), 0xffffffff, 'past the config space');
});

test('save -> JSON -> restore keeps the running queues', () => {
  const a = make();
  const [q0] = a.init();
  const saved = JSON.parse(JSON.stringify(a.dev.save()));
  const b = make(saved, a.memory);
  assert.deepEqual(b.dev.save(), a.dev.save());
  a.memory.write(0x300000, Uint8Array.of(5));
  q0!.add([{ addr: 0x300000, len: 1, write: false }, { addr: 0x301000, len: 1, write: true }]);
  b.w(REG.queueNotify, 0);
  assert.equal(q0!.takeUsed().length, 1);
  assert.throws(() => make({ version: 3 }), RestoreError);
});

test('fuzz: random register accesses never throw', () => {
  fuzzDevice(() => make().dev, { runs: 150 });
});

const skip = acpicaSkipReason();

test('iasl: LNRO0005 with its register page and an edge-triggered interrupt', { skip }, () => {
  const { dev } = make();
  const pm = createAcpiPm({}, { machine: new RecordingMachineControl() });
  const tables = layoutAcpiTables({ cpus: 1, devices: [dev], pm: pm.registers }).tables.filter((t) => t.signature !== 'RSD PTR ');
  const dir = new TableDir();
  try {
    dir.writeTables(tables);
    const d = dir.disassemble('dsdt.dat');
    assert.equal(d.status, 0, d.output);
    assert.deepEqual(problemLines(d.output + d.dsl), []);
    assert.match(d.dsl, /Device \(VR00\)/);
    assert.match(d.dsl, /Name \(_HID, "LNRO0005"\)/);
    assert.match(d.dsl, /Memory32Fixed \(ReadWrite,\s+0xFEB00000,\s+\/\/ Address Base\s+0x00001000,/);
    assert.match(d.dsl, /Interrupt \(ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, \)\s+\{\s+0x00000005,/);
  } finally {
    dir.close();
  }
});
