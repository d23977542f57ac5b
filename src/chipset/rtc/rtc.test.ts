import assert from 'node:assert/strict';
import test from 'node:test';
import { ManualClock, TimerQueue } from '../../bus/clock.js';
import { fuzzDevice } from '../../bus/device-fuzz.js';
import type { IrqLine } from '../../bus/irq.js';
import { cmosMemoryPresets, createRtc, type Rtc, type RtcConfig } from './rtc.js';

class LevelLine implements IrqLine {
  readonly gsi = 8;
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

/** 2024-02-29 23:59:58 UTC, a Thursday, on a whole second. */
const T0 = Date.UTC(2024, 1, 29, 23, 59, 58);

function setup(wallMs = T0, config: RtcConfig = {}) {
  const clock = new ManualClock();
  const timers = new TimerQueue(clock);
  const irq = new LevelLine();
  let wall = wallMs;
  const rtc = createRtc(config, { irq, timers, now: () => wall });
  const cmos = (i: number): number => {
    rtc.pio.write(0x70, 1, i);
    return rtc.pio.read(0x71, 1);
  };
  const setCmos = (i: number, v: number): void => {
    rtc.pio.write(0x70, 1, i);
    rtc.pio.write(0x71, 1, v);
  };
  const advanceWall = (ms: number): void => {
    wall += ms;
  };
  return { clock, timers, irq, rtc, cmos, setCmos, advanceWall };
}

const TIME = [0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32];

test('time registers in BCD, binary and 12-hour mode, rolling over a leap day', () => {
  const { clock, cmos, setCmos } = setup();
  assert.equal(cmos(0x0b), 0x02, '24-hour BCD after power-on');
  assert.deepEqual(TIME.map(cmos), [0x58, 0x59, 0x23, 5, 0x29, 0x02, 0x24, 0x20]);
  setCmos(0x0b, 0x06);
  assert.deepEqual(TIME.map(cmos), [58, 59, 23, 5, 29, 2, 24, 20]);
  setCmos(0x0b, 0x00);
  assert.equal(cmos(0x04), 0x80 | 0x11, '11 PM');
  setCmos(0x0b, 0x02);
  clock.advance(2e9);
  assert.deepEqual(TIME.map(cmos), [0x00, 0x00, 0x00, 6, 0x01, 0x03, 0x24, 0x20]);
  setCmos(0x0b, 0x00);
  assert.equal(cmos(0x04), 0x12, '12 AM');
  assert.equal(cmos(0x0d), 0x80, 'VRT');
});

test('UIP is set for the 244 us before each update, and Linux\'s read loop gets through', () => {
  const { clock, cmos } = setup();
  clock.set(1e9 - 244_142);
  assert.equal(cmos(0x0a), 0x26);
  clock.set(1e9 - 244_141);
  assert.equal(cmos(0x0a), 0xa6);
  assert.equal(cmos(0x00), 0x58);
  clock.set(1e9);
  assert.equal(cmos(0x0a), 0x26);
  assert.equal(cmos(0x00), 0x59);
  // mc146818_avoid_UIP: wait while UIP (1 ms steps), read, check UIP and seconds again.
  clock.set(2e9 - 100_000);
  let tries = 0;
  let sec = -1;
  for (; tries < 10; tries++) {
    if (cmos(0x0a) & 0x80) {
      clock.advance(1e6);
      continue;
    }
    sec = cmos(0x00);
    if (!(cmos(0x0a) & 0x80) && cmos(0x00) === sec) break;
  }
  assert.equal(tries, 1);
  assert.equal(sec, 0x00);
});

test('register C: flags set by the clock even when disabled, cleared by reading', () => {
  const { clock, cmos, irq } = setup();
  assert.equal(cmos(0x0c), 0);
  clock.advance(1e9);
  assert.equal(cmos(0x0c), 0x50, 'UF and PF (1024 Hz), no IRQF without enables');
  assert.equal(cmos(0x0c), 0);
  assert.equal(irq.level, false);
});

test('periodic interrupt: 1024 Hz from rate select 6 when the guest acknowledges each one', () => {
  const { clock, timers, cmos, setCmos, irq } = setup();
  setCmos(0x0b, 0x42);
  const first = timers.nextDeadline();
  assert.equal(first, Math.ceil(1e9 / 1024));
  let acks = 0;
  while (timers.nextDeadline() <= 1e9) {
    clock.set(timers.nextDeadline());
    timers.runDue();
    assert.equal(irq.level, true);
    assert.equal(cmos(0x0c) & 0xc0, 0xc0);
    acks++;
  }
  assert.equal(acks, 1024);
  assert.equal(irq.edges, 1024);
  // 2 Hz: rate select 15.
  setCmos(0x0a, 0x2f);
  cmos(0x0c);
  assert.equal(clock.nowNs(), 1e9);
  assert.equal(timers.nextDeadline(), 1.5e9);
});

test('no timer without enabled sources, and none while IRQF waits for a register C read', () => {
  const { clock, timers, cmos, setCmos, irq } = setup();
  assert.equal(timers.nextDeadline(), Infinity);
  setCmos(0x05, 0x15); // an alarm hour that does not come up here
  setCmos(0x0b, 0x12); // UIE
  assert.equal(timers.nextDeadline(), 1e9);
  clock.set(1e9);
  timers.runDue();
  assert.equal(irq.level, true);
  assert.equal(timers.nextDeadline(), Infinity);
  clock.set(5.5e9);
  assert.equal(cmos(0x0c), 0x80 | 0x50);
  assert.equal(irq.level, false);
  assert.equal(timers.nextDeadline(), 6e9);
});

test('alarm interrupt with exact and don\'t-care fields', () => {
  const { clock, timers, setCmos, cmos, irq } = setup();
  setCmos(0x01, 0x03); // 00:00:03 the next day; hour don't-care
  setCmos(0x03, 0x00);
  setCmos(0x05, 0xc0);
  setCmos(0x0b, 0x22);
  assert.equal(timers.nextDeadline(), 5e9);
  clock.set(5e9 - 1);
  timers.runDue();
  assert.equal(irq.level, false);
  clock.set(5e9);
  timers.runDue();
  assert.equal(irq.level, true);
  assert.equal(cmos(0x0c), 0x80 | 0x20 | 0x10 | 0x40);
  // Next match: an hour later (hour is don't-care).
  assert.equal(timers.nextDeadline(), 5e9 + 3600e9);
});

test('Linux mc146818_set_time: SET and divider reset hold updates; the new time runs from release', () => {
  const { clock, cmos, setCmos } = setup();
  const ctrl = cmos(0x0b);
  setCmos(0x0b, ctrl | 0x80);
  const freq = cmos(0x0a);
  setCmos(0x0a, freq | 0x70);
  const set = [
    [0x09, 0x30],
    [0x08, 0x12],
    [0x07, 0x25],
    [0x04, 0x08],
    [0x02, 0x30],
    [0x00, 0x15],
    [0x32, 0x20],
  ];
  for (const [i, v] of set) setCmos(i!, v!);
  clock.advance(3e9);
  assert.equal(cmos(0x00), 0x15, 'held while SET');
  assert.equal(cmos(0x0a) & 0x80, 0, 'no UIP while held');
  setCmos(0x0b, ctrl);
  setCmos(0x0a, freq);
  const t = clock.nowNs();
  clock.set(t + 499_999_999);
  assert.equal(cmos(0x00), 0x15);
  clock.set(t + 500_000_000);
  assert.equal(cmos(0x00), 0x16, 'first update half a second after the divider starts');
  assert.deepEqual(TIME.map(cmos), [0x16, 0x30, 0x08, 4, 0x25, 0x12, 0x30, 0x20], '2030-12-25 is a Wednesday');
});

test('a guest-set time keeps its offset across save and restore while wall time passes', () => {
  const { clock, timers, cmos, setCmos, rtc, advanceWall } = setup();
  setCmos(0x09, 0x99); // writing a time register while running sets the year at once
  assert.equal(cmos(0x09), 0x99);
  clock.advance(250e6);
  const saved = JSON.parse(JSON.stringify(rtc.save()));
  const copy = createRtc({}, { irq: new LevelLine(), timers, now: () => T0 }, saved);
  assert.deepEqual(copy.save(), rtc.save());
  // 2099 has no 29 February: the date written rolls over to 1 March.
  assert.equal(copy.time, '2099-03-01T23:59:58.000Z');
  advanceWall(10_000);
  const later = createRtc({}, { irq: new LevelLine(), timers, now: () => T0 + 10_000 }, saved);
  assert.equal(later.time, '2099-03-02T00:00:08.000Z');
});

test('save -> JSON -> restore round trip of registers, RAM, flags and the second phase', () => {
  const { clock, timers, setCmos, rtc } = setup(T0 + 123, { extended: true, cmos: { 0x10: 0x40, 0x80: 7 } });
  setCmos(0x0b, 0x16); // UIE, binary
  setCmos(0x40, 0xab);
  rtc.pio.write(0x70, 1, 0x8f); // NMI masked, index 0x0f
  clock.advance(1_234_567);
  const saved = JSON.parse(JSON.stringify(rtc.save()));
  const timers2 = new TimerQueue(clock);
  const copy = createRtc({ extended: true }, { irq: new LevelLine(), timers: timers2, now: () => T0 + 123 }, saved);
  assert.deepEqual(copy.save(), rtc.save());
  assert.equal(copy.nmiMasked, true);
  assert.equal(timers2.nextDeadline(), timers.nextDeadline());
  copy.pio.write(0x72, 1, 0x00);
  assert.equal(copy.pio.read(0x73, 1), 7);
  assert.throws(() => createRtc({}, { irq: new LevelLine(), timers }, { version: 2 }), /version 2/);
});

test('CMOS RAM, presets and the memory-size bytes firmware reads', () => {
  const p = cmosMemoryPresets(32 * 1024 * 1024, 0, 2);
  assert.equal(p[0x15]! | (p[0x16]! << 8), 640);
  assert.equal(p[0x17]! | (p[0x18]! << 8), 31 * 1024);
  assert.equal(p[0x30]! | (p[0x31]! << 8), 31 * 1024);
  assert.equal(p[0x34]! | (p[0x35]! << 8), (32 - 16) * 16);
  assert.equal(p[0x5f], 1);
  const big = cmosMemoryPresets(3 * 1024 ** 3, 2 * 1024 ** 3);
  assert.equal(big[0x17]! | (big[0x18]! << 8), 0xffff);
  assert.equal(big[0x5b]! | (big[0x5c]! << 8) | (big[0x5d]! << 16), 0x8000);
  const { cmos, setCmos } = setup(T0, { cmos: p });
  assert.equal(cmos(0x34), p[0x34]);
  setCmos(0x7f, 0x5a);
  assert.equal(cmos(0x7f), 0x5a);
  assert.throws(() => setup(T0, { cmos: { 0x80: 1 } }), RangeError);
});

test('reset clears the interrupt enables and flags but keeps time and RAM', () => {
  const { clock, timers, cmos, setCmos, rtc, irq } = setup();
  setCmos(0x0b, 0x72);
  setCmos(0x20, 0x11);
  clock.advance(1e9);
  timers.runDue();
  assert.equal(irq.level, true);
  rtc.reset();
  assert.equal(irq.level, false);
  assert.equal(cmos(0x0b), 0x02);
  assert.equal(cmos(0x20), 0x11);
  assert.equal(cmos(0x00), 0x59);
  assert.equal(timers.nextDeadline(), Infinity);
});

test('fuzz: no throws, reads fit, IRQ line equals IRQF', () => {
  const clock = new ManualClock();
  const timers = new TimerQueue(clock);
  let rtc: Rtc | null = null;
  let irq = new LevelLine();
  fuzzDevice(
    () => {
      irq = new LevelLine();
      rtc = createRtc({ extended: true }, { irq, timers, now: () => T0 });
      return rtc;
    },
    {
      after: () => {
        clock.advance(700_000_000);
        timers.runDue();
        const level = irq.level;
        rtc!.pio.write(0x70, 1, 0x0c);
        const c = rtc!.pio.read(0x71, 1);
        assert.equal((c & 0x80) !== 0, level, 'the line was high exactly when IRQF was set');
        assert.equal(irq.level, false, 'reading register C drops the line');
      },
    },
  );
});
