import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fc from 'fast-check';
import { silentSink } from '../../bus/log.js';
import type { InspectNode } from '../../bus/device.js';
import { ARP_REPLY } from '../proto/arp.js';
import { DhcpOpt, DhcpType, addrOption, buildDhcp, BOOTREQUEST } from '../proto/dhcp.js';
import { macToString } from '../proto/ethernet.js';
import { readAddr } from '../proto/ipv4.js';
import { buildTcpFrame, TCP_SYN } from '../proto/tcp.js';
import { buildUdpFrame } from '../proto/udp.js';
import { arbMutated } from '../proto/fuzz.js';
import { GuestStack, byteOption, until } from '../testing/guest-stack.js';
import { DNS_ADDR, GATEWAY_ADDR, GATEWAY_MAC, GUEST_ADDR } from './addresses.js';
import { UserNetBackend, type UserNetOptions } from './user-backend.js';
import { GUEST_USER_NET_ADDR } from '../../vm/config.js';
import { ipToString } from '../proto/ipv4.js';

test('the guest address is the one vm/config.ts documents', () => {
  assert.equal(ipToString(GUEST_ADDR), GUEST_USER_NET_ADDR);
});

function counter(b: UserNetBackend, name: string): number {
  const c = b.inspect().children!['counters']!.children![name];
  return (c?.value as number | undefined) ?? 0;
}

async function withNet(opts: UserNetOptions, body: (b: UserNetBackend, g: GuestStack) => Promise<void>): Promise<void> {
  const b = new UserNetBackend({ dns: null, log: silentSink, ...opts });
  await b.start();
  const g = new GuestStack(b);
  try {
    await body(b, g);
    assert.deepEqual(g.malformed, [], 'every frame from the backend parses');
  } finally {
    await b.close();
  }
}

test('ARP: the gateway and DNS addresses are answered with the NAT MAC, the guest address is not', () =>
  withNet({}, async (b, g) => {
    g.arpRequest(GATEWAY_ADDR);
    g.arpRequest(DNS_ADDR);
    g.arpRequest(GUEST_ADDR); // duplicate-address probe: must stay unanswered
    g.arpRequest(0x0a000209);
    await until(() => g.arpIn.length >= 2, 'ARP replies');
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(g.arpIn.length, 2);
    for (const [k, tpa] of [GATEWAY_ADDR, DNS_ADDR].entries()) {
      const a = g.arpIn[k]!;
      assert.equal(a.op, ARP_REPLY);
      assert.equal(a.spa, tpa);
      assert.equal(macToString(a.sha), macToString(GATEWAY_MAC));
      assert.equal(a.tpa, GUEST_ADDR);
      assert.equal(macToString(a.tha), macToString(g.mac));
    }
    assert.equal(b.inspect().children!['guestMac']!.value, '52:54:00:12:34:56');
  }));

test('DHCP: DISCOVER/OFFER/REQUEST/ACK gives 10.0.2.15 with router, DNS, mask and lease; a wrong REQUEST gets a NAK', () =>
  withNet({}, async (_b, g) => {
    g.dhcp(0x1234, [byteOption(DhcpOpt.MESSAGE_TYPE, DhcpType.DISCOVER), [DhcpOpt.PARAM_LIST, new Uint8Array([1, 3, 6, 51])]]);
    await until(() => g.dhcpIn.length === 1, 'OFFER');
    const offer = g.dhcpIn[0]!;
    assert.equal(offer.messageType, DhcpType.OFFER);
    assert.equal(offer.xid, 0x1234);
    assert.equal(offer.yiaddr, GUEST_ADDR);
    const opt = (m: typeof offer, code: number) => readAddr(m.options.get(code)!, 0);
    assert.equal(opt(offer, DhcpOpt.SERVER_ID), GATEWAY_ADDR);
    assert.equal(opt(offer, DhcpOpt.ROUTER), GATEWAY_ADDR);
    assert.equal(opt(offer, DhcpOpt.DNS), DNS_ADDR);
    assert.equal(opt(offer, DhcpOpt.SUBNET_MASK), 0xffffff00);
    assert.equal(opt(offer, DhcpOpt.LEASE_TIME), 86400);

    g.dhcp(0x1235, [byteOption(DhcpOpt.MESSAGE_TYPE, DhcpType.REQUEST), [DhcpOpt.REQUESTED_IP, addrOption(GUEST_ADDR)], [DhcpOpt.SERVER_ID, addrOption(GATEWAY_ADDR)]]);
    await until(() => g.dhcpIn.length === 2, 'ACK');
    assert.equal(g.dhcpIn[1]!.messageType, DhcpType.ACK);
    assert.equal(g.dhcpIn[1]!.yiaddr, GUEST_ADDR);

    g.dhcp(0x1236, [byteOption(DhcpOpt.MESSAGE_TYPE, DhcpType.REQUEST), [DhcpOpt.REQUESTED_IP, addrOption(0x0a000263)]]);
    await until(() => g.dhcpIn.length === 3, 'NAK');
    assert.equal(g.dhcpIn[2]!.messageType, DhcpType.NAK);

    // Renewal: unicast from the leased address.
    g.dhcp(0x1237, [byteOption(DhcpOpt.MESSAGE_TYPE, DhcpType.REQUEST)], GUEST_ADDR);
    await until(() => g.dhcpIn.length === 4, 'renewal ACK');
    assert.equal(g.dhcpIn[3]!.messageType, DhcpType.ACK);
  }));

test('ICMP: echo to the gateway is answered locally with the same id, sequence and data', () =>
  withNet({}, async (b, g) => {
    g.ping(GATEWAY_ADDR, 77, 3, new Uint8Array([1, 2, 3, 4, 5]));
    g.ping(0x08080808, 77, 4, new Uint8Array([1]));
    await until(() => g.icmpIn.length === 1, 'echo reply');
    assert.deepEqual([g.icmpIn[0]!.type, g.icmpIn[0]!.id, g.icmpIn[0]!.seq, [...g.icmpIn[0]!.data]], [0, 77, 3, [1, 2, 3, 4, 5]]);
    assert.equal(counter(b, 'drop.icmp-echo-elsewhere'), 1);
  }));

test('DNS: queries to 10.0.2.3:53 reach the configured upstream and answers come back from 10.0.2.3:53', async () => {
  const resolver = dgram.createSocket('udp4');
  const queries: Buffer[] = [];
  resolver.on('message', (msg, rinfo) => {
    queries.push(msg);
    // A big answer (EDNS-sized): the NAT must fragment it for the guest.
    const answer = Buffer.concat([msg.subarray(0, 2), Buffer.from([0x81, 0x80]), Buffer.alloc(3000, 7)]);
    resolver.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => resolver.bind(0, '127.0.0.1', r));
  const port = resolver.address().port;
  try {
    await withNet({ dns: `127.0.0.1:${port}` }, async (b, g) => {
      const query = Buffer.from('abcd0100000100000000000003777777076578616d706c6503636f6d0000010001', 'hex');
      g.udp(DNS_ADDR, 53, 5353, query);
      await until(() => queries.length === 1, 'the query at the resolver');
      assert.deepEqual([...queries[0]!], [...query]);
      // 3008 bytes of UDP payload: three fragments, which this guest does not reassemble.
      await until(() => g.framesIn >= 3, 'the fragmented answer');
      assert.equal(counter(b, 'udp.rx-datagrams'), 1);
    });
    await withNet({ dns: `127.0.0.1:${port}` }, async (_b, g) => {
      const small = Buffer.from('abcd01000001000000000000000001000100', 'hex');
      resolver.removeAllListeners('message');
      resolver.on('message', (msg, rinfo) => resolver.send(Buffer.concat([msg.subarray(0, 2), Buffer.from([0x81, 0x80])]), rinfo.port, rinfo.address));
      g.udp(DNS_ADDR, 53, 5354, small);
      await until(() => g.udpIn.length === 1, 'the answer');
      const a = g.udpIn[0]!;
      assert.deepEqual([a.src, a.srcPort, a.dstPort, [...a.payload]], [DNS_ADDR, 53, 5354, [0xab, 0xcd, 0x81, 0x80]]);
    });
  } finally {
    resolver.close();
  }
});

test('DNS: under restrict (or with no upstream) the guest gets an immediate REFUSED (SERVFAIL) answer', async () => {
  for (const [opts, rcode] of [[{ restrict: true }, 5], [{ dns: null }, 2]] as const) {
    await withNet(opts, async (_b, g) => {
      const query = Buffer.from('beef0100000100000000000003777777076578616d706c6503636f6d0000010001', 'hex');
      g.udp(DNS_ADDR, 53, 999, query);
      await until(() => g.udpIn.length === 1, 'the local answer');
      const a = g.udpIn[0]!.payload;
      assert.equal(a.length, query.length);
      assert.deepEqual([a[0], a[1], a[2]! & 0x80, a[3]! & 0x0f], [0xbe, 0xef, 0x80, rcode]);
    });
  }
});

test('UDP: a guest datagram reaches a host socket through 10.0.2.2 (hostLoopback) and the reply comes back', () =>
  withNet({ hostLoopback: true }, async (b, g) => {
    const echo = dgram.createSocket('udp4');
    echo.on('message', (msg, rinfo) => echo.send(Buffer.concat([Buffer.from('re:'), msg]), rinfo.port, rinfo.address));
    await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r));
    try {
      g.udp(GATEWAY_ADDR, echo.address().port, 7777, Buffer.from('hello'));
      await until(() => g.udpIn.length === 1, 'the echo');
      const a = g.udpIn[0]!;
      assert.deepEqual([a.src, a.srcPort, a.dst, a.dstPort], [GATEWAY_ADDR, echo.address().port, GUEST_ADDR, 7777]);
      assert.equal(Buffer.from(a.payload).toString(), 're:hello');
      assert.equal(b.inspect().children!['udp']!.children!['count']!.value, 1);
    } finally {
      echo.close();
    }
  }));

test('UDP: without hostLoopback, under restrict, and to 127/8 the datagram is dropped and counted', async () => {
  await withNet({}, async (b, g) => {
    g.udp(GATEWAY_ADDR, 9, 1000, Buffer.from('x'));
    g.udp(0x7f000001, 9, 1000, Buffer.from('x'));
    assert.equal(counter(b, 'drop.udp-no-host-loopback'), 1);
    assert.equal(counter(b, 'drop.udp-bad-destination'), 1);
  });
  await withNet({ restrict: true, hostLoopback: true }, async (b, g) => {
    g.udp(0x08080808, 9, 1000, Buffer.from('x'));
    g.udp(GATEWAY_ADDR, 9, 1000, Buffer.from('x'));
    assert.equal(counter(b, 'drop.udp-restricted'), 2);
    assert.equal(b.inspect().children!['udp']!.children!['count']!.value, 0);
  });
});

test('UDP: idle mappings close, and past the cap the least recently used one goes', () =>
  withNet({ hostLoopback: true, udp: { maxFlows: 2, idleMs: 100, dnsIdleMs: 100 } }, async (b, g) => {
    const sink = dgram.createSocket('udp4');
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
    try {
      for (const p of [1001, 1002, 1003]) g.udp(GATEWAY_ADDR, sink.address().port, p, Buffer.from('x'));
      assert.equal(counter(b, 'udp.evicted'), 1);
      const flows = () => b.inspect().children!['udp']!.children!['count']!.value;
      assert.equal(flows(), 2);
      await until(() => flows() === 0, 'idle close', 2000);
    } finally {
      sink.close();
    }
  }));

test('malformed frames: random bytes and damaged valid frames are dropped by reason, send() never throws', () =>
  withNet({ hostLoopback: true }, async (b, g) => {
    const mac = g.mac;
    const valid = [
      buildUdpFrame(GATEWAY_MAC, mac, { src: GUEST_ADDR, dst: 0x0a0002ff, srcPort: 68, dstPort: 67 }, buildDhcp({ op: BOOTREQUEST, xid: 1, chaddr: mac, options: [byteOption(DhcpOpt.MESSAGE_TYPE, 1)] })),
      buildTcpFrame(GATEWAY_MAC, mac, { src: GUEST_ADDR, dst: 0x0a000209, srcPort: 1, dstPort: 2, seq: 1, ack: 0, flags: TCP_SYN, window: 100, mss: 1460 }),
      buildUdpFrame(GATEWAY_MAC, mac, { src: GUEST_ADDR, dst: 0x0a000209, srcPort: 5, dstPort: 6 }, new Uint8Array(20)),
    ];
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), ...valid.map((v) => arbMutated(v))), (f) => {
        b.send(f);
      }),
      { numRuns: 2000 },
    );
    const drops = b.inspect().children!['counters']!.children!;
    assert.equal(counter(b, 'internal-errors'), 0);
    assert.ok(Object.keys(drops).some((k) => k.startsWith('drop.ipv4-')), JSON.stringify(Object.keys(drops)));
    assert.ok(Object.keys(drops).some((k) => k.startsWith('drop.eth-')));
    await new Promise((r) => setTimeout(r, 20));
  }));

test('inspect: the tree has the policy, queue, tables and counters', () =>
  withNet({ hostLoopback: true }, async (b) => {
    const t = b.inspect();
    const keys = Object.keys(t.children!);
    for (const k of ['mode', 'hostLoopback', 'restrict', 'dns', 'rxQueue', 'tcp', 'udp', 'hostfwd', 'counters']) assert.ok(keys.includes(k), k);
    const walk = (n: InspectNode): void => void Object.values(n.children ?? {}).forEach(walk);
    walk(t);
  }));
