import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestOrder } from './request-order.js';

/** A request that finishes when the test says so, recording when it started. */
function gate(log: string[], name: string) {
  let open!: () => void;
  const done = new Promise<void>((r) => (open = r));
  const fn = async () => {
    log.push(`start ${name}`);
    await done;
  };
  return { fn, open };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('RequestOrder', () => {
  it('runs disjoint requests and overlapping reads at once', async () => {
    const order = new RequestOrder();
    const log: string[] = [];
    const a = gate(log, 'a');
    const b = gate(log, 'b');
    const c = gate(log, 'c');
    const all = [order.run(0, 10, true, a.fn), order.run(10, 10, true, b.fn), order.run(100, 10, false, c.fn), order.run(100, 10, false, async () => void log.push('start d'))];
    await tick();
    assert.deepEqual(log.sort(), ['start a', 'start b', 'start c', 'start d']);
    a.open();
    b.open();
    c.open();
    await Promise.all(all);
    assert.equal(order.pending, 0);
  });

  it('makes a request wait for every earlier one it overlaps, in issue order', async () => {
    const order = new RequestOrder();
    const log: string[] = [];
    const w1 = gate(log, 'w1');
    const p1 = order.run(0, 100, true, w1.fn);
    const p2 = order.run(50, 10, false, async () => void log.push('start r2'));
    const p3 = order.run(55, 1, true, async () => void log.push('start w3'));
    const p4 = order.run(200, 1, true, async () => void log.push('start w4'));
    await tick();
    assert.deepEqual(log, ['start w1', 'start w4']);
    w1.open();
    await Promise.all([p1, p2, p3, p4]);
    assert.deepEqual(log, ['start w1', 'start w4', 'start r2', 'start w3']);
  });

  it('widens ranges to its granularity', async () => {
    const order = new RequestOrder(4096);
    const log: string[] = [];
    const w = gate(log, 'w');
    const p1 = order.run(0, 1, true, w.fn);
    const p2 = order.run(4000, 1, false, async () => void log.push('start r'));
    const p3 = order.run(4096, 1, false, async () => void log.push('start r2'));
    await tick();
    assert.deepEqual(log, ['start w', 'start r2']);
    w.open();
    await Promise.all([p1, p2, p3]);
  });

  it('lets a failed request release the ones after it, and reports its error', async () => {
    const order = new RequestOrder();
    const p1 = order.run(0, 10, true, async () => {
      throw new Error('boom');
    });
    const p2 = order.run(0, 10, true, async () => 'second');
    await assert.rejects(p1, /boom/);
    assert.equal(await p2, 'second');
  });

  it('writesSettled waits for earlier writes only; idle for everything', async () => {
    const order = new RequestOrder();
    const log: string[] = [];
    const w = gate(log, 'w');
    const r = gate(log, 'r');
    const pw = order.run(0, 10, true, w.fn);
    const pr = order.run(50, 10, false, r.fn);
    let flushed = false;
    const f = order.writesSettled().then(() => (flushed = true));
    await tick();
    assert.equal(flushed, false);
    w.open();
    await f;
    let idle = false;
    const i = order.idle().then(() => (idle = true));
    await tick();
    assert.equal(idle, false);
    r.open();
    await Promise.all([pw, pr, i]);
  });
});
