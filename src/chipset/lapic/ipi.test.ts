import assert from 'node:assert/strict';
import test from 'node:test';
import { ManualClock, TimerQueue } from '../../bus/clock.js';
import { createApicBus } from '../apic-bus/apic-bus.js';
import { DM_STARTUP } from '../apic-bus/regs.js';
import { createPic } from '../pic/pic.js';
import { createLapic, type Lapic } from './lapic.js';

/** Starts an AP the way INIT-SIPI-SIPI would leave it. */
function bringUp(l: Lapic): void {
  if (!l.waitingForSipi) return;
  l.receive({ vector: 0x10, deliveryMode: DM_STARTUP, destMode: 'physical', dest: l.apicId, trigger: 'edge', level: true });
  l.takeSipi();
}

/** `n` running, software-enabled LAPICs on a real APIC bus. */
function smp(n = 2) {
  const timers = new TimerQueue(new ManualClock());
  const bus = createApicBus();
  const lapics = Array.from({ length: n }, (_, i) => createLapic({ index: i, tscHz: 1e9 }, { timers, router: bus }));
  bus.connect({ lapics, ioapic: null, pic: null });
  for (const l of lapics) {
    bringUp(l);
    l.writeRegister(0xf0, 0x1ff);
  }
  return { bus, lapics };
}

/** Sends an IPI the way the guest does: ICR high, then ICR low. */
function ipi(l: Lapic, lo: number, dest = 0): void {
  l.writeRegister(0x310, dest << 24);
  l.writeRegister(0x300, lo);
}

test('IPIs: fixed physical, delivery status reads idle, shorthands', () => {
  const { lapics } = smp(3);
  const [a, b, c] = lapics as [Lapic, Lapic, Lapic];
  ipi(a, 0x00000041, 1);
  assert.equal(b.peekInterrupt(), 0x41);
  assert.equal(c.peekInterrupt(), -1);
  assert.equal(a.readRegister(0x300) & 0x1000, 0, 'delivery status idle');
  assert.equal(a.readRegister(0x300), 0x41);
  ipi(a, 0x00040042); // self
  assert.equal(a.peekInterrupt(), 0x42);
  assert.equal(b.peekInterrupt(), 0x41);
  ipi(b, 0x000c0043); // all excluding self
  assert.equal(a.peekInterrupt(), 0x43);
  assert.equal(b.peekInterrupt(), 0x41);
  assert.equal(c.peekInterrupt(), 0x43);
  ipi(c, 0x00080050); // all including self
  for (const l of lapics) assert.equal(l.peekInterrupt(), 0x50);
  ipi(a, 0x00000051, 0xff); // physical broadcast
  for (const l of lapics) assert.equal(l.peekInterrupt(), 0x51);
});

test('IPIs: logical destinations in the flat and cluster models', () => {
  const { lapics } = smp(3);
  const [a, b, c] = lapics as [Lapic, Lapic, Lapic];
  b.writeRegister(0xd0, 0x02000000);
  c.writeRegister(0xd0, 0x04000000);
  ipi(a, 0x00000860, 0x06);
  assert.deepEqual(lapics.map((l) => l.peekInterrupt()), [-1, 0x60, 0x60]);
  ipi(a, 0x00000861, 0x04);
  assert.deepEqual(lapics.map((l) => l.peekInterrupt()), [-1, 0x60, 0x61]);
  // Cluster model: cluster 1 member bit 0 (b), cluster 2 member bit 0 (c).
  for (const l of lapics) l.writeRegister(0xe0, 0x0fffffff);
  b.writeRegister(0xd0, 0x11000000);
  c.writeRegister(0xd0, 0x21000000);
  ipi(a, 0x00000870, 0x11);
  assert.deepEqual(lapics.map((l) => l.peekInterrupt()), [-1, 0x70, 0x61]);
  ipi(a, 0x00000871, 0xf1); // cluster 15: every cluster, member bit 0
  assert.deepEqual(lapics.map((l) => l.peekInterrupt()), [-1, 0x71, 0x71]);
});

test('INIT and SIPI bring up an AP; a second SIPI is ignored; INIT level de-assert is a no-op', () => {
  const { lapics } = smp(2);
  const [bsp, ap] = lapics as [Lapic, Lapic];
  assert.equal(ap.pending, false);
  ap.writeRegister(0x80, 0x20);
  ipi(bsp, 0x0000c500, 1); // INIT, level, assert
  assert.equal(ap.pending, true);
  assert.equal(ap.takeInit(), true);
  assert.equal(ap.takeInit(), false);
  assert.equal(ap.readRegister(0x80), 0, 'INIT reset the TPR');
  assert.equal(ap.readRegister(0x20), 0x01000000, 'INIT keeps the APIC ID');
  assert.equal(ap.waitingForSipi, true);
  ipi(bsp, 0x00008500, 1); // INIT level de-assert
  assert.equal(ap.pending, false);
  assert.equal(bsp.counters.initDeasserts, 1);
  ipi(bsp, 0x0000069a, 1); // SIPI, start page 0x9a
  assert.equal(ap.pending, true);
  assert.equal(ap.takeSipi(), 0x9a);
  assert.equal(ap.waitingForSipi, false);
  ipi(bsp, 0x0000069a, 1);
  assert.equal(ap.takeSipi(), -1);
  assert.equal(ap.counters.ignoredSipis, 1);
});

test('NMI by IPI and through LINT1; onPending wakes the vCPU', () => {
  const { lapics } = smp(2);
  const [bsp, ap] = lapics as [Lapic, Lapic];
  let wakes = 0;
  bsp.onPending = () => wakes++;
  ipi(ap, 0x00000400, 0);
  assert.equal(wakes, 1);
  assert.equal(bsp.pending, true);
  assert.equal(bsp.peekInterrupt(), -1, 'an NMI is not a maskable interrupt');
  assert.equal(bsp.takeNmi(), true);
  assert.equal(bsp.takeNmi(), false);
  bsp.writeRegister(0x360, 0x400); // LINT1: NMI
  bsp.setLint(1, true);
  bsp.setLint(1, true);
  assert.equal(bsp.takeNmi(), true);
  assert.equal(bsp.takeNmi(), false, 'only a rising edge raises the NMI');
  assert.equal(wakes, 2);
});

test('LINT0 in ExtINT mode takes the vector from the 8259A', () => {
  const clock = new ManualClock();
  const timers = new TimerQueue(clock);
  const bus = createApicBus();
  const pic = createPic();
  const bsp = createLapic({ index: 0, tscHz: 1e9 }, { timers, router: bus });
  bus.connect({ lapics: [bsp], ioapic: null, pic });
  for (const [port, v] of [[0x20, 0x11], [0x21, 0x30], [0x21, 4], [0x21, 1], [0x21, 0]] as const) pic.pio.write(port, 1, v);
  let wakes = 0;
  bsp.onPending = () => wakes++;
  bus.setIrq(1, true);
  assert.equal(wakes, 1);
  assert.equal(bsp.pending, true);
  assert.equal(bsp.peekInterrupt(), 0x31);
  bsp.acknowledgeInterrupt(0x31);
  assert.equal(pic.master.isr, 0x02, 'the INTA went to the PIC');
  assert.equal(bsp.pending, false);
  // Masking LINT0 disconnects the PIC.
  pic.pio.write(0x20, 1, 0x20);
  bus.setIrq(1, false);
  bus.setIrq(1, true);
  bsp.writeRegister(0xf0, 0x1ff);
  bsp.writeRegister(0x350, 0x10700);
  assert.equal(bsp.pending, false);
});
