import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { silentSink } from '../../bus/log.js';
import { GuestStack, until } from '../testing/guest-stack.js';
import type { GuestTcp } from '../testing/guest-tcp.js';
import { GATEWAY_ADDR } from './addresses.js';
import { UserNetBackend, type UserNetOptions } from './user-backend.js';

function counter(b: UserNetBackend, name: string): number {
  return (b.inspect().children!['counters']!.children![name]?.value as number | undefined) ?? 0;
}

function connCount(b: UserNetBackend): number {
  return b.inspect().children!['tcp']!.children!['count']!.value as number;
}

async function withNet(opts: UserNetOptions, body: (b: UserNetBackend, g: GuestStack) => Promise<void>): Promise<void> {
  const b = new UserNetBackend({ dns: null, log: silentSink, ...opts, tcp: { timeWaitMs: 100, ...opts.tcp } });
  await b.start();
  const g = new GuestStack(b);
  try {
    await body(b, g);
    assert.deepEqual(g.malformed, []);
    assert.equal(counter(b, 'internal-errors'), 0);
  } finally {
    await b.close();
  }
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

// Deterministic bytes, so the far end can check order and content.
function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function readAll(c: GuestTcp, ms = 20000): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  await until(() => {
    parts.push(c.read());
    return c.finReceived || c.reset;
  }, 'the end of the stream', ms);
  parts.push(c.read());
  return Buffer.concat(parts);
}

test('TCP: the guest fetches a page from an HTTP server on the host loopback through 10.0.2.2 (hostLoopback)', async () => {
  const body = pattern(200_000);
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  });
  const port = await listen(server);
  try {
    await withNet({ hostLoopback: true }, async (b, g) => {
      const c = g.connect(GATEWAY_ADDR, port, { wscale: 7, rcvCapacity: 1 << 20 });
      await until(() => c.established, 'the handshake');
      c.write(Buffer.from('GET / HTTP/1.0\r\nHost: x\r\n\r\n'));
      const reply = await readAll(c);
      const split = reply.indexOf('\r\n\r\n');
      assert.match(reply.subarray(0, split).toString(), /^HTTP\/1\.[01] 200 OK/);
      assert.equal(sha(reply.subarray(split + 4)), sha(body));
      c.end();
      await until(() => connCount(b) === 0, 'the connection to close');
      assert.equal(c.beyondWindow, 0);
    });
  } finally {
    server.close();
  }
});

test('TCP: without hostLoopback 10.0.2.2 refuses (RST); 127/8 is never reachable; a closed host port is a RST', async () => {
  const server = net.createServer((s) => s.end());
  const port = await listen(server);
  try {
    await withNet({}, async (b, g) => {
      const c = g.connect(GATEWAY_ADDR, port);
      const d = g.connect(0x7f000001, port);
      await until(() => c.reset && d.reset, 'the resets');
      assert.equal(counter(b, 'drop.tcp-no-host-loopback'), 1);
      assert.equal(counter(b, 'drop.tcp-bad-destination'), 1);
      assert.equal(connCount(b), 0);
    });
    await withNet({ hostLoopback: true }, async (b, g) => {
      const closed = net.createServer();
      const deadPort = await listen(closed);
      await new Promise((r) => closed.close(r));
      const c = g.connect(GATEWAY_ADDR, deadPort);
      await until(() => c.reset, 'the reset');
      assert.equal(counter(b, 'tcp.connect-failed.ECONNREFUSED'), 1);
      assert.equal(connCount(b), 0);
    });
  } finally {
    server.close();
  }
});

test('TCP: restrict refuses every outbound connection', async () => {
  const server = net.createServer((s) => s.end());
  const port = await listen(server);
  let accepted = 0;
  server.on('connection', () => accepted++);
  try {
    await withNet({ restrict: true, hostLoopback: true }, async (b, g) => {
      const c = g.connect(GATEWAY_ADDR, port);
      const d = g.connect(0x08080808, 443);
      await until(() => c.reset && d.reset, 'the resets');
      assert.equal(counter(b, 'drop.tcp-restricted'), 2);
      assert.equal(accepted, 0);
    });
  } finally {
    server.close();
  }
});

test('TCP: 4 MB host-to-guest into a 4 KiB guest window: nothing lost, the window is never overrun, the NAT buffer stays bounded', async () => {
  const data = pattern(4 << 20, 7);
  const server = net.createServer((s) => s.end(data));
  const port = await listen(server);
  const sendBuffer = 64 * 1024;
  try {
    await withNet({ hostLoopback: true, tcp: { sendBuffer } }, async (b, g) => {
      const c = g.connect(GATEWAY_ADDR, port, { rcvCapacity: 4096 });
      let maxBuffered = 0;
      const parts: Uint8Array[] = [];
      await until(() => {
        const conns = b.inspect().children!['tcp']!.children!['connections']!.children!;
        for (const n of Object.values(conns)) maxBuffered = Math.max(maxBuffered, n.children!['buffered']!.value as number);
        parts.push(c.read(4096)); // a slow reader: at most a window per poll
        return c.finReceived && c.buffered === 0;
      }, 'the whole stream', 60000);
      assert.equal(sha(Buffer.concat(parts)), sha(data));
      assert.equal(c.beyondWindow, 0, 'the NAT never sends beyond the guest window');
      // Paused at sendBuffer; one more socket read (up to 64 KiB) may land after the pause.
      assert.ok(maxBuffered <= sendBuffer + 65536, `buffered ${maxBuffered}`);
      c.end();
      await until(() => connCount(b) === 0, 'the close');
    });
  } finally {
    server.close();
  }
});

test('TCP: 8 MB guest-to-host into a slow host reader: the NAT window holds the guest back, nothing lost', async () => {
  const data = pattern(8 << 20, 9);
  let got: Buffer[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const server = net.createServer((s) => {
    // Read in bursts with pauses, so the NAT's writes back up.
    s.on('data', (d) => {
      got.push(d);
      s.pause();
      setTimeout(() => s.resume(), 2);
    });
    s.on('end', () => {
      s.end('ok');
      done();
    });
  });
  const port = await listen(server);
  const recvBuffer = 64 * 1024;
  try {
    await withNet({ hostLoopback: true, tcp: { recvBuffer } }, async (b, g) => {
      const c = g.connect(GATEWAY_ADDR, port, { wscale: 2 });
      await until(() => c.established, 'the handshake');
      c.write(data);
      c.end();
      await finished;
      assert.equal(sha(Buffer.concat(got)), sha(data));
      assert.equal(counter(b, 'tcp.beyond-window'), 0);
      const reply = await readAll(c);
      assert.equal(reply.toString(), 'ok');
      await until(() => connCount(b) === 0, 'the close');
    });
  } finally {
    got = [];
    server.close();
  }
});

test('TCP: half-close both ways: the guest ends first and still receives; the host ends first and still receives', async () => {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    s.on('end', () => {
      // The guest has sent FIN; answer afterwards.
      setTimeout(() => s.end(`got ${Buffer.concat(got).toString()}`), 20);
    });
  });
  const server2 = net.createServer({ allowHalfOpen: true }, (s) => {
    s.write('first');
    s.end(); // host FIN first; the guest still sends
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    s.on('end', () => (server2 as net.Server & { got?: string }).got = Buffer.concat(got).toString());
  });
  const port = await listen(server);
  const port2 = await listen(server2);
  try {
    await withNet({ hostLoopback: true }, async (b, g) => {
      const c = g.connect(GATEWAY_ADDR, port);
      await until(() => c.established, 'handshake');
      c.write(Buffer.from('hello'));
      c.end();
      assert.equal((await readAll(c)).toString(), 'got hello');
      await until(() => connCount(b) === 0, 'close');

      const d = g.connect(GATEWAY_ADDR, port2);
      const first = await readAll(d);
      assert.equal(first.toString(), 'first');
      assert.ok(d.finReceived && !d.reset);
      d.write(Buffer.from('after your FIN'));
      d.end();
      await until(() => (server2 as net.Server & { got?: string }).got !== undefined, 'the host to read');
      assert.equal((server2 as net.Server & { got?: string }).got, 'after your FIN');
      // The NAT closed first, so it lingers in TIME-WAIT briefly.
      await until(() => connCount(b) === 0, 'close', 5000);
    });
  } finally {
    server.close();
    server2.close();
  }
});

test('TCP: a guest RST resets the host socket; a host reset reaches the guest as a RST', async () => {
  let hostErr = '';
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', (e: NodeJS.ErrnoException) => (hostErr = e.code ?? ''));
  });
  const port = await listen(server);
  try {
    await withNet({ hostLoopback: true }, async (b, g) => {
      const c = g.connect(GATEWAY_ADDR, port);
      await until(() => c.established && sockets.length === 1, 'handshake');
      c.abort();
      await until(() => hostErr === 'ECONNRESET', 'the host to see the reset');
      assert.equal(connCount(b), 0);

      const d = g.connect(GATEWAY_ADDR, port);
      await until(() => d.established && sockets.length === 2, 'handshake');
      sockets[1]!.resetAndDestroy();
      await until(() => d.reset, 'the guest to see the reset');
      await until(() => connCount(b) === 0, 'forget');
    });
  } finally {
    server.close();
  }
});

test('TCP: frames the guest queue drops are retransmitted (fast retransmit and timeout) until all data arrives', async () => {
  const data = pattern(2 << 20, 3);
  const server = net.createServer((s) => s.end(data));
  const port = await listen(server);
  try {
    await withNet({ hostLoopback: true }, async (b, g) => {
      let n = 0;
      // Drop every 50th frame the NAT delivers, and the last ones of a burst now and then.
      g.dropIf = (f) => f.length > 100 && ++n % 50 === 0;
      const c = g.connect(GATEWAY_ADDR, port, { wscale: 4, rcvCapacity: 512 * 1024 });
      const got = await readAll(c, 60000);
      assert.equal(sha(got), sha(data));
      const re = counter(b, 'tcp.fast-retransmits') + counter(b, 'tcp.rto-retransmits');
      assert.ok(re > 0, 'something was retransmitted');
      g.dropIf = null;
      c.end();
      await until(() => connCount(b) === 0, 'close');
    });
  } finally {
    server.close();
  }
});

test('TCP: a NIC that refuses frames (no room) holds the stream, which resumes losslessly', async () => {
  const data = pattern(1 << 20, 5);
  const server = net.createServer((s) => s.end(data));
  const port = await listen(server);
  try {
    await withNet({ hostLoopback: true, egress: { highWater: 16, maxFrames: 64 } }, async (b, g) => {
      const c = g.connect(GATEWAY_ADDR, port, { wscale: 4, rcvCapacity: 1 << 20 });
      await until(() => c.established, 'handshake');
      const parts: Uint8Array[] = [];
      let flips = 0;
      await until(() => {
        parts.push(c.read());
        // Toggle the NIC full and empty.
        g.setFull(++flips % 3 === 0);
        return c.finReceived;
      }, 'the stream', 30000);
      g.setFull(false);
      parts.push(c.read());
      assert.equal(sha(Buffer.concat(parts)), sha(data));
      assert.equal(counter(b, 'drop.rx-queue-full'), 0, 'TCP waits for room rather than overflowing the queue');
      c.end();
      await until(() => connCount(b) === 0, 'close');
    });
  } finally {
    server.close();
  }
});

test('TCP: past the connection cap a SYN is reset', async () => {
  const server = net.createServer(() => {});
  const port = await listen(server);
  try {
    await withNet({ hostLoopback: true, tcpLimits: { maxConnections: 2 } }, async (b, g) => {
      const a = g.connect(GATEWAY_ADDR, port);
      const c = g.connect(GATEWAY_ADDR, port);
      const d = g.connect(GATEWAY_ADDR, port);
      await until(() => a.established && c.established && d.reset, 'two accepted, one reset');
      assert.equal(counter(b, 'drop.tcp-connection-limit'), 1);
    });
  } finally {
    server.close();
  }
});
