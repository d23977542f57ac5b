import assert from 'node:assert/strict';
import test from 'node:test';
import { ManualClock, TimerQueue } from '../../bus/clock.js';
import { fuzzDevice } from '../../bus/device-fuzz.js';
import type { IrqLine } from '../../bus/irq.js';
import { createUart16550, type Uart16550 } from './uart16550.js';

class LevelLine implements IrqLine {
  readonly gsi = 4;
  level = false;
  edges = 0;
  set(level: boolean): void {
    if (level && !this.level) this.edges++;
    this.level = level;
  }
  pulse(): void {
    this.edges++;
  }
}

const BASE = 0x3f8;

function setup(backlogBytes?: number) {
  const clock = new ManualClock();
  const timers = new TimerQueue(clock);
  const irq = new LevelLine();
  const out: number[] = [];
  const calls: number[] = [];
  const uart = createUart16550(
    { base: BASE, ...(backlogBytes === undefined ? {} : { backlogBytes }) },
    {
      irq,
      timers,
      output: (b) => {
        calls.push(b.length);
        out.push(...b);
      },
    },
  );
  const inb = (off: number): number => uart.pio.read(BASE + off, 1);
  const outb = (off: number, v: number): void => uart.pio.write(BASE + off, 1, v);
  return { clock, timers, irq, out, calls, uart, inb, outb };
}

/** Linux 8250 autoconfig() and autoconfig_16550a(), reduced to the register traffic. */
function linuxAutoconfig(inb: (o: number) => number, outb: (o: number, v: number) => void): string {
  const scratch = inb(1);
  outb(1, 0);
  const scratch2 = inb(1) & 0x0f;
  outb(1, 0x0f);
  const scratch3 = inb(1) & 0x0f;
  outb(1, scratch);
  if (scratch2 !== 0 || scratch3 !== 0x0f) return 'IER test failed';
  const saveMcr = inb(4);
  outb(4, 0x10 | 0x0a); // LOOP | OUT2 | RTS
  const status1 = inb(6) & 0xf0;
  outb(4, saveMcr);
  if (status1 !== 0x90) return `loopback test failed (${status1.toString(16)})`;
  outb(3, 0xbf);
  outb(2, 0); // EFR on a 16650; FCR here
  outb(3, 0);
  outb(2, 0x01);
  const kind = inb(2) >> 6;
  if (kind !== 3) return `FIFO type ${kind}`;
  outb(3, 0x80);
  if (inb(2) === 0) return 'EFR (16C950/16650 V1)';
  outb(3, 0xbf);
  if (inb(2) === 0) return '16650';
  outb(3, 0);
  outb(2, 0x21);
  const s1 = inb(2) >> 5;
  outb(2, 0x01);
  outb(3, 0x80);
  outb(2, 0x21);
  const s2 = inb(2) >> 5;
  outb(2, 0x01);
  outb(3, 0);
  if (s1 === 6 && s2 === 7) return '16750';
  const ier = inb(1);
  outb(1, ier | 0x40);
  const uue = inb(1) & 0x40;
  outb(1, ier);
  if (uue) return 'XScale';
  return '16550A';
}

test('Linux autoconfig detects a 16550A', () => {
  const { inb, outb } = setup();
  assert.equal(linuxAutoconfig(inb, outb), '16550A');
  assert.notEqual(inb(5), 0xff, 'LSR safety check');
});

test('THRE: pending when ETBEI is set with THR empty, cleared by reading IIR, re-raised by re-enabling or a THR write', () => {
  const { inb, outb, irq, out } = setup();
  outb(4, 0x0b); // DTR | RTS | OUT2
  outb(2, 0x81);
  // serial8250_do_startup's THRE test.
  outb(1, 0x02);
  assert.equal(irq.level, true);
  const iir1 = inb(2);
  assert.equal(iir1, 0xc2);
  assert.equal(irq.level, false);
  assert.equal(inb(2), 0xc1, 'the read cleared it');
  outb(1, 0);
  outb(1, 0x02);
  assert.equal(inb(2), 0xc2, 'reasserted on re-enable');
  // Writing THR: the byte leaves at once and THRE is pending again.
  outb(0, 0x41);
  assert.equal(irq.level, true);
  assert.deepEqual(out, [0x41]);
  assert.equal(inb(5) & 0x60, 0x60);
  assert.equal(inb(2), 0xc2);
  outb(1, 0);
  outb(0, 0x42);
  assert.equal(inb(2), 0xc1, 'no THRE interrupt while ETBEI is clear');
});

test('IIR priority: line status > received data > THRE > modem status', () => {
  const { inb, outb, irq } = setup();
  outb(2, 0x07); // FIFO on, both reset, trigger 1
  outb(4, 0x10); // loopback
  for (let i = 0; i < 17; i++) outb(0, i); // 17th byte overruns the 16-byte FIFO
  outb(4, 0x1b); // loopback, DTR/RTS/OUT2: DSR, CTS, DCD change
  outb(1, 0x0f);
  assert.equal(irq.level, false, 'loopback keeps the interrupt off the bus');
  assert.equal(inb(2), 0xc6);
  assert.equal(inb(5) & 0x03, 0x03, 'LSR: data ready and overrun');
  assert.equal(inb(2), 0xc4);
  for (let i = 0; i < 16; i++) assert.equal(inb(0), i);
  assert.equal(inb(2), 0xc2);
  assert.equal(inb(2), 0xc0);
  assert.equal(inb(6), 0xbb, 'CTS, DSR, DCD set (looped RTS, DTR, OUT2); their deltas set by the changes');
  assert.equal(inb(2), 0xc1);
});

test('loopback: MCR outputs appear on MSR inputs with delta bits; TERI on RI falling', () => {
  const { inb, outb } = setup();
  inb(6);
  outb(4, 0x10);
  assert.equal(inb(6), 0x0b, 'CTS, DSR, DCD fell (host presents all three)');
  outb(4, 0x10 | 0x04); // OUT1 -> RI
  assert.equal(inb(6), 0x40);
  outb(4, 0x10);
  assert.equal(inb(6), 0x04, 'TERI');
  outb(4, 0x10 | 0x01); // DTR -> DSR
  assert.equal(inb(6), 0x22);
  outb(4, 0x00);
  assert.equal(inb(6) & 0xf0, 0xb0);
});

test('FIFO trigger level and character timeout', () => {
  const { inb, outb, irq, uart, clock, timers } = setup();
  outb(3, 0x80);
  outb(0, 1); // 115200 baud
  outb(1, 0);
  outb(3, 0x03); // 8N1
  outb(2, 0x87); // FIFO, trigger 8
  outb(4, 0x08);
  outb(1, 0x01);
  uart.receive(Uint8Array.of(1, 2, 3, 4));
  assert.equal(inb(2), 0xc1, 'below the trigger: nothing yet');
  assert.equal(irq.level, false);
  assert.equal(uart.charTimeNs(), Math.ceil((10 * 16 * 1e9) / 1843200));
  clock.advance(4 * uart.charTimeNs() - 1);
  timers.runDue();
  assert.equal(irq.level, false);
  clock.advance(1);
  timers.runDue();
  assert.equal(irq.level, true);
  assert.equal(inb(2), 0xcc);
  assert.equal(inb(0), 1);
  assert.equal(inb(2), 0xc1, 'reading a byte clears the timeout');
  uart.receive(Uint8Array.of(5, 6, 7, 8, 9));
  assert.equal(inb(2), 0xc4, '8 bytes reach the trigger');
  assert.equal(irq.level, true);
  const got: number[] = [];
  while (inb(5) & 1) got.push(inb(0));
  assert.deepEqual(got, [2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(irq.level, false);
});

test('OUT2 gates the interrupt line', () => {
  const { outb, irq } = setup();
  outb(1, 0x02);
  assert.equal(irq.level, false);
  outb(4, 0x08);
  assert.equal(irq.level, true);
  outb(4, 0x00);
  assert.equal(irq.level, false);
});

test('host input: a bounded backlog delivered in order as the guest drains, excess dropped and counted', () => {
  const { inb, uart } = setup(1000);
  const data = Uint8Array.from({ length: 1200 }, (_, i) => i & 0xff);
  assert.equal(uart.receive(data), 1000);
  assert.equal(uart.backlogFree, 1, 'one byte already moved into RBR (FIFO off)');
  const got: number[] = [];
  while (inb(5) & 1) got.push(inb(0));
  assert.equal(got.length, 1000);
  assert.deepEqual(got, [...data.subarray(0, 1000)]);
  assert.equal(uart.inspect().children?.['droppedInput']?.value, 200);
  assert.equal(inb(5) & 1, 0);
});

test('non-FIFO mode: one byte at a time, RDA while data ready, IIR bits 7:6 clear', () => {
  const { inb, outb, uart, irq } = setup();
  outb(4, 0x08);
  outb(1, 0x01);
  uart.receive(Uint8Array.of(0x61, 0x62));
  assert.equal(inb(2), 0x04);
  assert.equal(irq.level, true);
  assert.equal(inb(0), 0x61);
  assert.equal(inb(2), 0x04);
  assert.equal(inb(0), 0x62);
  assert.equal(inb(2), 0x01);
  assert.equal(irq.level, false);
});

test('transmit: one output call per byte written, none while DLAB or loopback, divisor stored', () => {
  const { outb, inb, out, calls } = setup();
  for (const c of 'hi\n') outb(0, c.charCodeAt(0));
  outb(3, 0x83);
  outb(0, 0x01);
  outb(1, 0x00);
  assert.equal(inb(0), 0x01);
  outb(3, 0x03);
  outb(4, 0x10);
  outb(0, 0x55);
  assert.deepEqual(out, [0x68, 0x69, 0x0a]);
  assert.deepEqual(calls, [1, 1, 1]);
  assert.equal(inb(0), 0x55);
  outb(7, 0xa5);
  assert.equal(inb(7), 0xa5);
});

test('save -> JSON -> restore: registers, FIFO, backlog and the timeout timer survive', () => {
  const { outb, uart, clock, timers } = setup();
  outb(3, 0x80);
  outb(0, 3);
  outb(3, 0x1b);
  outb(2, 0xc1);
  outb(4, 0x0b);
  outb(1, 0x0d);
  outb(7, 0x42);
  uart.receive(Uint8Array.from({ length: 40 }, (_, i) => 100 + i));
  clock.advance(1000);
  const saved = JSON.parse(JSON.stringify(uart.save()));
  const timers2 = new TimerQueue(clock);
  const irq2 = new LevelLine();
  const copy = createUart16550({ base: BASE }, { irq: irq2, timers: timers2 }, saved);
  assert.deepEqual(copy.save(), uart.save());
  assert.equal(timers2.nextDeadline(), timers.nextDeadline());
  const got: number[] = [];
  while (copy.pio.read(BASE + 5, 1) & 1) got.push(copy.pio.read(BASE, 1));
  assert.deepEqual(got, Array.from({ length: 40 }, (_, i) => 100 + i));
  assert.equal(copy.pio.read(BASE + 7, 1), 0x42);
  assert.throws(() => createUart16550({}, { irq: irq2, timers }, { version: 9 }), /version 9/);
});

test('reset returns the registers to their master-reset values but keeps scratch and divisor', () => {
  const { outb, inb, uart } = setup();
  outb(3, 0x80);
  outb(0, 0x30);
  outb(3, 0x03);
  outb(1, 0x0f);
  outb(4, 0x1f);
  outb(7, 0x99);
  uart.reset();
  assert.equal(inb(1), 0);
  assert.equal(inb(3), 0);
  assert.equal(inb(4), 0);
  assert.equal(inb(2), 0x01);
  assert.equal(inb(5), 0x60);
  assert.equal(inb(7), 0x99);
  outb(3, 0x80);
  assert.equal(inb(0), 0x30);
});

test('fuzz: no throws, reads fit, reserved bits stay clear, the line follows OUT2 and loopback', () => {
  const clock = new ManualClock();
  const timers = new TimerQueue(clock);
  let uart: Uart16550 | null = null;
  fuzzDevice(
    () => {
      uart = createUart16550({ base: BASE, backlogBytes: 64 }, { irq: new LevelLine(), timers });
      uart.receive(Uint8Array.of(1, 2, 3));
      return uart;
    },
    {
      after: () => {
        clock.advance(5_000_000);
        timers.runDue();
        const u = uart!;
        const mcr = u.pio.read(BASE + 4, 1);
        if (u.irqAsserted) assert.equal(mcr & 0x18, 0x08);
        assert.equal(mcr & 0xe0, 0);
        const iir = u.pio.read(BASE + 2, 1);
        assert.equal(iir & 0x30, 0);
        const lcr = u.pio.read(BASE + 3, 1);
        u.pio.write(BASE + 3, 1, lcr & 0x7f);
        assert.equal(u.pio.read(BASE + 1, 1) & 0xf0, 0);
      },
    },
  );
});
