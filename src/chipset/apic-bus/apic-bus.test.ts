import assert from 'node:assert/strict';
import test from 'node:test';
import { ManualClock, TimerQueue } from '../../bus/clock.js';
import { GsiLine } from '../../bus/irq.js';
import { createIoapic, type Ioapic } from '../ioapic/ioapic.js';
import { createLapic } from '../lapic/lapic.js';
import { createPic, type Pic } from '../pic/pic.js';
import { createApicBus } from './apic-bus.js';
import { decodeMsi } from './msi.js';
import { DM_FIXED, DM_LOWEST_PRIORITY, DM_NMI, DM_STARTUP } from './regs.js';
import { gsiRoute, ISA_OVERRIDES } from './routing.js';

/** The emulator's interrupt controllers, wired as vm/ would. */
function machine(cpus = 2) {
  const timers = new TimerQueue(new ManualClock());
  const bus = createApicBus();
  const pic = createPic();
  const ioapic = createIoapic({}, { router: bus });
  const lapics = Array.from({ length: cpus }, (_, i) => createLapic({ index: i, tscHz: 1e9 }, { timers, router: bus }));
  bus.connect({ lapics, ioapic, pic });
  for (const l of lapics) {
    l.receive({ vector: 0x10, deliveryMode: DM_STARTUP, destMode: 'physical', dest: l.apicId, trigger: 'edge', level: true });
    l.takeSipi();
    l.writeRegister(0xf0, 0x1ff);
  }
  return { bus, pic, ioapic, lapics };
}

function writeRte(io: Ioapic, pin: number, lo: number, dest: number): void {
  io.mmio.write(0xfec00000, 4, 0x11 + 2 * pin);
  io.mmio.write(0xfec00010, 4, dest << 24);
  io.mmio.write(0xfec00000, 4, 0x10 + 2 * pin);
  io.mmio.write(0xfec00010, 4, lo);
}

function readRte(io: Ioapic, pin: number): number {
  io.mmio.write(0xfec00000, 4, 0x10 + 2 * pin);
  return io.mmio.read(0xfec00010, 4);
}

function initPic(pic: Pic): void {
  for (const [port, v] of [
    [0x20, 0x11], [0x21, 0x30], [0x21, 0x04], [0x21, 0x01],
    [0xa0, 0x11], [0xa1, 0x38], [0xa1, 0x02], [0xa1, 0x01],
    [0x21, 0x00], [0xa1, 0x00],
  ] as const) pic.pio.write(port, 1, v);
}

test('MSI decoding follows the SDM address and data formats', () => {
  assert.deepEqual(decodeMsi({ addressLo: 0xfee03000, addressHi: 0, data: 0x0000_0041 }), {
    vector: 0x41,
    deliveryMode: DM_FIXED,
    destMode: 'physical',
    dest: 3,
    trigger: 'edge',
    level: true,
    redirectionHint: false,
  });
  assert.deepEqual(decodeMsi({ addressLo: 0xfeeff00c, addressHi: 0, data: 0x0000_c1a5 }), {
    vector: 0xa5,
    deliveryMode: DM_LOWEST_PRIORITY,
    destMode: 'logical',
    dest: 0xff,
    trigger: 'level',
    level: true,
    redirectionHint: true,
  });
  const deassert = decodeMsi({ addressLo: 0xfee00000, addressHi: 0, data: 0x0000_8400 });
  assert.equal(deassert?.deliveryMode, DM_NMI);
  assert.equal(deassert?.level, false);
  assert.equal(decodeMsi({ addressLo: 0xfed00000, addressHi: 0, data: 0x41 }), null);
  assert.equal(decodeMsi({ addressLo: 0xfee00000, addressHi: 1, data: 0x41 }), null);
});

test('MSIs reach the addressed LAPIC; non-interrupt addresses are counted', () => {
  const { bus, lapics } = machine(2);
  bus.signal({ addressLo: 0xfee01000, addressHi: 0, data: 0x45 });
  assert.equal(lapics[1]!.peekInterrupt(), 0x45);
  assert.equal(lapics[0]!.peekInterrupt(), -1);
  assert.equal(bus.deliverMsi({ addressLo: 0x1000, addressHi: 0, data: 0x45 }), false);
  assert.equal(bus.badMsis, 1);
  bus.signal({ addressLo: 0xfee07000, addressHi: 0, data: 0x46 });
  assert.equal(bus.noTarget, 1, 'APIC ID 7 does not exist');
});

test('GSI routing: ISA IRQ 0 -> PIC 0 and IOAPIC pin 2; IRQ 2 is the cascade; 16-23 are IOAPIC only', () => {
  assert.deepEqual(gsiRoute(0), { picIrq: 0, ioapicPin: 2 });
  assert.deepEqual(gsiRoute(2), { picIrq: -1, ioapicPin: -1 });
  assert.deepEqual(gsiRoute(4), { picIrq: 4, ioapicPin: 4 });
  assert.deepEqual(gsiRoute(15), { picIrq: 15, ioapicPin: 15 });
  assert.deepEqual(gsiRoute(16), { picIrq: -1, ioapicPin: 16 });
  assert.deepEqual(gsiRoute(24), { picIrq: -1, ioapicPin: -1 });
  assert.deepEqual(ISA_OVERRIDES, [{ source: 0, gsi: 2, flags: 0 }]);
});

test('setIrq drives both controllers per the routing table', () => {
  const { bus, pic, ioapic, lapics } = machine(1);
  initPic(pic);
  writeRte(ioapic, 2, 0x50, 0); // the PIT's pin
  writeRte(ioapic, 4, 0x34, 0);
  writeRte(ioapic, 20, 0x54, 0);
  const pit = new GsiLine(0, bus);
  pit.pulse();
  assert.equal(pic.master.irr & 1, 1, 'PIC IRQ 0');
  assert.equal(lapics[0]!.peekInterrupt(), 0x30, 'PIC first (ExtINT), vector 0x30');
  // Mask the PIC as Linux does once the IOAPIC works: the IOAPIC's vector shows.
  pic.pio.write(0x21, 1, 0xff);
  assert.equal(lapics[0]!.peekInterrupt(), 0x50, 'IOAPIC pin 2, vector 0x50');
  lapics[0]!.acknowledgeInterrupt(0x50);
  lapics[0]!.writeRegister(0xb0, 0);
  bus.setIrq(4, true);
  assert.equal(pic.master.irr & 0x10, 0x10);
  assert.equal(lapics[0]!.peekInterrupt(), 0x34);
  bus.setIrq(20, true);
  assert.equal(lapics[0]!.peekInterrupt(), 0x54);
  bus.setIrq(2, true);
  bus.setIrq(99, true);
  assert.equal(bus.unroutedIrqs, 2);
});

test('a level GSI through the IOAPIC: EOI broadcast clears remote IRR and re-delivers', () => {
  const { bus, ioapic, lapics } = machine(2);
  const cpu1 = lapics[1]!;
  writeRte(ioapic, 17, 0x8061, 1); // level, vector 0x61, to APIC 1
  const line = new GsiLine(17, bus);
  line.set(true);
  assert.equal(cpu1.peekInterrupt(), 0x61);
  assert.equal(readRte(ioapic, 17) & 0x4000, 0x4000);
  cpu1.acknowledgeInterrupt(0x61);
  cpu1.writeRegister(0xb0, 0); // the handler did not clear the device yet
  assert.equal(cpu1.peekInterrupt(), 0x61, 're-delivered after EOI');
  cpu1.acknowledgeInterrupt(0x61);
  line.set(false);
  cpu1.writeRegister(0xb0, 0);
  assert.equal(readRte(ioapic, 17) & 0x4000, 0);
  assert.equal(cpu1.peekInterrupt(), -1);
  assert.equal(bus.eoiBroadcasts, 2);
});

test('lowest priority picks the LAPIC with the lowest PPR, ties round-robin', () => {
  const { bus, lapics } = machine(3);
  for (const l of lapics) l.writeRegister(0xd0, 0x01000000 << l.index);
  const send = (vector: number) =>
    bus.deliver({ vector, deliveryMode: DM_LOWEST_PRIORITY, destMode: 'logical', dest: 0x07, trigger: 'edge', level: true });
  lapics[0]!.writeRegister(0x80, 0x50);
  lapics[1]!.writeRegister(0x80, 0x20);
  lapics[2]!.writeRegister(0x80, 0x30);
  send(0x70);
  assert.deepEqual(lapics.map((l) => l.peekInterrupt()), [-1, 0x70, -1]);
  for (const l of lapics) l.writeRegister(0x80, 0x10);
  const winners: number[] = [];
  for (let i = 0; i < 4; i++) {
    send(0x80 + i);
    const w = lapics.findIndex((l) => l.peekInterrupt() === 0x80 + i);
    winners.push(w);
    lapics[w]!.acknowledgeInterrupt(0x80 + i);
    lapics[w]!.writeRegister(0xb0, 0);
  }
  // Lapic 1 won last, so the rotation continues at 2.
  assert.deepEqual(winners, [2, 0, 1, 2]);
  // MSI with RH=1 is also delivered to one LAPIC only.
  bus.signal({ addressLo: 0xfee0700c, addressHi: 0, data: 0x90 });
  assert.equal(lapics.filter((l) => l.peekInterrupt() === 0x90).length, 1);
});

test('a software-disabled LAPIC is skipped by lowest-priority delivery', () => {
  const { bus, lapics } = machine(2);
  lapics[0]!.writeRegister(0xf0, 0xff);
  for (let i = 0; i < 3; i++) {
    bus.deliver({ vector: 0x40 + i, deliveryMode: DM_LOWEST_PRIORITY, destMode: 'physical', dest: 0xff, trigger: 'edge', level: true });
  }
  assert.equal(lapics[1]!.peekInterrupt(), 0x42);
  assert.equal(bus.noTarget, 0);
});

test('the PIC INTR reaches every LAPIC LINT0; only the BSP has it unmasked', () => {
  const { bus, pic, lapics } = machine(2);
  initPic(pic);
  bus.setIrq(12, true);
  assert.equal(pic.intr, true);
  assert.equal(lapics[0]!.lint0, true);
  assert.equal(lapics[1]!.lint0, true);
  assert.equal(lapics[0]!.peekInterrupt(), 0x3c);
  assert.equal(lapics[1]!.peekInterrupt(), -1);
});

test('save, JSON, restore keeps the lowest-priority rotation', () => {
  const { bus, lapics } = machine(3);
  bus.deliver({ vector: 0x40, deliveryMode: DM_LOWEST_PRIORITY, destMode: 'physical', dest: 0xff, trigger: 'edge', level: true });
  const saved = JSON.parse(JSON.stringify(bus.save()));
  const copy = createApicBus({}, {}, saved);
  assert.deepEqual(copy.save(), bus.save());
  copy.connect({ lapics, ioapic: null, pic: null });
  copy.deliver({ vector: 0x41, deliveryMode: DM_LOWEST_PRIORITY, destMode: 'physical', dest: 0xff, trigger: 'edge', level: true });
  assert.equal(lapics[1]!.peekInterrupt(), 0x41);
  bus.reset();
  assert.equal(bus.save().lowestPriorityCursor, 0);
  assert.throws(() => createApicBus({}, {}, { version: 3 }), /version 3/);
  assert.ok(bus.inspect().children !== undefined);
});
