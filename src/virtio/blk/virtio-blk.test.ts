import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { silentSink } from '../../bus/log.js';
import { IoBus } from '../../bus/io-bus.js';
import { GuestMemory } from '../../memory/guest-memory.js';
import { BarAllocator, IO_WINDOW, MMIO32_WINDOW, mmio64Window } from '../../pci/allocator.js';
import { VirtioPci } from '../pci/virtio-pci.js';
import { COMMON } from '../pci/regs.js';
import * as V from '../regs.js';
import { MsiRecorder, PciDriver, pciFuzzTarget } from '../testing/pci-driver.js';
import { fuzzDevice } from '../../bus/device-fuzz.js';
import { TestDisk } from '../testing/test-disk.js';
import * as B from './regs.js';
import { MAX_REQUEST_BYTES, VirtioBlk, sizeMaxFor } from './virtio-blk.js';

const MiB = 1 << 20;
const tick = () => new Promise((r) => setImmediate(r));

function setup(opts: { disk?: TestDisk; queues?: number; maxInFlight?: number; saved?: ConstructorParameters<typeof VirtioPci>[3]; memory?: GuestMemory; init?: boolean } = {}) {
  const memory = opts.memory ?? GuestMemory.create(8 * MiB, { backing: 'shared' });
  const disk = opts.disk ?? new TestDisk(1 * MiB);
  const model = new VirtioBlk(disk, { queues: opts.queues ?? 1, queueSize: 16, ...(opts.maxInFlight ? { maxInFlight: opts.maxInFlight } : {}) });
  const msi = new MsiRecorder();
  const dev = new VirtioPci('virtio-blk0', model, { memory, msi, log: silentSink }, opts.saved);
  const mmio = new IoBus('mmio', 2 ** 52, silentSink, false);
  new BarAllocator({ mmio32: MMIO32_WINDOW, mmio64: mmio64Window(8 * MiB), io: IO_WINDOW }).assign(dev.fn);
  dev.fn.attach({ mmio, pio: new IoBus('pio', 0x10000, silentSink, false) });
  const drv = new PciDriver(dev.pci, mmio, memory);
  if (opts.init !== false) assert.equal(drv.init() & V.STATUS_DRIVER_OK, V.STATUS_DRIVER_OK);
  let slot = 0;
  /** Builds a request in guest memory and adds it; returns where its status byte and data are. */
  const req = (type: number, sector: number, o: { out?: Uint8Array; inLen?: number; q?: number; indirect?: boolean; splitHeader?: boolean; kick?: boolean } = {}) => {
    const base = 0x400000 + 0x20000 * slot++;
    const hdr = base;
    memory.writeU32(hdr, type);
    memory.writeU32(hdr + 4, 0);
    memory.writeU32(hdr + 8, sector % 2 ** 32);
    memory.writeU32(hdr + 12, Math.floor(sector / 2 ** 32));
    const data = base + 0x1000;
    const status = base + 0x800;
    memory.writeU8(status, 0xee);
    const bufs = o.splitHeader
      ? [{ addr: hdr, len: 5, write: false }, { addr: hdr + 5, len: 11, write: false }]
      : [{ addr: hdr, len: 16, write: false }];
    if (o.out) {
      memory.write(data, o.out);
      bufs.push({ addr: data, len: o.out.length, write: false });
    }
    if (o.inLen) bufs.push({ addr: data, len: o.inLen, write: true });
    bufs.push({ addr: status, len: 1, write: true });
    const q = o.q ?? 0;
    const head = drv.queues[q]!.add(bufs, { indirect: o.indirect ?? false });
    if (o.kick !== false) drv.kick(q);
    return { head, status: () => memory.readU8(status), data: (n: number) => memory.read(data, n) };
  };
  return { memory, disk, model, dev, drv, msi, req };
}

const pattern = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

test('config space: capacity, limits, discard and write-zeroes fields as Linux reads them', () => {
  const { drv } = setup({ queues: 2 });
  const f = drv.deviceFeatures();
  for (const bit of [B.F_SIZE_MAX, B.F_SEG_MAX, B.F_BLK_SIZE, B.F_FLUSH, B.F_DISCARD, B.F_WRITE_ZEROES, B.F_MQ]) assert.ok(V.hasFeature(f, bit), `feature ${bit}`);
  assert.ok(!V.hasFeature(f, B.F_RO));
  const c = (off: number, size: 1 | 2 | 4 = 4) => drv.deviceConfig(off, size);
  assert.equal(c(B.CONFIG.capacity), 2048);
  assert.equal(c(B.CONFIG.capacity + 4), 0);
  assert.equal(c(B.CONFIG.segMax), 14, 'queue size - 2');
  assert.equal(c(B.CONFIG.sizeMax), 1 << 20);
  assert.ok(sizeMaxFor(254) * 254 <= MAX_REQUEST_BYTES && sizeMaxFor(1022) * 1022 <= MAX_REQUEST_BYTES, 'no buildable request is refused for size');
  assert.equal(c(B.CONFIG.blkSize), 512);
  assert.equal(c(B.CONFIG.numQueues, 2), 2);
  assert.ok(c(B.CONFIG.maxDiscardSectors) > 0 && c(B.CONFIG.maxDiscardSeg) > 0);
  assert.equal(c(B.CONFIG.writeZeroesMayUnmap, 1), 1);
  assert.equal(drv.read(COMMON.numQueues, 2), 2);
  const ro = setup({ disk: new TestDisk(MiB, true), init: false });
  ro.drv.probe();
  assert.ok(V.hasFeature(ro.drv.deviceFeatures(), B.F_RO));
  assert.ok(!V.hasFeature(ro.drv.deviceFeatures(), B.F_MQ), 'one queue: no MQ');
});

test('write then read back, with the header split across descriptors and through an indirect table', async () => {
  const { req, disk, drv } = setup();
  const w = req(B.T_OUT, 3, { out: pattern(1024), splitHeader: true });
  await tick();
  assert.equal(w.status(), B.S_OK);
  assert.deepEqual(disk.data.subarray(3 * 512, 3 * 512 + 1024), pattern(1024));
  const r = req(B.T_IN, 3, { inLen: 1024, indirect: true });
  await tick();
  assert.equal(r.status(), B.S_OK);
  assert.deepEqual(r.data(1024), pattern(1024));
  const used = drv.queues[0]!.takeUsed();
  assert.deepEqual(used.map((u) => u.len), [1, 1025], 'a read reports its data plus the status byte');
});

test('FLUSH completes only after the disk flushed; GET_ID returns the serial', async () => {
  const { req, disk } = setup();
  disk.hold = true;
  const f = req(B.T_FLUSH, 0);
  await tick();
  assert.equal(f.status(), 0xee, 'not complete while the backend flush is pending');
  await disk.release();
  assert.equal(disk.flushesDone, 1);
  assert.equal(f.status(), B.S_OK);
  disk.hold = false;
  const id = req(B.T_GET_ID, 0, { inLen: 20 });
  await tick();
  assert.equal(id.status(), B.S_OK);
  assert.equal(Buffer.from(id.data(20)).toString('latin1').replace(/\0+$/, ''), 'tsvmm-test-disk');
});

test('DISCARD and WRITE_ZEROES: ranges reach the disk; bad flags are UNSUPP, bad ranges IOERR', async () => {
  const { req, disk, memory } = setup();
  disk.data.fill(0xaa);
  const range = (sector: number, n: number, flags: number) => {
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, sector, true);
    dv.setUint32(8, n, true);
    dv.setUint32(12, flags, true);
    return b;
  };
  const both = new Uint8Array(32);
  both.set(range(0, 1, 0));
  both.set(range(4, 2, 0), 16);
  // Indirect: six three-descriptor chains would not fit the 16-entry ring.
  const d = req(B.T_DISCARD, 0, { out: both, indirect: true });
  const z = req(B.T_WRITE_ZEROES, 0, { out: range(10, 1, B.DWZ_F_UNMAP), indirect: true });
  const bad1 = req(B.T_DISCARD, 0, { out: range(0, 1, B.DWZ_F_UNMAP), indirect: true });
  const bad2 = req(B.T_WRITE_ZEROES, 0, { out: range(0, 1, 2), indirect: true });
  const bad3 = req(B.T_WRITE_ZEROES, 0, { out: range(2047, 2, 0), indirect: true });
  const bad4 = req(B.T_DISCARD, 0, { out: new Uint8Array(8), indirect: true });
  await tick();
  assert.deepEqual([d.status(), z.status(), bad1.status(), bad2.status(), bad3.status(), bad4.status()], [B.S_OK, B.S_OK, B.S_UNSUPP, B.S_UNSUPP, B.S_IOERR, B.S_IOERR]);
  // Requests run in parallel: compare by offset, not by arrival.
  assert.deepEqual(disk.ops.map((o) => [o.op, o.offset / 512, o.length / 512, o.unmap]).sort((x, y) => (x[1] as number) - (y[1] as number)), [
    ['discard', 0, 1, undefined],
    ['discard', 4, 2, undefined],
    ['writeZeroes', 10, 1, true],
  ]);
  assert.equal(disk.data[10 * 512], 0);
  void memory;
});

test('status codes: unknown type UNSUPP; out of range, unaligned and read-only writes IOERR; backend errors map', async () => {
  const { req } = setup();
  const unknown = req(99, 0);
  const lifetime = req(B.T_GET_LIFETIME, 0, { inLen: 16 });
  const beyond = req(B.T_IN, 2047, { inLen: 1024 });
  const huge = req(B.T_IN, 2 ** 60, { inLen: 512 });
  const odd = req(B.T_OUT, 0, { out: new Uint8Array(100) });
  await tick();
  assert.deepEqual([unknown.status(), lifetime.status(), beyond.status(), huge.status(), odd.status()], [B.S_UNSUPP, B.S_UNSUPP, B.S_IOERR, B.S_IOERR, B.S_IOERR]);

  const ro = setup({ disk: new TestDisk(MiB, true) });
  const w = ro.req(B.T_OUT, 0, { out: pattern(512) });
  await tick();
  assert.equal(w.status(), B.S_IOERR);
  assert.equal(ro.disk.ops.length, 0, 'a read-only disk is not even asked');
  assert.equal(ro.dev.core.failures, 0, 'the device carries on');

  const failing = setup();
  failing.disk.failWith = 'io';
  const e1 = failing.req(B.T_IN, 0, { inLen: 512 });
  await tick();
  failing.disk.failWith = 'unsupported';
  const e2 = failing.req(B.T_FLUSH, 0);
  await tick();
  assert.deepEqual([e1.status(), e2.status()], [B.S_IOERR, B.S_UNSUPP]);
  const st = failing.model.inspect().children!.queues!.children!['0']!.children!;
  assert.equal(st.errors!.value, 1);
  assert.equal(st.unsupported!.value, 1);
});

test('a chain without a readable header or a writable status byte breaks the device (NEEDS_RESET)', async () => {
  const { drv, dev, memory } = setup();
  drv.queues[0]!.add([{ addr: 0x400000, len: 8, write: false }, { addr: 0x400800, len: 1, write: true }]);
  drv.kick(0);
  assert.ok(drv.read(COMMON.deviceStatus, 1) & V.STATUS_DEVICE_NEEDS_RESET);
  assert.match(dev.core.lastFailure, /16-byte readable header/);
  const s2 = setup();
  s2.drv.queues[0]!.add([{ addr: 0x400000, len: 16, write: false }]);
  s2.drv.kick(0);
  assert.match(s2.dev.core.lastFailure, /writable status byte/);
  void memory;
});

test('requests run in parallel and complete in any order; the in-flight cap holds the rest in the ring', async () => {
  const { req, disk, drv, model } = setup({ maxInFlight: 3 });
  disk.hold = true;
  const rs = [0, 1, 2, 3, 4].map((i) => req(B.T_IN, i, { inLen: 512 }));
  await tick();
  assert.equal(disk.pending, 3, 'only three reach the disk');
  await disk.release(2);
  await disk.release(0);
  const used = drv.queues[0]!.takeUsed().map((u) => u.id);
  assert.deepEqual(used, [rs[2]!.head, rs[0]!.head], 'completion order, not submission order');
  assert.equal(disk.pending, 3, 'completions made room for the next requests');
  await disk.releaseAll();
  await tick();
  assert.equal(drv.queues[0]!.takeUsed().length, 3);
  const st = model.inspect().children!.queues!.children!['0']!.children!;
  assert.equal(st.maxInFlight!.value, 3);
  assert.equal(st.inFlight!.value, 0);
  assert.equal(st.reads!.value, 5);
});

test('EVENT_IDX: completions landing together raise one interrupt; none while used_event says not yet', async () => {
  const { req, disk, drv, msi } = setup();
  const q = drv.queues[0]!;
  q.setUsedEvent(0);
  disk.hold = true;
  req(B.T_IN, 0, { inLen: 512 });
  req(B.T_IN, 1, { inLen: 512 });
  req(B.T_IN, 2, { inLen: 512 });
  await tick();
  // Release all three in one turn of the event loop.
  disk.hold = false;
  await disk.releaseAll();
  await tick();
  assert.equal(q.takeUsed().length, 3);
  assert.equal(msi.count(1), 1);
  req(B.T_IN, 3, { inLen: 512 });
  await tick();
  assert.equal(msi.count(1), 1, 'used_event 0 was passed already: no new interrupt until the driver moves it');
  // Linux re-arms with the count it consumed: interrupt when entry 4 (the fifth) is used.
  assert.equal(q.takeUsed().length, 1);
  q.setUsedEvent(4);
  req(B.T_IN, 4, { inLen: 512 });
  await tick();
  assert.equal(msi.count(1), 2);
});

test('several queues (MQ) work independently', async () => {
  const { req, drv } = setup({ queues: 3 });
  const a = req(B.T_OUT, 0, { out: pattern(512, 3), q: 2 });
  await tick();
  const b = req(B.T_IN, 0, { inLen: 512, q: 1 });
  await tick();
  assert.equal(a.status(), B.S_OK);
  assert.deepEqual(b.data(512), pattern(512, 3));
  assert.equal(drv.queues[2]!.takeUsed().length, 1);
  assert.equal(drv.queues[1]!.takeUsed().length, 1);
});

test('a reset while requests are in flight: their completions never touch guest memory', async () => {
  const { req, disk, drv } = setup();
  disk.data.set(pattern(512), 0);
  disk.hold = true;
  const r = req(B.T_IN, 0, { inLen: 512 });
  await tick();
  drv.write(COMMON.deviceStatus, 1, 0);
  await disk.releaseAll();
  await tick();
  assert.equal(r.status(), 0xee);
  assert.deepEqual(r.data(512), new Uint8Array(512));
  assert.equal(drv.queues[0]!.usedIdx, 0);
});

test('save with requests in flight -> JSON -> restore: they run again and complete in the restored device', async () => {
  const a = setup();
  a.disk.data.set(pattern(512, 9), 512);
  a.disk.hold = true;
  const r = a.req(B.T_IN, 1, { inLen: 512 });
  await tick();
  const saved = JSON.parse(JSON.stringify(a.dev.save()));
  assert.equal(saved.virtio.model.inflight[0].length, 1);
  // The snapshot's machine: same guest memory, same disk contents, a fresh device.
  a.dev.core.reset();
  const disk = new TestDisk(MiB);
  disk.data.set(a.disk.data);
  const b = setup({ saved, memory: a.memory, disk, init: false });
  await tick();
  assert.equal(r.status(), B.S_OK);
  assert.deepEqual(r.data(512), pattern(512, 9));
  assert.equal(disk.ops.length, 1);
  assert.equal(b.model.inspect().children!.queues!.children!['0']!.children!.reads!.value, 1);
  await a.disk.releaseAll();
});

test('drain() waits for in-flight requests', async () => {
  const { req, disk, model } = setup();
  disk.hold = true;
  req(B.T_OUT, 0, { out: pattern(512) });
  await tick();
  let drained = false;
  void model.drain().then(() => (drained = true));
  await tick();
  assert.equal(drained, false);
  await disk.releaseAll();
  await tick();
  assert.equal(drained, true);
});

test('packed rings: the same requests work when the driver negotiates VIRTIO_F_RING_PACKED', async () => {
  const { drv, memory, disk } = setup({ init: false });
  drv.init({ packed: true });
  const q = drv.packedQueues[0]!;
  memory.writeU32(0x400000, B.T_OUT);
  memory.writeU32(0x400008, 2);
  memory.write(0x401000, pattern(512, 4));
  q.add([{ addr: 0x400000, len: 16, write: false }, { addr: 0x401000, len: 512, write: false }, { addr: 0x400800, len: 1, write: true }]);
  memory.writeU32(0x410000, B.T_IN);
  memory.writeU32(0x410008, 2);
  q.add([{ addr: 0x410000, len: 16, write: false }, { addr: 0x411000, len: 512, write: true }, { addr: 0x410800, len: 1, write: true }], { indirect: true });
  drv.kick(0);
  await tick();
  await tick();
  assert.deepEqual(disk.data.subarray(1024, 1536), pattern(512, 4));
  assert.deepEqual(q.takeUsed().map((u) => u.len).sort(), [1, 513]);
  assert.deepEqual(memory.read(0x411000, 512), pattern(512, 4));
});

test('property: random request headers and chain shapes always end with a status byte or a device reset, never a throw', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          type: fc.oneof(fc.constantFrom(B.T_IN, B.T_OUT, B.T_FLUSH, B.T_GET_ID, B.T_DISCARD, B.T_WRITE_ZEROES), fc.integer({ min: 0, max: 0xffffffff })),
          sector: fc.oneof(fc.integer({ min: 0, max: 4096 }), fc.constant(2 ** 52)),
          out: fc.integer({ min: 0, max: 3 }),
          inLen: fc.constantFrom(0, 1, 20, 512, 1000, 4096),
          indirect: fc.boolean(),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      async (reqs) => {
        const s = setup();
        const started = [];
        for (const r of reqs) {
          const out = r.out === 0 ? undefined : r.out === 1 ? new Uint8Array(512) : r.out === 2 ? new Uint8Array(16) : new Uint8Array(100);
          started.push(s.req(r.type, r.sector, { ...(out ? { out } : {}), ...(r.inLen ? { inLen: r.inLen } : {}), indirect: r.indirect }));
        }
        await tick();
        await tick();
        // (A chain the full 16-entry ring had no room for was never made available.)
        for (const st of started.filter((x) => x.head >= 0)) assert.ok([B.S_OK, B.S_IOERR, B.S_UNSUPP].includes(st.status()), `status ${st.status()}`);
        assert.equal(s.dev.core.failures, 0);
      },
    ),
    { numRuns: 60 },
  );
});

test('fuzz: random BAR and config-space accesses to a live device never throw', () => {
  fuzzDevice(() => {
    const s = setup();
    return pciFuzzTarget(s.dev.id, s.dev.fn);
  }, { runs: 100 });
});
