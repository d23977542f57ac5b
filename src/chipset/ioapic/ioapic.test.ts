import assert from 'node:assert/strict';
import test from 'node:test';
import { fuzzDevice } from '../../bus/device-fuzz.js';
import type { ApicMessage, ApicRouter } from '../apic-bus/message.js';
import { DM_EXTINT, DM_FIXED, DM_LOWEST_PRIORITY } from '../apic-bus/regs.js';
import { createIoapic, Ioapic } from './ioapic.js';

const BASE = 0xfec00000;

/** A router that records what the IOAPIC sends. */
class RecordingRouter implements ApicRouter {
  readonly messages: ApicMessage[] = [];
  readonly eois: number[] = [];
  deliver(msg: ApicMessage): void {
    this.messages.push(msg);
  }
  broadcastEoi(vector: number): void {
    this.eois.push(vector);
  }
}

function make(): { io: Ioapic; router: RecordingRouter } {
  const router = new RecordingRouter();
  return { io: createIoapic({ apicId: 1 }, { router }), router };
}

function readReg(io: Ioapic, index: number): number {
  io.mmio.write(BASE, 4, index);
  return io.mmio.read(BASE + 0x10, 4);
}

function writeReg(io: Ioapic, index: number, value: number): void {
  io.mmio.write(BASE, 4, index);
  io.mmio.write(BASE + 0x10, 4, value);
}

/** Programs redirection entry `pin`. */
function route(io: Ioapic, pin: number, lo: number, dest: number): void {
  writeReg(io, 0x11 + 2 * pin, dest << 24);
  writeReg(io, 0x10 + 2 * pin, lo);
}

test('ID, version and arbitration registers through IOREGSEL/IOWIN', () => {
  const { io } = make();
  assert.equal(readReg(io, 0x00), 0x01000000);
  assert.equal(readReg(io, 0x01), 0x00170020);
  assert.equal(readReg(io, 0x02), 0x01000000);
  writeReg(io, 0x00, 0xff000000);
  assert.equal(readReg(io, 0x00), 0x0f000000, 'only bits 27:24 hold the ID');
  writeReg(io, 0x01, 0);
  assert.equal(readReg(io, 0x01), 0x00170020, 'version is read-only');
  assert.equal(io.mmio.read(BASE, 4), 0x01, 'IOREGSEL reads back');
});

test('redirection entries power on masked and keep only writable bits', () => {
  const { io } = make();
  for (let pin = 0; pin < 24; pin++) {
    assert.equal(readReg(io, 0x10 + 2 * pin), 0x00010000);
    assert.equal(readReg(io, 0x11 + 2 * pin), 0);
  }
  writeReg(io, 0x10 + 2 * 5, 0xffffffff);
  assert.equal(readReg(io, 0x10 + 2 * 5), 0x0001afff, 'delivery status and remote IRR are read-only');
  writeReg(io, 0x11 + 2 * 5, 0xffffffff);
  assert.equal(readReg(io, 0x11 + 2 * 5), 0xff000000);
});

test('bad registers and access widths are counted and read all-ones', () => {
  const { io } = make();
  assert.equal(readReg(io, 0x40), 0xffffffff);
  assert.equal(readReg(io, 0x03), 0xffffffff);
  io.mmio.write(BASE, 4, 0x10);
  assert.equal(io.mmio.read(BASE + 0x10, 2), 0xffff);
  assert.equal(io.mmio.read(BASE + 0x20, 4), 0xffffffff);
  assert.equal(io.badAccesses, 4);
});

test('an edge pin delivers once per rising edge with the entry fields', () => {
  const { io, router } = make();
  route(io, 4, 0x00000831, 0x03); // vector 0x31, fixed, logical, edge, unmasked
  io.setPin(4, true);
  io.setPin(4, true);
  io.setPin(4, false);
  assert.equal(router.messages.length, 1);
  assert.deepEqual(router.messages[0], {
    vector: 0x31,
    deliveryMode: DM_FIXED,
    destMode: 'logical',
    dest: 0x03,
    trigger: 'edge',
    level: true,
  });
  io.setPin(4, true);
  assert.equal(router.messages.length, 2);
  assert.equal(readReg(io, 0x18) & 0x4000, 0, 'edge pins never set remote IRR');
});

test('a level pin delivers while asserted, waits for EOI, and re-delivers if still asserted', () => {
  const { io, router } = make();
  route(io, 10, 0x0000a140, 0x01); // vector 0x40, lowest priority, level, active-low
  io.setPin(10, true);
  assert.equal(router.messages.length, 1);
  assert.equal(router.messages[0]!.trigger, 'level');
  assert.equal(router.messages[0]!.deliveryMode, DM_LOWEST_PRIORITY);
  assert.equal(readReg(io, 0x24) & 0x4000, 0x4000, 'remote IRR set');
  // Remote IRR blocks further deliveries.
  io.setPin(10, false);
  io.setPin(10, true);
  assert.equal(router.messages.length, 1);
  // EOI of another vector changes nothing.
  io.eoi(0x41);
  assert.equal(router.messages.length, 1);
  io.eoi(0x40);
  assert.equal(router.messages.length, 2, 'still asserted: delivered again');
  io.setPin(10, false);
  io.eoi(0x40);
  assert.equal(router.messages.length, 2);
  assert.equal(readReg(io, 0x24) & 0x4000, 0, 'remote IRR clear');
});

test('the EOI register at +0x40 clears remote IRR', () => {
  const { io, router } = make();
  route(io, 9, 0x00008050, 0);
  io.setPin(9, true);
  io.mmio.write(BASE + 0x40, 4, 0x50);
  assert.equal(router.messages.length, 2);
  io.setPin(9, false);
  io.mmio.write(BASE + 0x40, 4, 0x50);
  assert.equal(readReg(io, 0x10 + 18) & 0x4000, 0);
});

test('masked pins: an edge is latched until unmask, a level delivers on unmask if still asserted', () => {
  const { io, router } = make();
  route(io, 3, 0x00010033, 0); // masked edge
  route(io, 11, 0x00018044, 0); // masked level
  io.setPin(3, true);
  io.setPin(3, false);
  io.setPin(11, true);
  assert.equal(router.messages.length, 0);
  route(io, 3, 0x00000033, 0);
  assert.deepEqual(
    router.messages.map((m) => m.vector),
    [0x33],
  );
  route(io, 3, 0x00000033, 0);
  assert.equal(router.messages.length, 1, 'the latched edge is delivered once');
  io.setPin(11, false);
  route(io, 11, 0x00008044, 0);
  assert.equal(router.messages.length, 1, 'a level pin that dropped while masked delivers nothing');
  io.setPin(11, true);
  assert.equal(router.messages.length, 2);
});

test('switching a pin from level to edge drops its remote IRR', () => {
  const { io, router } = make();
  route(io, 12, 0x00008060, 0);
  io.setPin(12, true);
  assert.equal(readReg(io, 0x10 + 24) & 0x4000, 0x4000);
  route(io, 12, 0x00000060, 0);
  assert.equal(readReg(io, 0x10 + 24) & 0x4000, 0);
  assert.equal(router.messages.length, 1);
});

test('non-fixed level deliveries do not wait for an EOI', () => {
  const { io, router } = make();
  route(io, 0, 0x00008700, 0); // ExtINT, level
  io.setPin(0, true);
  assert.equal(router.messages[0]!.deliveryMode, DM_EXTINT);
  assert.equal(readReg(io, 0x10) & 0x4000, 0);
});

test('pins outside 0-23 are counted', () => {
  const { io } = make();
  io.setPin(24, true);
  io.setPin(-1, true);
  assert.equal(io.badPins, 2);
});

test('save, JSON, restore gives the same state and behaviour', () => {
  const { io } = make();
  route(io, 10, 0x00008040, 0x01);
  route(io, 4, 0x00010031, 0x02);
  io.setPin(10, true);
  io.setPin(4, true);
  io.mmio.write(BASE, 4, 0x13);
  const saved = JSON.parse(JSON.stringify(io.save()));
  const router = new RecordingRouter();
  const copy = createIoapic({ apicId: 1 }, { router }, saved);
  assert.deepEqual(copy.save(), io.save());
  assert.equal(router.messages.length, 0, 'restoring delivers nothing');
  copy.eoi(0x40);
  assert.equal(router.messages.length, 1, 'remote IRR and the asserted line survived');
  route(copy, 4, 0x00000031, 0x02);
  assert.equal(router.messages.length, 2, 'the latched masked edge survived');
  assert.throws(() => createIoapic({}, { router }, { version: 2 }), /version 2/);
});

test('reset masks every pin again', () => {
  const { io } = make();
  route(io, 1, 0x31, 0);
  writeReg(io, 0, 0x05000000);
  io.reset();
  assert.equal(readReg(io, 0x12), 0x00010000);
  assert.equal(readReg(io, 0), 0x01000000, 'the configured ID comes back');
});

test('fuzz: random MMIO accesses never throw', () => {
  const router = new RecordingRouter();
  fuzzDevice(() => {
    const io = new Ioapic({}, { router });
    io.setPin(1, true);
    return io;
  }, {
    after: (d) => {
      const io = d as Ioapic;
      for (let p = 0; p < 24; p++) io.setPin(p, p % 2 === 0);
      for (let v = 0; v < 256; v += 17) io.eoi(v);
      assert.ok(io.inspect().children !== undefined);
    },
  });
});
