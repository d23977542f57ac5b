import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteQueue } from './byte-queue.js';

test('byte queue: slices and consumes agree with a flat array model', () => {
  const op = fc.oneof(
    fc.record({ push: fc.uint8Array({ minLength: 0, maxLength: 40 }) }),
    fc.record({ consume: fc.nat(60) }),
    fc.record({ slice: fc.tuple(fc.nat(80), fc.nat(80)) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const q = new ByteQueue();
      let model: number[] = [];
      for (const o of ops) {
        if ('push' in o) {
          q.push(o.push.slice());
          model.push(...o.push);
        } else if ('consume' in o) {
          q.consume(o.consume);
          model = model.slice(Math.min(o.consume, model.length));
        } else {
          const [off, len] = o.slice;
          if (off + len <= model.length) assert.deepEqual([...q.slice(off, len)], model.slice(off, off + len));
          else assert.throws(() => q.slice(off, len), RangeError);
        }
        assert.equal(q.length, model.length);
      }
    }),
  );
});

test('byte queue: an empty slice of an empty queue (found by the property above)', () => {
  assert.equal(new ByteQueue().slice(0, 0).length, 0);
});
