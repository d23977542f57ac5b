import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { GuestMemory } from '../../memory/guest-memory.js';
import { DESC_F_AVAIL, DESC_F_INDIRECT, DESC_F_NEXT, DESC_F_USED, DESC_F_WRITE, RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_DISABLE } from '../regs.js';
import { PackedDriver } from '../testing/packed-driver.js';
import { type DescriptorChain, QueueError } from './chain.js';
import { PackedQueue } from './packed.js';

const RAM = 2 << 20;

function setup(size = 8, features = { eventIdx: true, indirect: true }) {
  const memory = GuestMemory.create(RAM, { backing: 'shared' });
  const drv = new PackedDriver(memory, 0x10000, size);
  const q = new PackedQueue(0, { size, desc: drv.desc, driver: drv.driverEvent, device: drv.deviceEvent }, memory, features);
  return { memory, drv, q };
}

const R = (addr: number, len: number) => ({ addr, len, write: false });
const W = (addr: number, len: number) => ({ addr, len, write: true });
const AVAIL = DESC_F_AVAIL;

test('a chain is read from consecutive slots; its id comes from the descriptors; push marks one used element', () => {
  const { drv, q, memory } = setup();
  assert.equal(q.pop(), null);
  const id = drv.add([R(0x40000, 16), W(0x41000, 100), W(0x42000, 1)]);
  const c = q.pop()!;
  assert.equal(c.head, id);
  assert.equal(c.descCount, 3);
  assert.deepEqual(c.readable, [{ addr: 0x40000, len: 16 }]);
  assert.equal(c.writableBytes, 101);
  assert.equal(q.pop(), null);
  q.push(c, 101);
  const flags = memory.readU16(drv.desc + 14);
  assert.equal(flags & (DESC_F_AVAIL | DESC_F_USED), DESC_F_AVAIL | DESC_F_USED, 'used with wrap counter 1');
  assert.ok(flags & DESC_F_WRITE, 'the device wrote into the buffer');
  assert.deepEqual(drv.takeUsed(), [{ id, len: 101 }]);
});

test('across many wraps, with out-of-order completions and mixed chain lengths, every buffer comes back once', () => {
  const { drv, q } = setup(8);
  const live: DescriptorChain[] = [];
  let added = 0;
  let returned = 0;
  for (let round = 0; round < 200; round++) {
    const n = (round % 3) + 1;
    const bufs = Array.from({ length: n }, (_, i) => (i === n - 1 ? W(0x50000 + i * 0x1000, 64) : R(0x40000 + i * 0x1000, 32)));
    const id = drv.add(bufs, { indirect: round % 5 === 0 });
    if (id >= 0) {
      added++;
      const c = q.pop()!;
      assert.equal(c.head, id);
      live.push(c);
    }
    // Complete the newest first now and then.
    if (live.length > 2 || id < 0) {
      const c = round % 2 ? live.pop()! : live.shift()!;
      q.push(c, 7);
    }
    for (const u of drv.takeUsed()) {
      assert.equal(u.len, 7);
      returned++;
    }
  }
  for (const c of live) q.push(c, 7);
  returned += drv.takeUsed().length;
  assert.ok(added > 150);
  assert.equal(returned, added);
  assert.equal(q.outstanding, 0);
});

test('indirect tables in packed rings; nesting and an indirect descriptor inside a chain are errors', () => {
  const { drv, q } = setup();
  drv.add([R(0x40000, 16), W(0x41000, 8)], { indirect: true });
  const c = q.pop()!;
  assert.equal(c.descCount, 1);
  assert.equal(c.readable.length + c.writable.length, 2);

  const s = setup();
  s.drv.writeDesc(0x60000, 0, 0x61000, 16, 0, DESC_F_INDIRECT);
  s.drv.writeDesc(s.drv.desc, 0, 0x60000, 16, 0, DESC_F_INDIRECT | AVAIL);
  assert.throws(() => s.q.pop(), /indirect table inside an indirect table/);

  const t = setup();
  t.drv.writeDesc(t.drv.desc, 1, 0x60000, 16, 0, DESC_F_INDIRECT | AVAIL);
  t.drv.writeDesc(t.drv.desc, 0, 0x40000, 16, 0, DESC_F_NEXT | AVAIL);
  assert.throws(() => t.q.pop(), /indirect descriptor inside a chain/);

  const u = setup(8, { eventIdx: false, indirect: false });
  u.drv.add([R(0x40000, 16)], { indirect: true });
  assert.throws(() => u.q.pop(), /without VIRTIO_F_INDIRECT_DESC/);
});

test('untrusted packed chains: endless NEXT, bad ids, buffers outside RAM, zero lengths are QueueErrors', () => {
  const cases: Array<[string, (s: ReturnType<typeof setup>) => void, RegExp]> = [
    ['every slot chains on', (s) => {
      for (let i = 0; i < 8; i++) s.drv.writeDesc(s.drv.desc, i, 0x40000, 8, 0, DESC_F_NEXT | AVAIL);
    }, /longer than the ring/],
    ['id out of range', (s) => s.drv.writeDesc(s.drv.desc, 0, 0x40000, 8, 8, AVAIL), /buffer id 8/],
    ['outside RAM', (s) => s.drv.writeDesc(s.drv.desc, 0, RAM - 4, 8, 0, AVAIL), /not in guest RAM/],
    ['zero length', (s) => s.drv.writeDesc(s.drv.desc, 0, 0x40000, 0, 0, AVAIL), /zero-length/],
    ['readable after writable', (s) => {
      s.drv.writeDesc(s.drv.desc, 1, 0x40000, 8, 0, AVAIL);
      s.drv.writeDesc(s.drv.desc, 0, 0x40000, 8, 0, DESC_F_WRITE | DESC_F_NEXT | AVAIL);
    }, /readable buffer after a writable/],
  ];
  for (const [what, arrange, msg] of cases) {
    const s = setup();
    arrange(s);
    assert.throws(() => s.q.pop(), (e: unknown) => e instanceof QueueError && msg.test(e.message), what);
  }
  const s = setup();
  s.drv.writeDesc(s.drv.desc, 0, 0x40000, 8, 0, DESC_F_AVAIL | DESC_F_USED);
  assert.equal(s.q.pop(), null, 'a slot marked used in this wrap is not available');
});

test('event suppression: DISABLE, ENABLE, and DESC at an off_wrap position', () => {
  const { drv, q } = setup();
  for (let i = 0; i < 4; i++) drv.add([W(0x40000 + i * 0x1000, 8)]);
  const cs = [q.pop()!, q.pop()!, q.pop()!, q.pop()!];
  drv.setEvent(RING_EVENT_FLAGS_DISABLE);
  q.push(cs[0]!, 1);
  assert.equal(q.needsInterrupt(), false);
  drv.setEvent(0);
  q.push(cs[1]!, 1);
  assert.equal(q.needsInterrupt(), true);
  drv.takeUsed();
  // Ask for an interrupt when slot 3 (wrap 1) is used: pushing slot 2 is not enough.
  drv.setEvent(RING_EVENT_FLAGS_DESC, 3 | (1 << 15));
  q.push(cs[2]!, 1);
  assert.equal(q.needsInterrupt(), false);
  q.push(cs[3]!, 1);
  assert.equal(q.needsInterrupt(), true);
});

test('unpop rewinds across a wrap; position() restores a queue mid-ring', () => {
  const { drv, q, memory } = setup(4);
  for (let i = 0; i < 3; i++) {
    drv.add([W(0x40000, 8)]);
    q.push(q.pop()!, 0);
    drv.takeUsed();
  }
  drv.add([W(0x41000, 8), W(0x42000, 8)]);
  const c = q.pop()!;
  assert.equal(c.descCount, 2, 'slots 3 and 0: the chain wraps');
  q.unpop(1);
  const again = q.pop()!;
  assert.deepEqual(again.writable, c.writable);
  const moved = new PackedQueue(0, { size: 4, desc: drv.desc, driver: drv.driverEvent, device: drv.deviceEvent }, memory, { eventIdx: true, indirect: true }, q.position());
  moved.push(again, 16);
  assert.deepEqual(drv.takeUsed(), [{ id: again.head, len: 16 }]);
});

const descArb = fc.record({
  addr: fc.oneof(fc.integer({ min: 0, max: RAM - 1 }), fc.constantFrom(0x40000, RAM - 8, 2 ** 40)),
  len: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(16, 32, 0xffffffff)),
  id: fc.integer({ min: 0, max: 20 }),
  flags: fc.integer({ min: 0, max: 0xffff }),
});

test('property: random packed rings never crash, hang or yield a buffer outside RAM', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 16 }), fc.array(descArb, { minLength: 16, maxLength: 16 }), fc.array(descArb, { minLength: 4, maxLength: 4 }), (size, ring, table) => {
      const memory = GuestMemory.create(RAM, { backing: 'shared' });
      const drv = new PackedDriver(memory, 0x10000, size);
      for (let i = 0; i < size; i++) {
        const d = ring[i]!;
        drv.writeDesc(drv.desc, i, d.flags & DESC_F_INDIRECT && i % 2 ? 0x30000 : d.addr, d.len, d.id, d.flags);
      }
      table.forEach((d, i) => drv.writeDesc(0x30000, i, d.addr, d.len, d.id, d.flags));
      const q = new PackedQueue(0, { size, desc: drv.desc, driver: drv.driverEvent, device: drv.deviceEvent }, memory, { eventIdx: true, indirect: true });
      for (let n = 0; n <= size; n++) {
        let c: DescriptorChain | null;
        try {
          c = q.pop();
        } catch (e) {
          if (e instanceof QueueError) return;
          throw e;
        }
        if (!c) return;
        assert.ok(c.head < size);
        assert.ok(c.descCount! >= 1 && c.descCount! <= size);
        for (const seg of [...c.readable, ...c.writable]) assert.ok(seg.len > 0 && seg.addr + seg.len <= RAM);
        q.push(c, 0);
        q.needsInterrupt();
      }
    }),
    { numRuns: 500 },
  );
});
