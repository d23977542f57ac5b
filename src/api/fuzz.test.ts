/**
 * Fuzzes the API's request parsing and validation: random methods, paths,
 * content types and bodies always get a well-formed answer (a JSON error
 * with a stable code and a one-line message for 4xx/5xx), the server never
 * crashes, and a refused request never changes the VM.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ERROR_CODES } from './errors.js';
import { startTestServer, type TestServer } from './test-server.js';

interface Raw {
  readonly status: number;
  readonly text: string;
  readonly contentType: string | undefined;
}

function send(path: string, method: string, target: string, body: Buffer | undefined, headers: Record<string, string>): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: path, method, path: target, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, text, contentType: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const segment = fc.oneof(
  fc.constantFrom('v1', 'vm', 'pause', 'resume', 'start', 'stop', 'inspect', 'snapshot', 'restore', 'events', 'disks', 'nets', 'openapi.json', '', '..', '%00', '%2F'),
  fc.string({ maxLength: 8 }).map((s) => encodeURIComponent(s)),
);
const target = fc.tuple(fc.array(segment, { maxLength: 5 }), fc.option(fc.string({ maxLength: 12 }))).map(
  ([segs, q]) => `/${segs.join('/')}${q === null ? '' : `?${encodeURIComponent(q).replace(/%3D/g, '=')}`}`,
);
const method = fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS', 'FOO');
const jsonBody = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.record({ memory: fc.oneof(fc.integer(), fc.string(), fc.constant(null)), cpus: fc.anything() }).map((v) => JSON.stringify(v)),
  fc.record({ path: fc.anything() }).map((v) => {
    try {
      return JSON.stringify(v);
    } catch {
      return '{}';
    }
  }),
  fc.string({ maxLength: 40 }),
);
// PUT /v1/vm/restore bodies: directories that hold no snapshot, odd types, extra keys.
const restoreBody = fc.oneof(
  fc
    .record(
      {
        dir: fc.oneof(fc.constantFrom('/', '/tmp', '/nonexistent/snap', '/dev/null', '/proc/self', 'relative/snap', '', '/a\u0000b'), fc.string({ maxLength: 12 }), fc.anything()),
        resume: fc.oneof(fc.boolean(), fc.anything()),
        extra: fc.anything(),
      },
      { requiredKeys: [] },
    )
    .map((v) => {
      try {
        return JSON.stringify(v);
      } catch {
        return '{}';
      }
    }),
  jsonBody,
);
const contentType = fc.constantFrom(undefined, 'application/json', 'text/plain', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded');

function checkAnswer(r: Raw): void {
  assert.ok(r.status >= 200 && r.status < 600, `status ${r.status}`);
  if (r.contentType?.startsWith('text/event-stream')) return;
  assert.match(String(r.contentType), /^application\/json/);
  const body = JSON.parse(r.text) as { error?: { code: string; message: string } };
  if (r.status >= 400) {
    assert.ok(body.error, r.text);
    const known = ERROR_CODES[body.error.code as keyof typeof ERROR_CODES];
    assert.ok(known, `unknown code ${body.error.code}`);
    assert.equal(known.status, r.status);
    assert.ok(r.status < 500, `a client mistake answered ${r.status}: ${r.text}`);
    assert.ok(!body.error.message.includes('\n'));
  }
}

describe('API request fuzzing', () => {
  for (const mode of ['run', 'serve'] as const) {
    describe(`${mode} mode`, () => {
      let t: TestServer;
      before(async () => {
        t = await startTestServer(mode);
      });
      after(() => t.close());

      // First, so that in serve mode the VMM has no VM yet and each body reaches the snapshot check.
      it('answers every PUT /v1/vm/restore without a snapshot with a 4xx that changes nothing', async () => {
        await fc.assert(
          fc.asyncProperty(restoreBody, contentType, async (body, type) => {
            const before = t.controller.vm === null ? -1 : t.vm().calls.length;
            const headers: Record<string, string> = type === undefined ? {} : { 'content-type': type };
            headers['content-length'] = String(Buffer.byteLength(body));
            const r = await send(t.path, 'PUT', '/v1/vm/restore', Buffer.from(body), headers);
            checkAnswer(r);
            assert.ok(r.status >= 400, `restored from ${body}?`);
            assert.equal(t.controller.vm === null ? -1 : t.vm().calls.length, before);
          }),
          { numRuns: 200 },
        );
      });

      it('answers every request with well-formed JSON; refused requests leave the VM alone', async () => {
        await fc.assert(
          fc.asyncProperty(method, target, fc.option(jsonBody), contentType, async (m, path, body, type) => {
            // GET /v1/events streams forever while the VM runs; it has its own tests.
            if (path.split('?')[0]!.replace(/\/+$/, '') === '/v1/events' && m === 'GET') return;
            // A stop would end the run-mode VM for every later case: keep the fuzz to the other verbs.
            if (/^\/v1\/vm\/stop\/?(\?|$)/.test(path) && m === 'POST') return;
            const before = t.controller.vm === null ? -1 : (t.vm().calls.length);
            const headers: Record<string, string> = type === undefined ? {} : { 'content-type': type };
            // Node frames GET/DELETE bodies only when told the length.
            if (body !== null) headers['content-length'] = String(Buffer.byteLength(body));
            const r = await send(t.path, m, path, body === null ? undefined : Buffer.from(body), headers);
            checkAnswer(r);
            if (r.status >= 400) {
              const after = t.controller.vm === null ? -1 : t.vm().calls.length;
              assert.equal(after, before, `${m} ${path} answered ${r.status} but changed the VM`);
            }
          }),
          { numRuns: 400 },
        );
        // Still serving, and the VM is in a sane state.
        const d = await t.client.request('GET', '/v1/vm');
        assert.equal(d.status, 200);
      });

      it('answers malformed HTTP with a JSON 400 and keeps serving', async () => {
        const { createConnection } = await import('node:net');
        for (const junk of ['GARBAGE\r\n\r\n', 'GET /v1/vm HTTP/9.9\r\n\r\n', `GET /v1/vm HTTP/1.1\r\nX: ${'a'.repeat(20000)}\r\n${'b'.repeat(80000)}\r\n\r\n`]) {
          const text = await new Promise<string>((resolve) => {
            const c = createConnection(t.path);
            let out = '';
            c.on('data', (d: Buffer) => (out += d.toString()));
            c.on('close', () => resolve(out));
            c.on('error', () => resolve(out));
            c.end(junk);
          });
          assert.match(text, /^HTTP\/1\.1 4\d\d /, JSON.stringify(text.slice(0, 80)));
          const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
          assert.ok(['bad-request', 'headers-too-large'].includes(body.error.code));
        }
        assert.equal((await t.client.request('GET', '/v1/vm')).status, 200);
      });
    });
  }
});
