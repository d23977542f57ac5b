import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SseParser, type SseEvent } from './client.js';
import { formatSse } from './sse.js';
import { startTestServer } from './test-server.js';

describe('Server-Sent Events', () => {
  it('frames one event as event/id/data lines and a blank line', () => {
    assert.equal(
      formatSse({ type: 'state', state: 'paused' } as { type: string }, 3),
      'event: state\nid: 3\ndata: {"type":"state","state":"paused"}\n\n',
    );
    // A newline inside a value stays escaped inside the one data line.
    assert.equal(formatSse({ type: 'exit', reason: 'a\nb' } as { type: string }, 1).split('\n').length, 5);
  });

  it('parses what it frames, however the stream is cut into chunks', () => {
    const event = fc.oneof(
      fc.record({ type: fc.constant('state'), state: fc.constantFrom('running', 'paused', 'stopped') }, { noNullPrototype: true }),
      fc.record({ type: fc.constant('exit'), code: fc.integer(), reason: fc.string() }, { noNullPrototype: true }),
      fc.record({ type: fc.constant('reboot'), boot: fc.nat(), reason: fc.string() }, { noNullPrototype: true }),
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (events, cuts) => {
        const text = ': hello\n\n' + events.map((e, i) => formatSse(e, i + 1)).join(': keep-alive\n\n');
        const parser = new SseParser();
        const got: SseEvent[] = [];
        let at = 0;
        for (const c of [...cuts.map((n) => n % (text.length + 1))].sort((a, b) => a - b)) {
          got.push(...parser.push(text.slice(at, Math.max(at, c))));
          at = Math.max(at, c);
        }
        got.push(...parser.push(text.slice(at)));
        assert.deepEqual(
          got.map((g) => g.data),
          events,
        );
        assert.deepEqual(
          got.map((g) => g.event),
          events.map((e) => e.type),
        );
      }),
    );
  });

  it('streams the current state first, then changes, and ends after the exit', async () => {
    const t = await startTestServer('run');
    try {
      const seen: SseEvent[] = [];
      const done = (async () => {
        for await (const e of t.client.events()) {
          seen.push(e);
          if (seen.length === 1) {
            await t.client.request('POST', '/v1/vm/pause');
            await t.client.request('POST', '/v1/vm/resume');
            await t.client.request('POST', '/v1/vm/reset');
            await t.client.request('POST', '/v1/vm/stop');
          }
        }
      })();
      await done; // the loop ends because the server ends the stream
      assert.deepEqual(
        seen.map((e) => e.data),
        [
          { type: 'state', state: 'running' },
          { type: 'state', state: 'paused' },
          { type: 'state', state: 'running' },
          { type: 'reboot', boot: 2, reason: 'the guest rebooted (host)' },
          { type: 'state', state: 'stopped' },
          { type: 'exit', code: 0, reason: 'stopped through the API' },
        ],
      );
      assert.deepEqual(
        seen.map((e) => e.id),
        ['1', '2', '3', '4', '5', '6'],
      );
      // A late subscriber to a stopped VM gets the state and the exit, then the end.
      const late: unknown[] = [];
      for await (const e of t.client.events()) late.push(e.data);
      assert.deepEqual(late, [
        { type: 'state', state: 'stopped' },
        { type: 'exit', code: 0, reason: 'stopped through the API' },
      ]);
    } finally {
      await t.close();
    }
  });

  it('in serve mode waits for the configuration', async () => {
    const t = await startTestServer('serve');
    try {
      const it = t.client.events()[Symbol.asyncIterator]();
      const first = it.next();
      await new Promise((r) => setTimeout(r, 50));
      await t.client.request('PUT', '/v1/vm', { accel: 'emu' });
      assert.deepEqual((await first).value?.data, { type: 'state', state: 'created' });
      await t.client.request('POST', '/v1/vm/start');
      assert.deepEqual((await it.next()).value?.data, { type: 'state', state: 'running' });
      await it.return?.(undefined);
    } finally {
      await t.close();
    }
  });
});
