import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { ManualClock, TimerQueue } from '../../bus/clock.js';
import { fuzzDevice } from '../../bus/device-fuzz.js';
import type { IrqLine } from '../../bus/irq.js';
import { createPit, nsAtTick, type Pit, ticksAt } from './pit.js';
import { PIT_HZ } from './regs.js';

class PulseLine implements IrqLine {
  readonly gsi = 0;
  pulses = 0;
  set(): void {}
  pulse(): void {
    this.pulses++;
  }
}

function setup(): { clock: ManualClock; timers: TimerQueue; irq: PulseLine; pit: Pit } {
  const clock = new ManualClock();
  const timers = new TimerQueue(clock);
  const irq = new PulseLine();
  const pit = createPit({}, { timers, irq });
  return { clock, timers, irq, pit };
}

/** Moves the clock to tick `t` exactly. */
function toTick(clock: ManualClock, t: number): void {
  clock.set(nsAtTick(t));
}

function program(pit: Pit, ch: number, control: number, count: number): void {
  pit.pio.write(0x43, 1, control);
  pit.pio.write(0x40 + ch, 1, count & 0xff);
  pit.pio.write(0x40 + ch, 1, (count >> 8) & 0xff);
}

function read16(pit: Pit, ch: number): number {
  const lo = pit.pio.read(0x40 + ch, 1);
  return lo | (pit.pio.read(0x40 + ch, 1) << 8);
}

test('the input clock is 1.193182 MHz of machine time, exactly, for any time', () => {
  assert.equal(ticksAt(1e9), PIT_HZ);
  assert.equal(ticksAt(10e6), 11931);
  assert.equal(ticksAt(3600e9 * 24 * 100), PIT_HZ * 3600 * 24 * 100);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: Math.floor(2 ** 52 / 1000) }), (tick) => {
      const ns = nsAtTick(tick);
      assert.equal(ticksAt(ns), tick);
      assert.equal(ticksAt(ns - 1), tick - 1);
    }),
  );
});

test('mode 2 (rate generator): count, OUT low for one clock, one IRQ pulse per period', () => {
  const { clock, timers, irq, pit } = setup();
  program(pit, 0, 0x34, 1193);
  assert.equal(pit.countAt(0, nsAtTick(0)), 1193);
  assert.equal(pit.countAt(0, nsAtTick(1)), 1192);
  assert.equal(pit.countAt(0, nsAtTick(1192)), 1);
  assert.equal(pit.countAt(0, nsAtTick(1193)), 1193);
  assert.equal(pit.outAt(0, nsAtTick(1191)), true);
  assert.equal(pit.outAt(0, nsAtTick(1192)), false);
  assert.equal(pit.outAt(0, nsAtTick(1193)), true);
  assert.equal(pit.nextEdgeNs, nsAtTick(1193));
  // 10 ms in 50 us steps: ticks 0..11931 hold rising edges at 1193*k, k = 1..10.
  for (let ns = 0; ns <= 10e6; ns += 50e3) {
    clock.set(ns);
    timers.runDue();
  }
  assert.equal(irq.pulses, 10);
  // A live read through the port, lobyte then hibyte.
  toTick(clock, 1193 * 20 + 100);
  assert.equal(read16(pit, 0), 1093);
});

test('mode 0 (interrupt on terminal count): OUT rises once at N, the counter wraps, no more timers', () => {
  const { clock, timers, irq, pit } = setup();
  program(pit, 0, 0x30, 100);
  assert.equal(pit.outAt(0, 0), false);
  assert.equal(pit.countAt(0, nsAtTick(50)), 50);
  assert.equal(pit.outAt(0, nsAtTick(99)), false);
  assert.equal(pit.outAt(0, nsAtTick(100)), true);
  assert.equal(pit.countAt(0, nsAtTick(101)), 0xffff);
  toTick(clock, 99);
  timers.runDue();
  assert.equal(irq.pulses, 0);
  toTick(clock, 100);
  timers.runDue();
  assert.equal(irq.pulses, 1);
  assert.equal(pit.nextEdgeNs, Infinity);
  clock.advance(1e9);
  timers.runDue();
  assert.equal(irq.pulses, 1);
});

test('mode 3 (square wave): even and odd counts', () => {
  const { pit } = setup();
  program(pit, 0, 0x36, 10);
  const even = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((t) => pit.countAt(0, nsAtTick(t)));
  assert.deepEqual(even, [10, 8, 6, 4, 2, 10, 8, 6, 4, 2, 10]);
  const outE = [0, 4, 5, 9, 10].map((t) => pit.outAt(0, nsAtTick(t)));
  assert.deepEqual(outE, [true, true, false, false, true]);
  program(pit, 0, 0x36, 5);
  const odd = [0, 1, 2, 3, 4, 5].map((t) => pit.countAt(0, nsAtTick(t)));
  // Datasheet: load 5, -1, -2; reload, -3 (then -2); high for 3 clocks, low for 2.
  assert.deepEqual(odd, [5, 4, 2, 5, 2, 5]);
  const outO = [0, 2, 3, 4, 5].map((t) => pit.outAt(0, nsAtTick(t)));
  assert.deepEqual(outO, [true, true, false, false, true]);
});

test('mode 4 (software strobe): OUT low for the one clock at terminal count, IRQ on its rise', () => {
  const { clock, timers, irq, pit } = setup();
  program(pit, 0, 0x38, 50);
  assert.equal(pit.outAt(0, nsAtTick(49)), true);
  assert.equal(pit.outAt(0, nsAtTick(50)), false);
  assert.equal(pit.outAt(0, nsAtTick(51)), true);
  assert.equal(pit.nextEdgeNs, nsAtTick(51));
  toTick(clock, 51);
  timers.runDue();
  assert.equal(irq.pulses, 1);
  assert.equal(pit.nextEdgeNs, Infinity);
});

test('modes 1 and 5 wait for a gate trigger on counter 2 (port 0x61 bit 0) and retrigger', () => {
  const { clock, pit } = setup();
  program(pit, 2, 0xb2, 20); // counter 2, lo/hi, mode 1
  toTick(clock, 10);
  assert.equal(pit.outAt(2, clock.nowNs()), true, 'mode 1 OUT is high until triggered');
  pit.pio.write(0x61, 1, 0x01);
  assert.equal(pit.pio.read(0x61, 1) & 0x20, 0, 'triggered: OUT low, seen in port B bit 5');
  assert.equal(pit.countAt(2, nsAtTick(15)), 15);
  toTick(clock, 30);
  assert.equal(pit.pio.read(0x61, 1) & 0x20, 0x20);
  // Retrigger: gate low then high restarts the one-shot.
  pit.pio.write(0x61, 1, 0x00);
  pit.pio.write(0x61, 1, 0x01);
  assert.equal(pit.outAt(2, nsAtTick(49)), false);
  assert.equal(pit.outAt(2, nsAtTick(50)), true);
  // Mode 5: the strobe comes N clocks after the trigger.
  program(pit, 2, 0xba, 5);
  pit.pio.write(0x61, 1, 0x00);
  toTick(clock, 100);
  pit.pio.write(0x61, 1, 0x01);
  assert.equal(pit.outAt(2, nsAtTick(104)), true);
  assert.equal(pit.outAt(2, nsAtTick(105)), false);
  assert.equal(pit.outAt(2, nsAtTick(106)), true);
});

test('Linux pit_calibrate_tsc: counter 2 in mode 0 behind the port B gate; OUT2 rises after the latch', () => {
  const { clock, pit } = setup();
  const CAL_LATCH = Math.floor(PIT_HZ / 100); // 10 ms
  pit.pio.write(0x61, 1, (pit.pio.read(0x61, 1) & ~0x02) | 0x01);
  pit.pio.write(0x43, 1, 0xb0);
  pit.pio.write(0x42, 1, CAL_LATCH & 0xff);
  pit.pio.write(0x42, 1, CAL_LATCH >> 8);
  let polls = 0;
  while ((pit.pio.read(0x61, 1) & 0x20) === 0) {
    clock.advance(1000);
    polls++;
  }
  const firstNs = nsAtTick(CAL_LATCH);
  assert.ok(clock.nowNs() >= firstNs && clock.nowNs() < firstNs + 1000, `OUT2 rose at ${clock.nowNs()} ns`);
  assert.equal(polls, Math.ceil(firstNs / 1000));
  // Gate low stops a mode 0 count; gate high resumes it.
  program(pit, 2, 0xb0, 1000);
  toTick(clock, ticksAt(clock.nowNs()) + 100);
  const before = read16(pit, 2);
  pit.pio.write(0x61, 1, 0x00);
  clock.advance(1e6);
  assert.equal(read16(pit, 2), before);
  pit.pio.write(0x61, 1, 0x01);
  assert.equal(pit.countAt(2, clock.nowNs() + nsAtTick(10) + 1), before - 10);
});

test('counter latch holds the first value until read; live reads resume afterwards', () => {
  const { clock, pit } = setup();
  program(pit, 0, 0x34, 1000);
  toTick(clock, 100);
  pit.pio.write(0x43, 1, 0x00);
  toTick(clock, 200);
  pit.pio.write(0x43, 1, 0x00); // ignored: a latch is already held
  toTick(clock, 300);
  assert.equal(read16(pit, 0), 900);
  assert.equal(read16(pit, 0), 700);
  // Lobyte-only access reads only the low byte, from the latch too.
  pit.pio.write(0x43, 1, 0x54); // counter 1, LSB only, mode 2
  pit.pio.write(0x41, 1, 0x40);
  toTick(clock, 310);
  pit.pio.write(0x43, 1, 0x40);
  toTick(clock, 320);
  assert.equal(pit.pio.read(0x41, 1), 0x40 - 10);
  assert.equal(pit.pio.read(0x41, 1), 0x40 - 20);
});

test('read-back command: status then count, NULL COUNT until the count is loaded', () => {
  const { clock, pit } = setup();
  pit.pio.write(0x43, 1, 0x34);
  pit.pio.write(0x43, 1, 0xe2); // status of counter 0 only
  assert.equal(pit.pio.read(0x40, 1), 0x40 | 0x30 | (2 << 1) | 0x80);
  pit.pio.write(0x40, 1, 0x10);
  pit.pio.write(0x40, 1, 0x00);
  toTick(clock, 5);
  pit.pio.write(0x43, 1, 0xc2); // count and status
  assert.equal(pit.pio.read(0x40, 1), 0x80 | 0x30 | 0x04, 'OUT high, count loaded, lo/hi, mode 2');
  assert.equal(read16(pit, 0), 16 - 5);
  pit.pio.write(0x43, 1, 0xd2); // count only
  toTick(clock, 7);
  assert.equal(read16(pit, 0), 16 - 5);
});

test('mode 2: a count written while counting is loaded at the end of the period', () => {
  const { clock, pit } = setup();
  program(pit, 0, 0x34, 100);
  toTick(clock, 30);
  pit.pio.write(0x40, 1, 10);
  pit.pio.write(0x40, 1, 0);
  assert.equal(pit.countAt(0, nsAtTick(99)), 1);
  assert.equal(pit.countAt(0, nsAtTick(100)), 10);
  assert.equal(pit.countAt(0, nsAtTick(105)), 5);
  assert.equal(pit.nextEdgeNs, nsAtTick(100));
});

test('BCD counting and a count of 0 meaning the maximum', () => {
  const { pit } = setup();
  program(pit, 0, 0x31, 0x0100); // mode 0, BCD, 100
  assert.equal(pit.countAt(0, nsAtTick(1)), 0x0099);
  assert.equal(pit.countAt(0, nsAtTick(100)), 0);
  assert.equal(pit.countAt(0, nsAtTick(101)), 0x9999);
  program(pit, 0, 0x34, 0);
  assert.equal(pit.countAt(0, nsAtTick(1)), 0xffff);
  assert.equal(pit.outAt(0, nsAtTick(65535)), false);
  assert.equal(pit.nextEdgeNs, nsAtTick(65536));
});

test('port B: writable bits read back, REFRESH toggles on each read, wide reads split by byte', () => {
  const { pit } = setup();
  pit.pio.write(0x61, 1, 0xff);
  const a = pit.pio.read(0x61, 1);
  const b = pit.pio.read(0x61, 1);
  assert.equal(a & 0x0f, 0x0f);
  assert.notEqual(a & 0x10, b & 0x10);
  program(pit, 0, 0x30, 0x1234);
  // An ISA word read is two byte reads: counter 0 low byte, then counter 1 (idle, 0).
  assert.equal(pit.pio.read(0x40, 2), 0x0034);
  assert.equal(pit.pio.read(0x43, 1), 0xff);
});

test('no timer while counter 0 is unused or its GSI is masked', () => {
  const { timers, pit } = setup();
  assert.equal(timers.nextDeadline(), Infinity);
  program(pit, 0, 0x34, 1193);
  assert.equal(timers.nextDeadline(), nsAtTick(1193));
  pit.setIrqMasked(true);
  assert.equal(timers.nextDeadline(), Infinity);
  pit.setIrqMasked(false);
  assert.equal(timers.nextDeadline(), nsAtTick(1193));
  pit.reset();
  assert.equal(timers.nextDeadline(), Infinity);
});

test('late timers coalesce missed edges into one pulse', () => {
  const { clock, timers, irq, pit } = setup();
  program(pit, 0, 0x34, 100);
  toTick(clock, 1050);
  timers.runDue();
  assert.equal(irq.pulses, 1);
  const coalesced = pit.inspect().children?.['coalescedEdges']?.value;
  assert.equal(coalesced, 9);
  assert.equal(pit.nextEdgeNs, nsAtTick(1100));
});

test('save -> JSON -> restore gives the same counters, outputs and future edges', () => {
  const { clock, timers, irq, pit } = setup();
  program(pit, 0, 0x34, 1000);
  program(pit, 2, 0xb6, 333);
  pit.pio.write(0x61, 1, 0x03);
  pit.pio.write(0x43, 1, 0x80); // latch counter 2
  pit.pio.write(0x41, 1, 0x55); // first half of counter 1's word (pending MSB)
  toTick(clock, 12345);
  timers.runDue();
  const saved = JSON.parse(JSON.stringify(pit.save()));
  const timers2 = new TimerQueue(clock);
  const irq2 = new PulseLine();
  const copy = createPit({}, { timers: timers2, irq: irq2 }, saved);
  assert.deepEqual(copy.save(), pit.save());
  assert.equal(copy.nextEdgeNs, pit.nextEdgeNs);
  for (const ch of [0, 2]) {
    for (const dt of [0, 1, 500, 1000, 5000]) {
      const ns = clock.nowNs() + nsAtTick(dt);
      assert.equal(copy.countAt(ch, ns), pit.countAt(ch, ns));
      assert.equal(copy.outAt(ch, ns), pit.outAt(ch, ns));
    }
  }
  assert.equal(read16(copy, 2), read16(pit, 2));
  const before = irq.pulses;
  clock.advance(5e6);
  timers.runDue();
  timers2.runDue();
  assert.equal(irq2.pulses, irq.pulses - before);
  assert.throws(() => createPit({}, { timers, irq }, { version: 2 }));
  // A channel that is not an object is refused by name, not a TypeError.
  for (const bad of [null, 7, [1, 2, 3]]) {
    const channels = [...(saved.channels as unknown[])];
    channels[1] = bad;
    assert.throws(() => createPit({}, { timers, irq }, { ...saved, channels }), /saved channel 1 is not an object/);
  }
});

test('fuzz: random port accesses never throw and reads fit their width', () => {
  const clock = new ManualClock();
  const timers = new TimerQueue(clock);
  fuzzDevice(() => createPit({}, { timers, irq: new PulseLine() }), {
    after: () => {
      clock.advance(123_457);
      timers.runDue();
    },
  });
});
