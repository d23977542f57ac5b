import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { GuestMemory } from '../../memory/guest-memory.js';
import { AVAIL_F_NO_INTERRUPT, DESC_F_INDIRECT, DESC_F_NEXT, DESC_F_WRITE } from '../regs.js';
import { SplitDriver } from '../testing/split-driver.js';
import { type DescriptorChain, QueueError, gather, scatter } from './chain.js';
import { SplitQueue } from './split.js';

const MiB = 1 << 20;
const RAM = 2 * MiB;

function setup(size = 8, features = { eventIdx: false, indirect: true }) {
  const memory = GuestMemory.create(RAM, { backing: 'shared' });
  const drv = new SplitDriver(memory, 0x10000, size);
  const q = new SplitQueue(0, { size, desc: drv.desc, driver: drv.avail, device: drv.used }, memory, features);
  return { memory, drv, q };
}

const R = (addr: number, len: number) => ({ addr, len, write: false });
const W = (addr: number, len: number) => ({ addr, len, write: true });

test('a chain of readable then writable buffers comes out in order; push writes the used element', () => {
  const { drv, q } = setup();
  assert.equal(q.pop(), null);
  const head = drv.add([R(0x40000, 16), R(0x41000, 512), W(0x42000, 1)]);
  const c = q.pop()!;
  assert.equal(c.head, head);
  assert.deepEqual(c.readable, [{ addr: 0x40000, len: 16 }, { addr: 0x41000, len: 512 }]);
  assert.deepEqual(c.writable, [{ addr: 0x42000, len: 1 }]);
  assert.equal(c.readableBytes, 528);
  assert.equal(q.outstanding, 1);
  assert.equal(q.pop(), null);
  q.push(c, 1);
  assert.deepEqual(drv.takeUsed(), [{ id: head, len: 1 }]);
  assert.equal(drv.freeCount, 8);
});

test('indirect tables: the chain is read from the table; nesting, NEXT and bad lengths are errors', () => {
  const { memory, drv, q } = setup();
  const head = drv.add([R(0x40000, 16), W(0x42000, 100), W(0x43000, 1)], { indirect: true });
  const c = q.pop()!;
  assert.equal(c.head, head);
  assert.equal(c.writable.length, 2);
  assert.equal(c.writableBytes, 101);

  const table = 0x50000;
  // An indirect descriptor inside an indirect table.
  const s1 = setup();
  s1.drv.writeDesc(table, 0, 0x51000, 16, DESC_F_INDIRECT, 0);
  s1.drv.writeDesc(s1.drv.desc, 0, table, 16, DESC_F_INDIRECT, 0);
  s1.memory.writeU16(s1.drv.avail + 2, 1);
  assert.throws(() => s1.q.pop(), /indirect table inside an indirect table/);
  void memory;

  const s2 = setup();
  s2.drv.writeDesc(s2.drv.desc, 0, table, 17, DESC_F_INDIRECT, 0);
  s2.memory.writeU16(s2.drv.avail + 4, 0);
  s2.memory.writeU16(s2.drv.avail + 2, 1);
  assert.throws(() => s2.q.pop(), /indirect table of 17 bytes/);

  const s3 = setup();
  s3.drv.writeDesc(s3.drv.desc, 0, table, 16, DESC_F_INDIRECT | DESC_F_NEXT, 1);
  s3.memory.writeU16(s3.drv.avail + 2, 1);
  assert.throws(() => s3.q.pop(), /NEXT/);

  const s4 = setup(8, { eventIdx: false, indirect: false });
  s4.drv.add([R(0x40000, 16)], { indirect: true });
  assert.throws(() => s4.q.pop(), /without VIRTIO_F_INDIRECT_DESC/);
});

test('untrusted chains: loops, bad indexes, buffers outside RAM, zero lengths and wrong order are QueueErrors', () => {
  const cases: Array<[string, (s: ReturnType<typeof setup>) => void, RegExp]> = [
    ['loop', (s) => {
      s.drv.writeDesc(s.drv.desc, 0, 0x40000, 8, DESC_F_NEXT, 1);
      s.drv.writeDesc(s.drv.desc, 1, 0x40000, 8, DESC_F_NEXT, 0);
    }, /longer than its table/],
    ['next out of range', (s) => s.drv.writeDesc(s.drv.desc, 0, 0x40000, 8, DESC_F_NEXT, 8), /next descriptor 8/],
    ['head out of range', (s) => s.memory.writeU16(s.drv.avail + 4, 9), /head descriptor 9/],
    ['outside RAM', (s) => s.drv.writeDesc(s.drv.desc, 0, RAM - 4, 8, 0, 0), /not in guest RAM/],
    ['above 2^53', (s) => s.drv.writeDesc(s.drv.desc, 0, 2 ** 60, 8, 0, 0), /not in guest RAM/],
    ['zero length', (s) => s.drv.writeDesc(s.drv.desc, 0, 0x40000, 0, 0, 0), /zero-length/],
    ['readable after writable', (s) => {
      s.drv.writeDesc(s.drv.desc, 0, 0x40000, 8, DESC_F_WRITE | DESC_F_NEXT, 1);
      s.drv.writeDesc(s.drv.desc, 1, 0x40000, 8, 0, 0);
    }, /readable buffer after a writable/],
    ['indirect table outside RAM', (s) => s.drv.writeDesc(s.drv.desc, 0, RAM - 16, 32, DESC_F_INDIRECT, 0), /indirect table .* not in guest RAM/],
  ];
  for (const [what, arrange, msg] of cases) {
    const s = setup();
    arrange(s);
    s.memory.writeU16(s.drv.avail + 2, 1);
    assert.throws(() => s.q.pop(), (e: unknown) => e instanceof QueueError && msg.test(e.message), what);
  }
  const s = setup();
  s.memory.writeU16(s.drv.avail + 2, 9);
  assert.throws(() => s.q.pop(), /moved 9 entries ahead of a 8-entry queue/);
});

test('ring layouts are checked when the queue goes live', () => {
  const memory = GuestMemory.create(RAM, { backing: 'shared' });
  const make = (size: number, desc: number, driver: number, device: number) => () => new SplitQueue(3, { size, desc, driver, device }, memory, { eventIdx: false, indirect: false });
  assert.throws(make(6, 0, 0x1000, 0x2000), /power of two/);
  assert.throws(make(8, 8, 0x1000, 0x2000), /misaligned/);
  assert.throws(make(8, 0, 0x1000, 0x2002), /misaligned/);
  assert.throws(make(8, RAM - 64, 0x1000, 0x2000), /descriptor table .* not in guest RAM/);
  assert.throws(make(256, 0, RAM - 100, 0x2000), /available ring/);
  assert.throws(make(8, 0, 0x1000, RAM), /used ring/);
});

test('EVENT_IDX: avail_event tells the driver where to kick; used_event decides interrupts (vring_need_event)', () => {
  const { drv, q } = setup(8, { eventIdx: true, indirect: false });
  drv.add([W(0x40000, 64)]);
  drv.add([W(0x41000, 64)]);
  drv.add([W(0x42000, 64)]);
  const chains = [q.pop()!, q.pop()!, q.pop()!];
  assert.equal(q.pop(), null);
  assert.equal(drv.availEvent, 3, 'the device read up to 3 and wants a kick after that');
  drv.setUsedEvent(0);
  q.push(chains[0]!, 64);
  assert.equal(q.needsInterrupt(), true, 'first interrupt: used_event 0 passed');
  assert.equal(q.needsInterrupt(), false, 'nothing new');
  q.push(chains[1]!, 64);
  assert.equal(q.needsInterrupt(), false, 'used_event still 0: the driver has not asked again');
  drv.setUsedEvent(2);
  q.push(chains[2]!, 64);
  assert.equal(q.needsInterrupt(), true, 'used index moved past used_event 2');
});

test('without EVENT_IDX the NO_INTERRUPT flag suppresses interrupts', () => {
  const { drv, q } = setup();
  drv.add([W(0x40000, 64)]);
  drv.add([W(0x40000, 64)]);
  drv.setAvailFlags(AVAIL_F_NO_INTERRUPT);
  q.push(q.pop()!, 1);
  assert.equal(q.needsInterrupt(), false);
  drv.setAvailFlags(0);
  q.push(q.pop()!, 1);
  assert.equal(q.needsInterrupt(), true);
});

test('unpop gives chains back; position() round-trips through a new queue object', () => {
  const { memory, drv, q } = setup();
  drv.add([W(0x40000, 64)]);
  drv.add([W(0x41000, 64)]);
  const a = q.pop()!;
  q.pop();
  q.unpop(1);
  const again = new SplitQueue(0, { size: 8, desc: drv.desc, driver: drv.avail, device: drv.used }, memory, { eventIdx: false, indirect: true }, q.position());
  assert.equal(again.pop()!.writable[0]!.addr, 0x41000);
  again.push(a, 7);
  assert.deepEqual(drv.takeUsed(), [{ id: a.head, len: 7 }]);
});

test('gather/scatter cross buffer boundaries at any offset', () => {
  const { memory } = setup();
  const segs = [{ addr: 0x40000, len: 3 }, { addr: 0x50000, len: 5 }, { addr: 0x60000, len: 4 }];
  assert.equal(scatter(memory, segs, 2, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])), 10);
  assert.deepEqual([...memory.read(0x40000, 3)], [0, 0, 1]);
  assert.deepEqual([...memory.read(0x50000, 5)], [2, 3, 4, 5, 6]);
  const out = new Uint8Array(6);
  assert.equal(gather(memory, segs, 4, out), 6);
  assert.deepEqual([...out], [3, 4, 5, 6, 7, 8]);
});

/** What a well-formed chain looks like, whatever the ring held. */
function checkChain(c: DescriptorChain, size: number): void {
  assert.ok(c.head >= 0 && c.head < size);
  for (const s of [...c.readable, ...c.writable]) {
    assert.ok(s.len > 0 && s.addr >= 0 && s.addr + s.len <= RAM, `segment ${s.addr}+${s.len}`);
  }
  assert.equal(c.readableBytes, c.readable.reduce((n, s) => n + s.len, 0));
  assert.ok(c.readable.length + c.writable.length <= size + 1024);
}

const descArb = fc.record({
  addr: fc.oneof(fc.integer({ min: 0, max: RAM - 1 }), fc.constantFrom(0x40000, RAM - 8, RAM, 2 ** 32, 2 ** 60)),
  len: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(16, 32, 48, 4096, 0xffffffff)),
  flags: fc.integer({ min: 0, max: 7 }),
  next: fc.integer({ min: 0, max: 20 }),
});

test('property: random descriptor tables and rings never crash, hang or yield a chain outside RAM', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(1, 2, 4, 8, 16),
      fc.array(descArb, { minLength: 16, maxLength: 16 }),
      fc.array(descArb, { minLength: 16, maxLength: 16 }),
      fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 16, maxLength: 16 }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.boolean(),
      (size, table, indirect, ring, availIdx, useIndirectTable) => {
        const memory = GuestMemory.create(RAM, { backing: 'shared' });
        const drv = new SplitDriver(memory, 0x10000, size);
        const itable = 0x30000;
        for (let i = 0; i < size; i++) {
          const d = table[i]!;
          // Some descriptors point at the random indirect table below.
          const addr = useIndirectTable && d.flags & DESC_F_INDIRECT ? itable : d.addr;
          drv.writeDesc(drv.desc, i, addr, d.len, d.flags, d.next);
        }
        indirect.forEach((d, i) => drv.writeDesc(itable, i, d.addr, d.len, d.flags, d.next));
        ring.slice(0, size).forEach((h, i) => memory.writeU16(drv.avail + 4 + 2 * i, h));
        memory.writeU16(drv.avail + 2, availIdx);
        const q = new SplitQueue(0, { size, desc: drv.desc, driver: drv.avail, device: drv.used }, memory, { eventIdx: true, indirect: true });
        for (let n = 0; n < size + 1; n++) {
          let c: DescriptorChain | null;
          try {
            c = q.pop();
          } catch (e) {
            if (e instanceof QueueError) return;
            throw e;
          }
          if (!c) return;
          checkChain(c, size);
          q.push(c, 0);
        }
      },
    ),
    { numRuns: 500 },
  );
});

test('property: chains a correct driver builds come back exactly, direct or indirect', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          bufs: fc.array(fc.record({ page: fc.integer({ min: 0x40, max: 0x1f0 }), len: fc.integer({ min: 1, max: 4096 }), write: fc.boolean() }), { minLength: 1, maxLength: 6 }),
          indirect: fc.boolean(),
        }),
        { minLength: 1, maxLength: 30 },
      ),
      (adds) => {
        const { drv, q } = setup(16);
        for (const a of adds) {
          const bufs = [...a.bufs].sort((x, y) => Number(x.write) - Number(y.write)).map((b) => ({ addr: b.page * 4096, len: b.len, write: b.write }));
          const head = drv.add(bufs, { indirect: a.indirect });
          if (head < 0) {
            for (const u of drv.takeUsed()) assert.ok(u.id < 16);
            continue;
          }
          const c = q.pop()!;
          assert.equal(c.head, head);
          assert.deepEqual([...c.readable, ...c.writable], bufs.map((b) => ({ addr: b.addr, len: b.len })));
          q.push(c, 0);
          drv.takeUsed();
        }
      },
    ),
    { numRuns: 200 },
  );
});
