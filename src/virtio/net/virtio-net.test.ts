import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { type InspectNode, RestoreError } from '../../bus/device.js';
import { IoBus } from '../../bus/io-bus.js';
import { silentSink } from '../../bus/log.js';
import { GuestMemory } from '../../memory/guest-memory.js';
import type { NetBackend } from '../../net/backend.js';
import { BarAllocator, IO_WINDOW, MMIO32_WINDOW, mmio64Window } from '../../pci/allocator.js';
import { VirtioPci } from '../pci/virtio-pci.js';
import * as V from '../regs.js';
import { MsiRecorder, PciDriver, pciFuzzTarget } from '../testing/pci-driver.js';
import { fuzzDevice } from '../../bus/device-fuzz.js';
import * as N from './regs.js';
import { VirtioNet, defaultMac, parseMacAddress } from './virtio-net.js';

/** A backend that records what the NIC sent and lets the test deliver frames. */
class FakeBackend implements NetBackend {
  deliver: ((f: Uint8Array) => boolean) | null = null;
  readonly sent: Uint8Array[] = [];
  resumes = 0;
  send(frame: Uint8Array): void {
    this.sent.push(frame.slice());
  }
  resume(): void {
    this.resumes++;
  }
  async close(): Promise<void> {}
  inspect(): InspectNode {
    return { children: { backend: { value: 'fake' } } };
  }
}

const MiB = 1 << 20;
const BASE = V.features(V.F_VERSION_1, V.F_EVENT_IDX, V.F_INDIRECT_DESC, N.F_MAC, N.F_STATUS);
const MRG = V.featureUnion(BASE, V.features(N.F_MRG_RXBUF));

function setup(opts: { features?: V.FeatureWords; saved?: ConstructorParameters<typeof VirtioPci>[3]; memory?: GuestMemory; backend?: FakeBackend; init?: boolean } = {}) {
  const memory = opts.memory ?? GuestMemory.create(8 * MiB, { backing: 'shared' });
  const backend = opts.backend ?? new FakeBackend();
  const model = new VirtioNet(backend, { mac: '52:54:00:ab:cd:ef', queueSize: 8 });
  const msi = new MsiRecorder();
  const dev = new VirtioPci('virtio-net0', model, { memory, msi, log: silentSink }, opts.saved);
  const mmio = new IoBus('mmio', 2 ** 52, silentSink, false);
  new BarAllocator({ mmio32: MMIO32_WINDOW, mmio64: mmio64Window(8 * MiB), io: IO_WINDOW }).assign(dev.fn);
  dev.fn.attach({ mmio, pio: new IoBus('pio', 0x10000, silentSink, false) });
  const drv = new PciDriver(dev.pci, mmio, memory);
  if (opts.init !== false) assert.equal(drv.init({ features: opts.features ?? MRG }) & V.STATUS_DRIVER_OK, V.STATUS_DRIVER_OK);
  /** Posts `n` receive buffers of `len` bytes each, as Linux's add_recvbuf_mergeable does. */
  const postRx = (n: number, len: number, at = 0x400000) => {
    const heads: number[] = [];
    for (let i = 0; i < n; i++) heads.push(drv.queues[N.RX_QUEUE]!.add([{ addr: at + i * 0x1000, len, write: true }]));
    drv.kick(N.RX_QUEUE);
    return heads;
  };
  return { memory, backend, model, dev, drv, msi, postRx };
}

const frame = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i + seed) & 0xff);

test('config: MAC, link up; features offer MAC, STATUS and MRG_RXBUF but no offloads', () => {
  const { drv } = setup({ init: false });
  drv.probe();
  const f = drv.deviceFeatures();
  for (const bit of [N.F_MAC, N.F_STATUS, N.F_MRG_RXBUF]) assert.ok(V.hasFeature(f, bit));
  for (const bit of [N.F_CSUM, N.F_CTRL_VQ, N.F_MQ, 1, 7, 11]) assert.ok(!V.hasFeature(f, bit), `bit ${bit}`);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => drv.deviceConfig(i, 1)), [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);
  assert.equal(drv.deviceConfig(N.CONFIG_STATUS, 2), N.S_LINK_UP);
  assert.equal(defaultMac(1), '52:54:00:12:34:57');
  assert.throws(() => parseMacAddress('52:54:00:12:34'), RangeError);
});

test('transmit: the 12-byte header is stripped and the frame handed to the backend; chains come back with length 0', () => {
  const { drv, backend, memory, msi } = setup();
  const tx = drv.queues[N.TX_QUEUE]!;
  tx.setUsedEvent(0);
  memory.fill(0x300000, 12, 0);
  memory.write(0x300000 + 12, frame(60, 1));
  // Header and frame in one buffer, then header and frame in two (both layouts Linux uses).
  tx.add([{ addr: 0x300000, len: 72, write: false }]);
  memory.fill(0x310000, 12, 0);
  memory.write(0x311000, frame(100, 2));
  tx.add([{ addr: 0x310000, len: 12, write: false }, { addr: 0x311000, len: 100, write: false }]);
  drv.kick(N.TX_QUEUE);
  assert.deepEqual(backend.sent, [frame(60, 1), frame(100, 2)]);
  assert.deepEqual(tx.takeUsed().map((u) => u.len), [0, 0]);
  assert.equal(msi.count(N.TX_QUEUE + 1), 1);
});

test('transmit drops what it cannot honour: GSO or NEEDS_CSUM headers, empty and oversized frames', () => {
  const { drv, backend, memory, model } = setup();
  const tx = drv.queues[N.TX_QUEUE]!;
  const hdr = (flags: number, gso: number) => Uint8Array.of(flags, gso, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  memory.write(0x300000, hdr(N.HDR_F_NEEDS_CSUM, 0));
  memory.write(0x301000, hdr(0, 1));
  memory.write(0x302000, hdr(0, 0));
  tx.add([{ addr: 0x300000, len: 80, write: false }]);
  tx.add([{ addr: 0x301000, len: 80, write: false }]);
  tx.add([{ addr: 0x302000, len: 12, write: false }]);
  tx.add([{ addr: 0x303000, len: 12 + N.MAX_FRAME + 1, write: false }]);
  drv.kick(N.TX_QUEUE);
  assert.equal(backend.sent.length, 0);
  assert.equal(tx.takeUsed().length, 4, 'dropped chains are still returned');
  assert.equal(model.inspect().children!.txDropped!.value, 4);
});

test('receive with mergeable buffers: a frame spans several buffers and num_buffers says how many', () => {
  const { backend, postRx, drv, memory } = setup();
  const heads = postRx(4, 256);
  const f = frame(600, 3);
  assert.equal(backend.deliver!(f), true);
  const used = drv.queues[N.RX_QUEUE]!.takeUsed();
  assert.deepEqual(used, [{ id: heads[0], len: 256 }, { id: heads[1], len: 256 }, { id: heads[2], len: 100 }]);
  assert.equal(memory.readU16(0x400000 + N.HDR_NUM_BUFFERS), 3);
  assert.equal(memory.readU8(0x400000 + N.HDR_GSO_TYPE), N.GSO_NONE);
  const got = new Uint8Array(600);
  got.set(memory.read(0x400000 + 12, 244), 0);
  got.set(memory.read(0x401000, 256), 244);
  got.set(memory.read(0x402000, 100), 500);
  assert.deepEqual(got, f);
});

test('backpressure: with too few buffers the frame is refused and nothing consumed; adding buffers resumes the backend', () => {
  const { backend, postRx, drv, model } = setup();
  postRx(1, 256);
  assert.equal(backend.deliver!(frame(600)), false);
  assert.equal(drv.queues[N.RX_QUEUE]!.usedIdx, 0, 'the one buffer went back to the ring');
  assert.equal(backend.resumes, 0);
  postRx(2, 256, 0x500000);
  assert.equal(backend.resumes, 1, 'the RX kick woke the backend');
  assert.equal(backend.deliver!(frame(600)), true);
  assert.equal(drv.queues[N.RX_QUEUE]!.takeUsed().length, 3);
  assert.equal(model.inspect().children!.rxRefused!.value, 1);
});

test('without MRG_RXBUF a frame must fit one buffer; a too-small buffer is returned empty and the frame dropped', () => {
  const { backend, postRx, drv, memory } = setup({ features: BASE });
  postRx(1, 100);
  postRx(1, 2048, 0x500000);
  assert.equal(backend.deliver!(frame(200)), true);
  assert.equal(backend.deliver!(frame(200, 5)), true);
  const used = drv.queues[N.RX_QUEUE]!.takeUsed();
  assert.deepEqual(used.map((u) => u.len), [0, 212]);
  assert.deepEqual(memory.read(0x500000 + 12, 200), frame(200, 5));
  assert.equal(memory.readU16(0x500000 + N.HDR_NUM_BUFFERS), 1);
});

test('before DRIVER_OK frames are refused; link down drops them; link up again raises a config interrupt', () => {
  const { backend, model, drv, msi, postRx } = setup({ init: false });
  assert.equal(backend.deliver!(frame(60)), false);
  drv.init({ features: MRG });
  assert.equal(backend.resumes, 1, 'DRIVER_OK lets a waiting backend retry');
  postRx(2, 2048);
  model.setLinkUp(false);
  assert.equal(drv.deviceConfig(N.CONFIG_STATUS, 2), 0);
  assert.equal(msi.count(0), 1);
  assert.equal(backend.deliver!(frame(60)), true);
  assert.equal(drv.queues[N.RX_QUEUE]!.usedIdx, 0, 'dropped on the floor');
  model.setLinkUp(true);
  assert.equal(msi.count(0), 2);
});

test('a receive chain with no writable part breaks the device', () => {
  const { backend, drv, dev } = setup();
  drv.queues[N.RX_QUEUE]!.add([{ addr: 0x400000, len: 64, write: false }]);
  assert.equal(backend.deliver!(frame(60)), true);
  assert.ok(drv.read(0x14, 1) & V.STATUS_DEVICE_NEEDS_RESET);
  assert.match(dev.core.lastFailure, /no device-writable part/);
});

test('property: any frame sizes and buffer sizes: delivered frames arrive intact, refused ones consume nothing', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 60, max: 1514 }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.integer({ min: 64, max: 2048 }), { minLength: 1, maxLength: 8 }),
      (frames, bufs) => {
        const { backend, drv, memory } = setup();
        const rx = drv.queues[N.RX_QUEUE]!;
        const addrs = new Map<number, number>();
        bufs.forEach((len, i) => addrs.set(rx.add([{ addr: 0x400000 + i * 0x1000, len, write: true }]), 0x400000 + i * 0x1000));
        drv.kick(N.RX_QUEUE);
        for (const [k, n] of frames.entries()) {
          const before = rx.usedIdx;
          const f = frame(n, k);
          if (!backend.deliver!(f)) {
            assert.equal(rx.usedIdx, before);
            continue;
          }
          const used = rx.takeUsed();
          const parts = used.map((u) => memory.read(addrs.get(u.id)!, u.len));
          const bytes = Buffer.concat(parts);
          assert.equal(bytes.readUInt16LE(N.HDR_NUM_BUFFERS), used.length);
          assert.deepEqual(new Uint8Array(bytes.subarray(12)), f);
        }
      },
    ),
    { numRuns: 150 },
  );
});

test('save -> JSON -> restore keeps the rings and the link state', () => {
  const a = setup();
  a.model.setLinkUp(false);
  a.postRx(2, 2048);
  const saved = JSON.parse(JSON.stringify(a.dev.save()));
  const b = setup({ saved, memory: a.memory, init: false });
  assert.equal(b.model.linkUp, false);
  b.model.setLinkUp(true);
  assert.equal(b.backend.deliver!(frame(100)), true);
  assert.equal(a.drv.queues[N.RX_QUEUE]!.takeUsed().length, 1);
  assert.throws(() => setup({ saved: { ...saved, version: 5 }, init: false }), RestoreError);
});

test('fuzz: random BAR and config-space accesses to a live device never throw', () => {
  fuzzDevice(() => {
    const s = setup();
    return pciFuzzTarget(s.dev.id, s.dev.fn);
  }, { runs: 100 });
});

test('a transmit burst larger than one pass finishes on a later turn without another kick', async () => {
  const { drv, backend, memory } = setup();
  const tx = drv.queues[N.TX_QUEUE]!;
  memory.fill(0x300000, 12, 0);
  let added = 0;
  // The 8-entry ring refills as the device consumes: keep it full across two passes.
  for (let i = 0; i < 8; i++) added += tx.add([{ addr: 0x300000, len: 72, write: false }]) >= 0 ? 1 : 0;
  drv.kick(N.TX_QUEUE);
  tx.takeUsed();
  for (let i = 0; i < 8; i++) added += tx.add([{ addr: 0x300000, len: 72, write: false }]) >= 0 ? 1 : 0;
  await new Promise((r) => setImmediate(r));
  assert.equal(backend.sent.length, added);
});
