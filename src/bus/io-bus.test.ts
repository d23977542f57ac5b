import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import type { AccessSize, ChipsetDevice, IoPart, Region } from './device.js';
import { IoBus, RegionConflictError } from './io-bus.js';
import { MemorySink, silentSink } from './log.js';

/** A device with a byte array behind each region, recording every access. */
class RamDevice implements ChipsetDevice {
  readonly log: string[] = [];
  readonly bytes = new Map<number, number>();
  readonly pio?: IoPart;
  readonly mmio?: IoPart;

  constructor(
    readonly id: string,
    space: 'pio' | 'mmio',
    regions: Region[],
  ) {
    const part: IoPart = {
      regions,
      read: (addr: number, size: AccessSize) => {
        this.log.push(`r${size}@${addr.toString(16)}`);
        let v = 0;
        for (let i = 0; i < size; i++) v |= (this.bytes.get(addr + i) ?? 0) << (8 * i);
        return v >>> 0;
      },
      write: (addr: number, size: AccessSize, value: number) => {
        this.log.push(`w${size}@${addr.toString(16)}=${value.toString(16)}`);
        for (let i = 0; i < size; i++) this.bytes.set(addr + i, (value >>> (8 * i)) & 0xff);
      },
    };
    if (space === 'pio') this.pio = part;
    else this.mmio = part;
  }
}

const region = (name: string, base: number, size: number): Region => ({ name, base, size });

test('routes accesses to the device that declared the region', () => {
  const bus = new IoBus('pio', 0x10000, silentSink);
  const com1 = new RamDevice('com1', 'pio', [region('regs', 0x3f8, 8)]);
  const rtc = new RamDevice('rtc', 'pio', [region('regs', 0x70, 2)]);
  bus.register([com1, rtc]);
  bus.write(0x3f9, 1, 0x5a);
  bus.write(0x70, 2, 0x1234);
  assert.equal(bus.read(0x3f9, 1), 0x5a);
  assert.equal(bus.read(0x70, 2), 0x1234);
  assert.deepEqual(com1.log, ['w1@3f9=5a', 'r1@3f9']);
  assert.deepEqual(rtc.log, ['w2@70=1234', 'r2@70']);
  assert.equal(bus.deviceAt(0x3fa), com1);
  assert.equal(bus.deviceAt(0x3f7), undefined);
});

test('unclaimed reads are all-ones and unclaimed writes are counted', () => {
  const sink = new MemorySink();
  const bus = new IoBus('pio', 0x10000, sink);
  assert.equal(bus.read(0x80, 1), 0xff);
  assert.equal(bus.read(0x80, 2), 0xffff);
  assert.equal(bus.read(0x80, 4), 0xffffffff);
  bus.write(0x80, 1, 1);
  bus.write(0x84, 4, 1);
  assert.equal(bus.unclaimedReads, 3);
  assert.equal(bus.unclaimedWrites, 2);
  assert.match(sink.messages[0]!, /unclaimed pio read at 0x80/);
});

test('logging of unclaimed accesses is rate-limited', () => {
  const sink = new MemorySink();
  const bus = new IoBus('mmio', 2 ** 52, sink);
  for (let i = 0; i < 1000; i++) bus.read(0x1000 + i, 1);
  assert.equal(bus.unclaimedReads, 1000);
  assert.ok(sink.messages.length <= 6, `got ${sink.messages.length} messages`);
});

test('all overlapping regions are reported together, naming both devices in hex', () => {
  const bus = new IoBus('pio', 0x10000, silentSink);
  const a = new RamDevice('uart-a', 'pio', [region('regs', 0x3f8, 8)]);
  const b = new RamDevice('uart-b', 'pio', [region('regs', 0x3fc, 8)]);
  const c = new RamDevice('pic', 'pio', [region('master', 0x20, 2)]);
  const d = new RamDevice('pit', 'pio', [region('ctr', 0x21, 4)]);
  assert.throws(
    () => bus.register([a, b, c, d]),
    (e: unknown) => {
      assert.ok(e instanceof RegionConflictError);
      assert.equal(e.conflicts.length, 2);
      assert.match(e.message, /uart-a\/regs 0x3f8-0x3ff overlaps uart-b\/regs 0x3fc-0x403/);
      assert.match(e.message, /pic\/master 0x20-0x21 overlaps pit\/ctr 0x21-0x24/);
      return true;
    },
  );
  // Nothing was registered by the failed call.
  assert.equal(bus.deviceAt(0x3f8), undefined);
});

test('a conflict with an already registered device is reported', () => {
  const bus = new IoBus('pio', 0x10000, silentSink);
  bus.register([new RamDevice('first', 'pio', [region('r', 0x100, 0x10)])]);
  assert.throws(() => bus.register([new RamDevice('second', 'pio', [region('r', 0x10f, 1)])]), /first\/r 0x100-0x10f overlaps second\/r 0x10f-0x10f/);
});

test('regions outside the address space are rejected', () => {
  const bus = new IoBus('pio', 0x10000, silentSink);
  assert.throws(() => bus.register([new RamDevice('x', 'pio', [region('r', 0xfffe, 4)])]), /outside the address space/);
  assert.throws(() => bus.register([new RamDevice('x', 'pio', [region('r', 0x10, 0)])]), /outside the address space/);
});

test('8-byte MMIO is split into two 4-byte accesses, low half first', () => {
  const bus = new IoBus('mmio', 2 ** 52, silentSink);
  const dev = new RamDevice('dev', 'mmio', [region('bar', 0xfeb00000, 0x1000)]);
  bus.register([dev]);
  bus.write64(0xfeb00010, 0x11223344, 0x55667788);
  const out = [0, 0];
  bus.read64(0xfeb00010, out);
  assert.deepEqual(out, [0x11223344, 0x55667788]);
  assert.deepEqual(dev.log, ['w4@feb00010=11223344', 'w4@feb00014=55667788', 'r4@feb00010', 'r4@feb00014']);
});

test('an access running past the end of a region is split per byte', () => {
  const bus = new IoBus('pio', 0x10000, silentSink);
  const dev = new RamDevice('dev', 'pio', [region('r', 0x60, 2)]);
  bus.register([dev]);
  dev.bytes.set(0x61, 0xab);
  // Bytes 0x62, 0x63 belong to nobody and read as 0xff.
  assert.equal(bus.read(0x61, 4), 0xffffffab);
  assert.deepEqual(dev.log, ['r1@61']);
});

test('a device handler that throws is contained: counted, logged, all-ones', () => {
  const sink = new MemorySink();
  const bus = new IoBus('pio', 0x10000, sink);
  const bad: ChipsetDevice = {
    id: 'buggy',
    pio: {
      regions: [region('r', 0x500, 4)],
      read: () => {
        throw new Error('boom');
      },
      write: () => {
        throw new Error('bang');
      },
    },
  };
  bus.register([bad]);
  assert.equal(bus.read(0x500, 2), 0xffff);
  bus.write(0x500, 1, 0);
  assert.equal(bus.deviceErrors, 2);
  assert.match(sink.messages[0]!, /device buggy failed a 2-byte pio read at 0x500: boom/);
});

test('map and unmap move a region at run time', () => {
  const bus = new IoBus('mmio', 2 ** 52, silentSink);
  const dev = new RamDevice('nic', 'mmio', []);
  const part = dev.mmio!;
  const bar = region('bar0', 0xc0000000, 0x1000);
  bus.map(dev, part, bar);
  assert.equal(bus.deviceAt(0xc0000fff), dev);
  assert.throws(() => bus.map(dev, part, region('bar1', 0xc0000800, 0x1000)), RegionConflictError);
  assert.equal(bus.unmap(dev, bar), true);
  assert.equal(bus.deviceAt(0xc0000000), undefined);
  assert.equal(bus.unmap(dev, bar), false);
});

test('property: a bus of random disjoint regions routes every address to its owner', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 0xff }), { minLength: 1, maxLength: 20 }),
      fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 50 }),
      (slots, probes) => {
        const bus = new IoBus('pio', 0x10000, silentSink);
        // Slot k covers ports [k*256, k*256+128).
        const devs = slots.map((k) => new RamDevice(`d${k}`, 'pio', [region('r', k * 256, 128)]));
        bus.register(devs);
        for (const p of probes) {
          const k = Math.floor(p / 256);
          const owner = slots.includes(k) && p % 256 < 128 ? `d${k}` : undefined;
          assert.equal(bus.deviceAt(p)?.id, owner);
        }
      },
    ),
  );
});
