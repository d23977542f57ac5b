import assert from 'node:assert/strict';
import test from 'node:test';
import { fuzzDevice } from '../../bus/device-fuzz.js';
import { createPic, Pic } from './pic.js';

const out = (pic: Pic, port: number, v: number) => pic.pio.write(port, 1, v);
const inb = (pic: Pic, port: number) => pic.pio.read(port, 1);

/** Linux's init_8259A: vectors 0x30 / 0x38, cascade on IR2, 8086 mode. */
function linuxInit(pic: Pic, autoEoi = false): void {
  out(pic, 0x21, 0xff);
  out(pic, 0xa1, 0xff);
  out(pic, 0x20, 0x11); // ICW1: edge, cascade, ICW4 follows
  out(pic, 0x21, 0x30); // ICW2
  out(pic, 0x21, 0x04); // ICW3: slave on IR2
  out(pic, 0x21, autoEoi ? 0x03 : 0x01); // ICW4
  out(pic, 0xa0, 0x11);
  out(pic, 0xa1, 0x38);
  out(pic, 0xa1, 0x02); // ICW3: slave ID 2
  out(pic, 0xa1, 0x01);
  out(pic, 0x21, 0x00);
  out(pic, 0xa1, 0x00);
}

test('the IMR reads back what was written before and after the init sequence (Linux probe)', () => {
  const pic = createPic();
  out(pic, 0xa1, 0xff);
  out(pic, 0x21, 0xfb);
  assert.equal(inb(pic, 0x21), 0xfb);
  assert.equal(inb(pic, 0xa1), 0xff);
  // ICW1 clears the IMR; ICW2-4 go to the data port without touching it.
  out(pic, 0x20, 0x11);
  assert.equal(inb(pic, 0x21), 0x00);
  out(pic, 0x21, 0x30);
  out(pic, 0x21, 0x04);
  out(pic, 0x21, 0x01);
  assert.equal(pic.master.vectorBase, 0x30);
  assert.equal(pic.master.icw3, 0x04);
  assert.equal(pic.master.initStep, 0);
  out(pic, 0x21, 0xfa);
  assert.equal(inb(pic, 0x21), 0xfa);
});

test('ICW1 without IC4 and with SNGL skips ICW3 and ICW4', () => {
  const pic = createPic();
  out(pic, 0x20, 0x12); // SNGL, no IC4
  out(pic, 0x21, 0x48); // ICW2
  assert.equal(pic.master.initStep, 0);
  out(pic, 0x21, 0x55); // OCW1 now
  assert.equal(inb(pic, 0x21), 0x55);
  assert.equal(pic.master.vectorBase, 0x48);
});

test('priority: the lowest IR wins, in-service blocks lower levels, non-specific EOI retires the highest', () => {
  const pic = createPic();
  linuxInit(pic);
  pic.setIrq(3, true);
  pic.setIrq(1, true);
  assert.equal(pic.intr, true);
  assert.equal(pic.peekVector(), 0x31);
  assert.equal(pic.acknowledge(), 0x31);
  assert.equal(pic.master.isr, 0x02);
  // IRQ 3 is lower priority than IRQ 1 in service: INTR drops.
  assert.equal(pic.intr, false);
  // IRQ 0 is higher: it nests.
  pic.setIrq(0, true);
  assert.equal(pic.intr, true);
  assert.equal(pic.acknowledge(), 0x30);
  assert.equal(pic.master.isr, 0x03);
  out(pic, 0x20, 0x20); // non-specific EOI: clears IR0
  assert.equal(pic.master.isr, 0x02);
  assert.equal(pic.intr, false);
  out(pic, 0x20, 0x20); // clears IR1
  assert.equal(pic.master.isr, 0x00);
  assert.equal(pic.intr, true);
  assert.equal(pic.acknowledge(), 0x33);
  out(pic, 0x20, 0x63); // specific EOI for IR3
  assert.equal(pic.master.isr, 0);
  assert.equal(pic.master.spuriousEois, 0);
});

test('OCW3 selects IRR or ISR for command-port reads', () => {
  const pic = createPic();
  linuxInit(pic);
  pic.setIrq(4, true);
  pic.setIrq(5, true);
  out(pic, 0x20, 0x0a);
  assert.equal(inb(pic, 0x20), 0x30);
  pic.acknowledge();
  assert.equal(inb(pic, 0x20), 0x20);
  out(pic, 0x20, 0x0b);
  assert.equal(inb(pic, 0x20), 0x10);
});

test('the slave cascades through master IR2: vector from the slave base, both ISRs set', () => {
  const pic = createPic();
  linuxInit(pic);
  const levels: boolean[] = [];
  pic.onIntr = (l) => levels.push(l);
  pic.setIrq(10, true);
  assert.deepEqual(levels, [true]);
  assert.equal(pic.peekVector(), 0x3a);
  assert.equal(pic.acknowledge(), 0x3a);
  assert.equal(pic.master.isr, 0x04);
  assert.equal(pic.slave.isr, 0x04);
  assert.deepEqual(levels, [true, false]);
  // A master IRQ lower than IR2 waits; IRQ 1 (higher) nests.
  pic.setIrq(5, true);
  assert.equal(pic.intr, false);
  pic.setIrq(1, true);
  assert.equal(pic.acknowledge(), 0x31);
  out(pic, 0x20, 0x20);
  out(pic, 0xa0, 0x20);
  out(pic, 0x20, 0x20);
  assert.equal(pic.slave.isr, 0);
  assert.equal(pic.master.isr, 0);
  assert.equal(pic.acknowledge(), 0x35);
});

test('IRQ 2 is the cascade and cannot be driven', () => {
  const pic = createPic();
  linuxInit(pic);
  pic.setIrq(2, true);
  pic.setIrq(16, true);
  assert.equal(pic.intr, false);
  assert.equal(pic.badIrqs, 2);
});

test('edge inputs latch a pulse; a held line interrupts once', () => {
  const pic = createPic();
  linuxInit(pic);
  pic.setIrq(4, true);
  pic.setIrq(4, false);
  assert.equal(pic.intr, true);
  assert.equal(pic.acknowledge(), 0x34);
  out(pic, 0x20, 0x20);
  assert.equal(pic.intr, false);
  pic.setIrq(4, true);
  pic.acknowledge();
  out(pic, 0x20, 0x20);
  pic.setIrq(4, true); // still high: no new edge
  assert.equal(pic.intr, false);
});

test('ELCR makes an input level-triggered: it re-requests after EOI while high', () => {
  const pic = createPic();
  linuxInit(pic);
  // Bits that do not exist (IRQ 0-2, 8, 13) stay clear.
  pic.pio.write(0x4d0, 2, 0xffff);
  assert.equal(pic.pio.read(0x4d0, 1), 0xf8);
  assert.equal(pic.pio.read(0x4d1, 1), 0xde);
  pic.pio.write(0x4d0, 2, 0x0400); // IRQ 10 only
  assert.equal(pic.pio.read(0x4d0, 2), 0x0400);
  pic.setIrq(10, true);
  assert.equal(pic.acknowledge(), 0x3a);
  assert.equal(pic.slave.irr & 0x04, 0x04, 'a level request stays in the IRR while asserted');
  out(pic, 0xa0, 0x20);
  out(pic, 0x20, 0x20);
  assert.equal(pic.intr, true);
  assert.equal(pic.acknowledge(), 0x3a);
  pic.setIrq(10, false);
  out(pic, 0xa0, 0x20);
  out(pic, 0x20, 0x20);
  assert.equal(pic.intr, false);
  assert.equal(pic.slave.irr, 0);
});

test('spurious IRQ 7 and 15 when the request vanished before INTA', () => {
  const pic = createPic();
  linuxInit(pic);
  assert.equal(pic.acknowledge(), 0x37);
  assert.equal(pic.master.isr, 0, 'a spurious IRQ 7 is not put in service');
  pic.setIrq(12, true);
  assert.equal(pic.intr, true);
  out(pic, 0xa1, 0x10); // mask IRQ 12 after the master latched IR2
  assert.equal(pic.acknowledge(), 0x3f);
  assert.equal(pic.slave.isr, 0);
  assert.equal(pic.master.isr, 0x04, 'the master saw a real IR2');
  assert.equal(pic.spuriousAcks, 2);
});

test('poll mode: the command-port read after OCW3 P=1 is an INTA', () => {
  const pic = createPic();
  linuxInit(pic);
  out(pic, 0x20, 0x0c);
  assert.equal(inb(pic, 0x20), 0x00, 'nothing pending: I bit clear');
  pic.setIrq(6, true);
  pic.setIrq(3, true);
  out(pic, 0x20, 0x0c);
  assert.equal(inb(pic, 0x20), 0x83);
  assert.equal(pic.master.isr, 0x08);
  assert.equal(pic.master.irr, 0x40);
  // The next read is an ordinary IRR read again.
  assert.equal(inb(pic, 0x20), 0x40);
});

test('auto-EOI leaves nothing in service; rotate commands move the priority', () => {
  const pic = createPic();
  linuxInit(pic, true);
  pic.setIrq(5, true);
  assert.equal(pic.acknowledge(), 0x35);
  assert.equal(pic.master.isr, 0);
  // Set priority: IR4 lowest, so IR5 is now the highest.
  out(pic, 0x20, 0xc4);
  pic.setIrq(1, true);
  pic.setIrq(6, true);
  assert.equal(pic.acknowledge(), 0x36);
  assert.equal(pic.acknowledge(), 0x31);
});

test('rotate on non-specific EOI makes the serviced level the lowest', () => {
  const pic = createPic();
  linuxInit(pic);
  pic.setIrq(1, true);
  assert.equal(pic.acknowledge(), 0x31);
  out(pic, 0x20, 0xa0); // rotate on non-specific EOI
  assert.equal(pic.master.priorityAdd, 2);
  pic.setIrq(0, true);
  pic.setIrq(3, true);
  assert.equal(pic.acknowledge(), 0x33, 'IR3 now outranks IR0');
});

test('special mask mode lets lower levels through while a masked level is in service', () => {
  const pic = createPic();
  linuxInit(pic);
  pic.setIrq(3, true);
  assert.equal(pic.acknowledge(), 0x33);
  pic.setIrq(5, true);
  assert.equal(pic.intr, false);
  out(pic, 0x21, 0x08); // mask IR3
  out(pic, 0x20, 0x68); // OCW3: set special mask mode
  assert.equal(pic.intr, true);
  assert.equal(pic.acknowledge(), 0x35);
});

test('save, JSON, restore gives the same state and behaviour', () => {
  const pic = createPic();
  linuxInit(pic);
  pic.pio.write(0x4d1, 1, 0x08);
  pic.setIrq(11, true);
  pic.setIrq(4, true);
  pic.acknowledge();
  out(pic, 0x20, 0x0b);
  const saved = JSON.parse(JSON.stringify(pic.save()));
  const copy = createPic({}, {}, saved);
  assert.deepEqual(copy.save(), pic.save());
  assert.equal(copy.intr, pic.intr);
  assert.equal(inb(copy, 0x20), inb(pic, 0x20));
  assert.equal(copy.acknowledge(), pic.acknowledge());
  assert.throws(() => createPic({}, {}, { version: 9 }), /version 9/);
});

test('reset returns to the power-on state', () => {
  const pic = createPic();
  linuxInit(pic);
  pic.setIrq(1, true);
  pic.reset();
  assert.equal(pic.intr, false);
  assert.equal(pic.master.vectorBase, 0);
  assert.equal(inb(pic, 0x21), 0);
});

test('fuzz: random port accesses never throw', () => {
  fuzzDevice(() => {
    const pic = new Pic();
    pic.setIrq(4, true);
    pic.setIrq(9, true);
    return pic;
  }, {
    after: (d) => {
      const pic = d as Pic;
      const v = pic.acknowledge();
      assert.ok(v >= 0 && v <= 0xff);
      assert.ok(pic.inspect().children !== undefined);
    },
  });
});
