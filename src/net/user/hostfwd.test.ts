import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { silentSink } from '../../bus/log.js';
import { GuestStack, until } from '../testing/guest-stack.js';
import { GATEWAY_ADDR, GUEST_ADDR } from './addresses.js';
import { HostFwdError } from './hostfwd.js';
import { UserNetBackend } from './user-backend.js';

async function freePort(type: 'tcp' | 'udp'): Promise<number> {
  if (type === 'tcp') {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const p = (s.address() as net.AddressInfo).port;
    await new Promise((r) => s.close(r));
    return p;
  }
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const p = s.address().port;
  s.close();
  return p;
}

test('hostfwd tcp: a host client reaches the guest port; the NAT connects from 10.0.2.2; data flows both ways and closes cleanly', async () => {
  const hostPort = await freePort('tcp');
  const b = new UserNetBackend({ dns: null, log: silentSink, restrict: true, hostfwd: [{ proto: 'tcp', hostAddr: '127.0.0.1', hostPort, guestPort: 80 }] });
  await b.start();
  const g = new GuestStack(b);
  const accepted = g.listen(80, { wscale: 3, rcvCapacity: 256 * 1024 });
  try {
    // The guest must have spoken once so the NAT knows its MAC (as after DHCP).
    g.arpRequest(GATEWAY_ADDR);
    const client = net.connect(hostPort, '127.0.0.1');
    const reply: Buffer[] = [];
    client.on('data', (d) => reply.push(d));
    const closed = new Promise<void>((r) => client.on('end', r));
    client.write('request from the host');
    await until(() => accepted.length === 1 && accepted[0]!.established, 'the guest to accept');
    const conn = accepted[0]!;
    await until(() => conn.buffered === 'request from the host'.length, 'the request at the guest');
    assert.equal(Buffer.from(conn.read()).toString(), 'request from the host');
    const big = Buffer.alloc(1 << 20, 0x5a);
    conn.write(big);
    conn.end();
    await closed;
    assert.equal(Buffer.concat(reply).length, big.length);
    client.end();
    await until(() => conn.finReceived, 'the host FIN at the guest');
    const tcp = () => b.inspect().children!['tcp']!.children!['count']!.value;
    await until(() => tcp() === 0, 'the connection to go');
    assert.deepEqual(g.malformed, []);
  } finally {
    await b.close();
  }
});

test('hostfwd tcp: the guest refusing (RST, nothing listens) closes the host client', async () => {
  const hostPort = await freePort('tcp');
  const b = new UserNetBackend({ dns: null, log: silentSink, hostfwd: [{ proto: 'tcp', hostAddr: '127.0.0.1', hostPort, guestPort: 22 }] });
  await b.start();
  const g = new GuestStack(b);
  g.arpRequest(GATEWAY_ADDR);
  try {
    const client = net.connect(hostPort, '127.0.0.1');
    client.on('error', () => undefined);
    await new Promise<void>((r) => client.on('close', () => r()));
    const counters = b.inspect().children!['counters']!.children!;
    assert.equal(counters['tcp.guest-refused']?.value, 1);
    assert.equal(b.inspect().children!['tcp']!.children!['count']!.value, 0);
  } finally {
    await b.close();
  }
});

test('hostfwd udp: each host client gets its own NAT port on 10.0.2.2 and the guest replies reach it', async () => {
  const hostPort = await freePort('udp');
  const b = new UserNetBackend({ dns: null, log: silentSink, restrict: true, hostfwd: [{ proto: 'udp', hostAddr: '127.0.0.1', hostPort, guestPort: 5000 }] });
  await b.start();
  const g = new GuestStack(b);
  g.arpRequest(GATEWAY_ADDR);
  const clients = [dgram.createSocket('udp4'), dgram.createSocket('udp4')];
  try {
    const replies: string[][] = [[], []];
    clients.forEach((c, k) => c.on('message', (m) => replies[k]!.push(m.toString())));
    clients[0]!.send('one', hostPort, '127.0.0.1');
    clients[1]!.send('two', hostPort, '127.0.0.1');
    await until(() => g.udpIn.length === 2, 'both datagrams at the guest');
    const ports = new Set(g.udpIn.map((d) => d.srcPort));
    assert.equal(ports.size, 2);
    for (const d of g.udpIn) {
      assert.deepEqual([d.src, d.dst, d.dstPort], [GATEWAY_ADDR, GUEST_ADDR, 5000]);
      g.udp(GATEWAY_ADDR, d.srcPort, 5000, Buffer.from(`re:${Buffer.from(d.payload).toString()}`));
    }
    await until(() => replies[0]!.length === 1 && replies[1]!.length === 1, 'the replies');
    assert.deepEqual(replies, [['re:one'], ['re:two']]);
  } finally {
    clients.forEach((c) => c.close());
    await b.close();
  }
});

test('hostfwd: a port in use or an address not on this machine is one clear line from start()', async () => {
  const busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = (busy.address() as net.AddressInfo).port;
  try {
    const b = new UserNetBackend({ dns: null, hostfwd: [{ proto: 'tcp', hostAddr: '127.0.0.1', hostPort: port, guestPort: 80 }] });
    await assert.rejects(b.start(), (e: Error) => {
      assert.ok(e instanceof HostFwdError);
      assert.equal(e.message, `hostfwd tcp:127.0.0.1:${port}-:80: the host port is already in use`);
      return true;
    });
    await b.close();
    const c = new UserNetBackend({ dns: null, hostfwd: [{ proto: 'udp', hostAddr: '192.0.2.1', hostPort: 5000, guestPort: 53 }] });
    await assert.rejects(c.start(), /^HostFwdError: hostfwd udp:192\.0\.2\.1:5000-:53: the host address is not one of this machine$/);
    await c.close();
    assert.throws(() => new UserNetBackend({ dns: 'not-an-address' }), /DNS server "not-an-address" is not an address/);
  } finally {
    busy.close();
  }
});
