import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { ManualClock, TimerQueue } from '../../bus/clock.js';
import type { ApicRouter } from '../apic-bus/message.js';
import { createLapic, type Lapic } from './lapic.js';
import { dcrDivisor, nsForTsc, tscAt } from './timer.js';

const router: ApicRouter = { deliver() {}, broadcastEoi() {} };

/** A running, software-enabled BSP LAPIC on a manual clock. */
function setup(opts: { tscHz?: number; busHz?: number; start?: number } = {}) {
  const clock = new ManualClock(opts.start ?? 0);
  const timers = new TimerQueue(clock);
  const lapic = createLapic(
    { index: 0, tscHz: opts.tscHz ?? 1e9, ...(opts.busHz === undefined ? {} : { busHz: opts.busHz }) },
    { timers, router },
  );
  lapic.writeRegister(0xf0, 0x1ff);
  /** Moves time to `t` ns and fires due timers. */
  const at = (t: number) => {
    clock.set(t);
    timers.runDue();
  };
  return { clock, timers, lapic, at };
}

/** Takes and EOIs the pending interrupt; returns its vector or -1. */
function take(l: Lapic): number {
  const v = l.peekInterrupt();
  if (v >= 0) {
    l.acknowledgeInterrupt(v);
    l.writeRegister(0xb0, 0);
  }
  return v;
}

test('DCR values select divisors 2, 4, ..., 128 and 1 (SDM figure 11-10)', () => {
  const table: [number, number][] = [
    [0x0, 2],
    [0x1, 4],
    [0x2, 8],
    [0x3, 16],
    [0x8, 32],
    [0x9, 64],
    [0xa, 128],
    [0xb, 1],
  ];
  for (const [dcr, div] of table) assert.equal(dcrDivisor(dcr), div, `DCR ${dcr}`);
});

test('one-shot: counts down from the initial count and fires once at the end', () => {
  const { lapic, at, timers } = setup();
  lapic.writeRegister(0x3e0, 0xb); // divide by 1: one tick per ns at 1 GHz
  lapic.writeRegister(0x320, 0x40);
  lapic.writeRegister(0x380, 1000);
  assert.equal(lapic.readRegister(0x390), 1000);
  at(250);
  assert.equal(lapic.readRegister(0x390), 750);
  at(999);
  assert.equal(lapic.readRegister(0x390), 1);
  assert.equal(lapic.peekInterrupt(), -1);
  at(1000);
  assert.equal(lapic.readRegister(0x390), 0);
  assert.equal(take(lapic), 0x40);
  assert.equal(timers.nextDeadline(), Infinity, 'a one-shot timer is not re-armed');
  at(5000);
  assert.equal(lapic.peekInterrupt(), -1);
  assert.equal(lapic.readRegister(0x380), 1000, 'the initial count reads back');
});

test('the divide configuration scales the tick: divide by 16 and the reset value (by 2)', () => {
  const { lapic, at } = setup();
  lapic.writeRegister(0x3e0, 0x3);
  lapic.writeRegister(0x320, 0x41);
  lapic.writeRegister(0x380, 100);
  at(800);
  assert.equal(lapic.readRegister(0x390), 50);
  at(1599);
  assert.equal(lapic.peekInterrupt(), -1);
  at(1600);
  assert.equal(take(lapic), 0x41);
  lapic.writeRegister(0x3e0, 0x0);
  lapic.writeRegister(0x380, 100);
  at(1600 + 199);
  assert.equal(lapic.readRegister(0x390), 1);
  at(1600 + 200);
  assert.equal(take(lapic), 0x41);
});

test('a DCR change mid-count continues from the current count at the new rate', () => {
  const { lapic, at } = setup();
  lapic.writeRegister(0x3e0, 0xb);
  lapic.writeRegister(0x320, 0x42);
  lapic.writeRegister(0x380, 1000);
  at(400);
  lapic.writeRegister(0x3e0, 0x0); // divide by 2
  assert.equal(lapic.readRegister(0x390), 600);
  at(1000);
  assert.equal(lapic.readRegister(0x390), 300);
  at(1599);
  assert.equal(lapic.peekInterrupt(), -1);
  at(1600);
  assert.equal(take(lapic), 0x42);
});

test('the bus clock is configurable: 100 MHz makes a tick 10 ns at divide by 1', () => {
  const { lapic, at } = setup({ busHz: 100e6 });
  lapic.writeRegister(0x3e0, 0xb);
  lapic.writeRegister(0x320, 0x43);
  lapic.writeRegister(0x380, 10);
  at(55);
  assert.equal(lapic.readRegister(0x390), 5);
  at(100);
  assert.equal(take(lapic), 0x43);
});

test('periodic: fires every period and reloads; the count wraps back to the initial count', () => {
  const { lapic, at, timers } = setup();
  lapic.writeRegister(0x3e0, 0xb);
  lapic.writeRegister(0x320, 0x20050); // periodic, vector 0x50
  lapic.writeRegister(0x380, 500);
  const fired: number[] = [];
  for (let t = 100; t <= 1600; t += 100) {
    at(t);
    if (take(lapic) === 0x50) fired.push(t);
  }
  assert.deepEqual(fired, [500, 1000, 1500]);
  at(1700);
  assert.equal(lapic.readRegister(0x390), 300);
  assert.equal(timers.nextDeadline(), 2000);
  // A long stall coalesces missed periods into one interrupt.
  at(10_250);
  assert.equal(take(lapic), 0x50);
  assert.equal(lapic.peekInterrupt(), -1);
  assert.equal(timers.nextDeadline(), 10_500);
  // Writing 0 stops it.
  lapic.writeRegister(0x380, 0);
  assert.equal(timers.nextDeadline(), Infinity);
  assert.equal(lapic.readRegister(0x390), 0);
});

test('a masked timer counts but does not interrupt', () => {
  const { lapic, at } = setup();
  lapic.writeRegister(0x3e0, 0xb);
  lapic.writeRegister(0x320, 0x30051);
  lapic.writeRegister(0x380, 100);
  at(100);
  assert.equal(lapic.peekInterrupt(), -1);
  assert.equal(lapic.timer.fired, 1);
  lapic.writeRegister(0x320, 0x20051);
  at(200);
  assert.equal(take(lapic), 0x51);
});

test('TSC-deadline: fires when the TSC reaches the deadline, then reads 0', () => {
  const { lapic, at, timers } = setup({ tscHz: 2e9 });
  lapic.writeRegister(0x320, 0x40060); // TSC-deadline, vector 0x60
  lapic.writeRegister(0x380, 1234);
  assert.equal(lapic.readRegister(0x380), 0, 'initial count writes are ignored');
  assert.equal(lapic.readRegister(0x390), 0);
  lapic.writeMsr(0x6e0, 10_000); // 2 TSC ticks per ns: 5000 ns
  assert.equal(lapic.readMsr(0x6e0), 10_000);
  assert.equal(timers.nextDeadline(), 5000);
  at(4999);
  assert.equal(lapic.peekInterrupt(), -1);
  at(5000);
  assert.equal(take(lapic), 0x60);
  assert.equal(lapic.readMsr(0x6e0), 0);
  // A deadline already passed fires at once.
  lapic.writeMsr(0x6e0, 3);
  assert.equal(take(lapic), 0x60);
  // Writing 0 disarms.
  lapic.writeMsr(0x6e0, 20_000);
  lapic.writeMsr(0x6e0, 0);
  at(20_000);
  assert.equal(lapic.peekInterrupt(), -1);
});

test('leaving TSC-deadline mode disarms and clears the deadline; writes outside it are ignored', () => {
  const { lapic, at } = setup({ tscHz: 3e9 });
  lapic.writeRegister(0x320, 0x40061);
  lapic.writeMsr(0x6e0, 30_000);
  lapic.writeRegister(0x320, 0x00061); // one-shot
  assert.equal(lapic.readMsr(0x6e0), 0);
  at(20_000);
  assert.equal(lapic.peekInterrupt(), -1);
  lapic.writeMsr(0x6e0, 90_000);
  lapic.writeRegister(0x320, 0x40061);
  assert.equal(lapic.readMsr(0x6e0), 0, 'the write in one-shot mode was ignored');
});

test('TSC = floor(nowNs * tscHz / 1e9), and nsForTsc is its exact inverse', () => {
  assert.equal(tscAt(0, 2.5e9), 0);
  assert.equal(tscAt(1, 2.5e9), 2);
  assert.equal(tscAt(3, 2.5e9), 7);
  assert.equal(tscAt(86_400e9 + 1, 2.5e9), 216_000_000_000_002);
  assert.equal(tscAt(1e9, 1_000_000_007), 1_000_000_007);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2 ** 48 }),
      fc.constantFrom(1e9, 2.5e9, 3_000_000_007, 1_999_999_999, 100e6),
      (tsc, hz) => {
        const ns = nsForTsc(tsc, hz);
        return tscAt(ns, hz) >= tsc && (ns === 0 || tscAt(ns - 1, hz) < tsc);
      },
    ),
  );
  // Deadlines from the guest can be anything: far ones must not hang.
  for (const tsc of [2 ** 53, 2 ** 63, 1.8e19, Number.MAX_VALUE]) assert.ok(nsForTsc(tsc, 100e6) > 2 ** 53);
});

test('TSC-deadline with an odd TSC frequency fires at the first ns the TSC reaches the deadline', () => {
  const { lapic, at } = setup({ tscHz: 2_999_999_999, start: 7_000_000_123 });
  lapic.writeRegister(0x320, 0x40062);
  const deadline = tscAt(7_000_000_123, 2_999_999_999) + 1_000_000;
  lapic.writeMsr(0x6e0, deadline);
  const due = nsForTsc(deadline, 2_999_999_999);
  at(due - 1);
  assert.equal(lapic.peekInterrupt(), -1);
  at(due);
  assert.equal(take(lapic), 0x62);
});
