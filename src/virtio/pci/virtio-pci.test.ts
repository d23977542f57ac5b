import assert from 'node:assert/strict';
import test from 'node:test';
import { RestoreError } from '../../bus/device.js';
import { fuzzDevice } from '../../bus/device-fuzz.js';
import { IoBus } from '../../bus/io-bus.js';
import { silentSink } from '../../bus/log.js';
import { GuestMemory } from '../../memory/guest-memory.js';
import { BarAllocator, IO_WINDOW, MMIO32_WINDOW, mmio64Window } from '../../pci/allocator.js';
import * as R from '../../pci/regs.js';
import { NO_VECTOR } from '../core.js';
import * as V from '../regs.js';
import { ECHO_DEVICE_TYPE, ECHO_FEATURE, EchoModel } from '../testing/echo-model.js';
import { MsiRecorder, PciDriver, pciFuzzTarget } from '../testing/pci-driver.js';
import * as P from './regs.js';
import { VirtioPci } from './virtio-pci.js';

const windows = { mmio32: MMIO32_WINDOW, mmio64: mmio64Window(4 << 20), io: IO_WINDOW };

function make(saved?: ConstructorParameters<typeof VirtioPci>[3], memory = GuestMemory.create(4 << 20, { backing: 'shared' })) {
  const msi = new MsiRecorder();
  const model = new EchoModel();
  const dev = new VirtioPci('echo0', model, { memory, msi, log: silentSink }, saved);
  const mmio = new IoBus('mmio', 2 ** 52, silentSink, false);
  const pio = new IoBus('pio', 0x10000, silentSink, false);
  new BarAllocator(windows).assign(dev.fn);
  dev.fn.attach({ mmio, pio });
  const drv = new PciDriver(dev.pci, mmio, memory);
  return { dev, model, msi, mmio, memory, drv };
}

const echoFeatures = V.featureUnion(V.features(V.F_VERSION_1, V.F_EVENT_IDX, V.F_INDIRECT_DESC), V.features(ECHO_FEATURE));

test("Linux's probe finds every virtio structure through vendor capabilities, all in the 64-bit BAR 0", () => {
  const { dev, drv } = make();
  assert.equal(dev.pci.configRead(R.DEVICE_ID, 2), 0x1040 + ECHO_DEVICE_TYPE);
  assert.equal(dev.pci.configRead(R.REVISION_ID, 1), 1, 'non-transitional devices have revision >= 1');
  assert.equal(dev.pci.configRead(R.SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
  assert.equal(dev.pci.configRead(R.BAR0, 4) & 0xf, R.BAR_MEM_TYPE_64);
  const caps = drv.probe();
  assert.deepEqual([...caps.keys()].sort(), [P.CAP_COMMON_CFG, P.CAP_NOTIFY_CFG, P.CAP_ISR_CFG, P.CAP_DEVICE_CFG, P.CAP_PCI_CFG]);
  for (const c of caps.values()) {
    assert.equal(c.bar, 0);
    assert.equal(c.offset % 4, 0, 'structures are dword aligned (4.1.4.1)');
    if (c.cfgType !== P.CAP_PCI_CFG) assert.ok(c.offset + c.length <= P.BAR_LAYOUT.size);
  }
  assert.ok(caps.get(P.CAP_COMMON_CFG)!.length >= 0x38, 'Linux requires sizeof(struct virtio_pci_common_cfg)');
  assert.equal(caps.get(P.CAP_NOTIFY_CFG)!.multiplier, 4);
  assert.equal(caps.get(P.CAP_NOTIFY_CFG)!.length, 2 * 4, 'room for both queues');
  assert.equal(caps.get(P.CAP_DEVICE_CFG)!.length, 8);
  assert.equal(dev.pci.configRead(caps.get(P.CAP_COMMON_CFG)!.at + P.CAP_LEN, 1), 16);
  assert.equal(dev.pci.configRead(caps.get(P.CAP_NOTIFY_CFG)!.at + P.CAP_LEN, 1), 20);
  assert.equal(drv.read(P.COMMON.numQueues, 2), 2);
});

test('feature negotiation: VERSION_1 is required and only offered bits are accepted', () => {
  const { drv } = make();
  drv.probe();
  const offered = drv.deviceFeatures();
  assert.ok(V.hasFeature(offered, V.F_VERSION_1) && V.hasFeature(offered, V.F_EVENT_IDX) && V.hasFeature(offered, V.F_INDIRECT_DESC));
  assert.ok(V.hasFeature(offered, ECHO_FEATURE));
  assert.ok(!V.hasFeature(offered, V.F_ACCESS_PLATFORM));
  assert.equal(drv.init({ features: V.features(ECHO_FEATURE) }) & V.STATUS_FEATURES_OK, 0, 'legacy-only driver refused');
  assert.equal(drv.init({ features: V.features(V.F_VERSION_1, 40) }) & V.STATUS_FEATURES_OK, 0, 'unoffered bit refused');
  const st = drv.init({ features: echoFeatures });
  assert.equal(st, V.STATUS_ACKNOWLEDGE | V.STATUS_DRIVER | V.STATUS_FEATURES_OK | V.STATUS_DRIVER_OK);
  drv.write(P.COMMON.driverFeatureSelect, 4, 0);
  drv.write(P.COMMON.driverFeature, 4, 0);
  assert.equal(drv.read(P.COMMON.driverFeature, 4), echoFeatures[0], 'features are frozen after FEATURES_OK');
});

test('status: DRIVER_OK needs FEATURES_OK, the driver cannot set NEEDS_RESET, and 0 resets everything', () => {
  const { drv, dev, model } = make();
  drv.probe();
  drv.write(P.COMMON.deviceStatus, 1, V.STATUS_ACKNOWLEDGE | V.STATUS_DRIVER | V.STATUS_DRIVER_OK);
  assert.equal(drv.read(P.COMMON.deviceStatus, 1), V.STATUS_ACKNOWLEDGE | V.STATUS_DRIVER);
  drv.write(P.COMMON.deviceStatus, 1, V.STATUS_DEVICE_NEEDS_RESET | V.STATUS_ACKNOWLEDGE);
  assert.equal(drv.read(P.COMMON.deviceStatus, 1) & V.STATUS_DEVICE_NEEDS_RESET, 0);
  drv.init({ features: echoFeatures });
  assert.ok(model.active);
  drv.write(P.COMMON.deviceStatus, 1, 0);
  assert.equal(drv.read(P.COMMON.deviceStatus, 1), 0);
  assert.equal(model.active, null);
  drv.write(P.COMMON.queueSelect, 2, 0);
  assert.equal(drv.read(P.COMMON.queueEnable, 2), 0);
  assert.equal(drv.read(P.COMMON.queueMsixVector, 2), NO_VECTOR);
  assert.equal(drv.read(P.COMMON.queueSize, 2), 16);
  assert.ok(dev.core.resets >= 2);
});

test('queue registers: only shrinking sizes, NO_VECTOR for vectors the table lacks, frozen after DRIVER_OK', () => {
  const { drv } = make();
  drv.probe();
  drv.write(P.COMMON.queueSelect, 2, 1);
  assert.equal(drv.read(P.COMMON.queueSize, 2), 16);
  drv.write(P.COMMON.queueSize, 2, 32);
  assert.equal(drv.read(P.COMMON.queueSize, 2), 16);
  drv.write(P.COMMON.queueSize, 2, 8);
  assert.equal(drv.read(P.COMMON.queueSize, 2), 8);
  drv.write(P.COMMON.queueMsixVector, 2, 3);
  assert.equal(drv.read(P.COMMON.queueMsixVector, 2), NO_VECTOR, 'the table has vectors 0..2');
  drv.write(P.COMMON.queueMsixVector, 2, 2);
  assert.equal(drv.read(P.COMMON.queueMsixVector, 2), 2);
  assert.equal(drv.read(P.COMMON.queueNotifyOff, 2), 1);
  drv.write(P.COMMON.queueSelect, 2, 7);
  assert.equal(drv.read(P.COMMON.queueSize, 2), 0, 'no such queue');
  drv.write(P.COMMON.queueDescLo, 4, 0x1234);
  drv.init({ features: echoFeatures, queueSize: 8 });
  drv.write(P.COMMON.queueSelect, 2, 0);
  const before = drv.read(P.COMMON.queueDescLo, 4);
  drv.write(P.COMMON.queueDescLo, 4, 0x5000);
  assert.equal(drv.read(P.COMMON.queueDescLo, 4), before);
});

test('a kick reaches the model; used buffers interrupt on the queue vector, config changes on the config vector', () => {
  const { drv, model, msi, memory } = make();
  drv.init({ features: echoFeatures, queueSize: 8 });
  memory.write(0x300000, Uint8Array.from([1, 2, 3, 4, 5]));
  const q = drv.queues[0]!;
  q.setUsedEvent(0);
  q.add([{ addr: 0x300000, len: 5, write: false }, { addr: 0x301000, len: 8, write: true }]);
  drv.kick(0);
  assert.deepEqual(model.notified, [0]);
  assert.deepEqual(q.takeUsed(), [{ id: 0, len: 5 }]);
  assert.deepEqual([...memory.read(0x301000, 5)], [1, 2, 3, 4, 5]);
  assert.equal(msi.count(1), 1, 'queue 0 uses vector 1');
  assert.equal(drv.isr() & P.ISR_QUEUE, P.ISR_QUEUE);
  assert.equal(drv.isr(), 0, 'reading the ISR clears it');
  model.link!.configChanged();
  assert.equal(msi.count(0), 1);
  assert.equal(drv.read(P.COMMON.configGeneration, 1), 1);
  assert.equal(drv.isr(), P.ISR_CONFIG);
});

test('device config goes through the device-config structure; the PCI cfg capability reaches the BAR', () => {
  const { drv, dev, model } = make();
  drv.probe();
  drv.mmio.write(drv.addr(P.CAP_DEVICE_CFG, 0), 4, 0xa1b2c3d4);
  assert.equal(drv.deviceConfig(0, 4), 0xa1b2c3d4);
  assert.equal(drv.deviceConfig(2, 1), 0xb2);
  // Through the configuration access capability: num_queues, then device config bytes.
  const cap = drv.caps.get(P.CAP_PCI_CFG)!.at;
  dev.pci.configWrite(cap + P.CAP_BAR, 1, 0);
  dev.pci.configWrite(cap + P.CAP_LENGTH, 4, 2);
  dev.pci.configWrite(cap + P.CAP_OFFSET, 4, P.BAR_LAYOUT.common + P.COMMON.numQueues);
  assert.equal(dev.pci.configRead(cap + P.PCI_CFG_CAP_DATA, 2), 2);
  dev.pci.configWrite(cap + P.CAP_LENGTH, 4, 1);
  dev.pci.configWrite(cap + P.CAP_OFFSET, 4, P.BAR_LAYOUT.device + 1);
  dev.pci.configWrite(cap + P.PCI_CFG_CAP_DATA, 1, 0x77);
  assert.equal(model.config[1], 0x77);
  dev.pci.configWrite(cap + P.CAP_LENGTH, 4, 3);
  dev.pci.configWrite(cap + P.PCI_CFG_CAP_DATA, 4, 0x99);
  assert.equal(model.config[1], 0x77, 'a window of 3 bytes is not valid: ignored');
});

test('a broken ring sets DEVICE_NEEDS_RESET and raises a config interrupt; a reset brings the device back', () => {
  const { drv, dev, msi, memory } = make();
  drv.init({ features: echoFeatures, queueSize: 8 });
  const q = drv.queues[0]!;
  q.writeDesc(q.desc, 0, 0x300000, 8, V.DESC_F_NEXT, 0);
  memory.writeU16(q.avail + 2, 1);
  drv.kick(0);
  assert.ok(drv.read(P.COMMON.deviceStatus, 1) & V.STATUS_DEVICE_NEEDS_RESET);
  assert.equal(msi.count(0), 1);
  assert.equal(dev.core.failures, 1);
  drv.kick(0);
  assert.equal(dev.core.failures, 1, 'a failed device ignores its queues');
  drv.init({ features: echoFeatures, queueSize: 8 });
  assert.equal(drv.read(P.COMMON.deviceStatus, 1) & V.STATUS_DEVICE_NEEDS_RESET, 0);
  memory.write(0x300000, Uint8Array.of(9));
  drv.queues[0]!.add([{ addr: 0x300000, len: 1, write: false }, { addr: 0x301000, len: 1, write: true }]);
  drv.kick(0);
  assert.equal(drv.queues[0]!.takeUsed().length, 1);
});

test('save -> JSON -> restore mid-run: the restored device continues the same rings', () => {
  const a = make();
  a.drv.init({ features: echoFeatures, queueSize: 8 });
  a.memory.write(0x300000, Uint8Array.of(7));
  const q = a.drv.queues[0]!;
  q.add([{ addr: 0x300000, len: 1, write: false }, { addr: 0x301000, len: 1, write: true }]);
  a.drv.kick(0);
  const saved = JSON.parse(JSON.stringify(a.dev.save()));
  const b = make(saved, a.memory);
  assert.deepEqual(b.dev.save(), a.dev.save());
  assert.ok(b.model.active, 'DRIVER_OK state was restored');
  q.add([{ addr: 0x300000, len: 1, write: false }, { addr: 0x302000, len: 1, write: true }]);
  b.drv.caps.clear();
  b.drv.probe();
  b.drv.kick(0);
  assert.deepEqual(q.takeUsed().map((u) => u.len), [1, 1]);
  assert.equal(a.memory.read(0x302000, 1)[0], 7);
  assert.throws(() => make({ version: 2 }), RestoreError);
  assert.throws(() => make({ ...saved, virtio: { ...saved.virtio, queues: [] } }), RestoreError);
});

test('fuzz: random BAR and config-space accesses never throw', () => {
  fuzzDevice(
    () => {
      const { dev, drv } = make();
      drv.init({ features: echoFeatures, queueSize: 8 });
      return pciFuzzTarget(dev.id, dev.fn);
    },
    { runs: 150 },
  );
});
