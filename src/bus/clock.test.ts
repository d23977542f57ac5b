import assert from 'node:assert/strict';
import test from 'node:test';
import { HostClock, ManualClock, Timer, TimerQueue } from './clock.js';

test('timers fire once their deadline has passed, in any order of arming', () => {
  const clock = new ManualClock();
  const q = new TimerQueue(clock);
  const fired: string[] = [];
  const a = new Timer('a', () => fired.push('a'));
  const b = new Timer('b', () => fired.push('b'));
  q.arm(a, 300);
  q.arm(b, 100);
  assert.equal(q.nextDeadline(), 100);
  assert.equal(q.runDue(), 0);
  clock.set(150);
  assert.equal(q.runDue(), 1);
  assert.deepEqual(fired, ['b']);
  assert.equal(q.nextDeadline(), 300);
  assert.equal(b.armed, false);
  clock.set(1000);
  q.runDue();
  assert.deepEqual(fired, ['b', 'a']);
  assert.equal(q.nextDeadline(), Infinity);
});

test('a periodic timer re-arms itself from its callback', () => {
  const clock = new ManualClock();
  const q = new TimerQueue(clock);
  let ticks = 0;
  const t: Timer = new Timer('pit', (now) => {
    ticks++;
    q.arm(t, now + 10);
  });
  q.arm(t, 10);
  for (let now = 0; now <= 100; now += 10) {
    clock.set(now);
    q.runDue();
  }
  assert.equal(ticks, 10);
  assert.equal(q.nextDeadline(), 110);
});

test('disarm removes a pending deadline; onEarlier reports earlier deadlines', () => {
  const q = new TimerQueue(new ManualClock());
  const seen: number[] = [];
  q.onEarlier = (d) => seen.push(d);
  const t = new Timer('x', () => assert.fail('disarmed timer fired'));
  q.arm(t, 50);
  q.arm(new Timer('y', () => {}), 80);
  q.arm(new Timer('z', () => {}), 20);
  q.disarm(t);
  assert.deepEqual(seen, [50, 20]);
  q.runDue(60);
  assert.equal(q.nextDeadline(), 80);
});

test('the host clock is monotonic and starts near zero', () => {
  const c = new HostClock();
  const a = c.nowNs();
  const b = c.nowNs();
  assert.ok(a >= 0 && a < 1e9);
  assert.ok(b >= a);
  c.advance(5e9);
  assert.ok(c.nowNs() >= b + 5e9);
});

test('moving the earliest timer later updates nextDeadline', () => {
  const q = new TimerQueue(new ManualClock());
  const a = new Timer('a', () => {});
  q.arm(a, 10);
  q.arm(new Timer('b', () => {}), 50);
  q.arm(a, 100);
  assert.equal(q.nextDeadline(), 50);
});
