import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { arbBytes, arbMutated, prefixes } from './fuzz.js';
import { parseIpv4, type Ipv4Packet } from './ipv4.js';
import { checksum, pseudoSum } from './checksum.js';
import { buildUdpFrame, parseUdp } from './udp.js';
import { TCP_ACK, TCP_SYN, buildTcpFrame, parseTcp, seqAdd, seqDiff, seqLe, seqLt } from './tcp.js';

const mac = new Uint8Array(6);

function ipOf(frame: Uint8Array): Ipv4Packet {
  const ip = parseIpv4(frame.subarray(14));
  assert.ok(typeof ip !== 'string', String(ip));
  return ip;
}

// Random bytes as the payload of an otherwise plausible IPv4 packet.
const arbIp = (proto: number, bytes: fc.Arbitrary<Uint8Array>) =>
  fc.tuple(fc.nat(), fc.nat(), bytes).map(([src, dst, payload]): Ipv4Packet => ({ src, dst, proto, ttl: 64, id: 0, payload }));

test('udp: datagrams round-trip with a checksum; zero checksum means none', () => {
  fc.assert(
    fc.property(fc.nat({ max: 0xffff }), fc.nat({ max: 0xffff }), fc.uint8Array({ maxLength: 600 }), (sp, dp, data) => {
      const ip = ipOf(buildUdpFrame(mac, mac, { src: 0x0a00020f, dst: 0x08080808, srcPort: sp, dstPort: dp }, data));
      const u = parseUdp(ip);
      assert.ok(typeof u !== 'string', String(u));
      assert.deepEqual([u.srcPort, u.dstPort, [...u.payload]], [sp, dp, [...data]]);
      ip.payload[6] = ip.payload[7] = 0;
      assert.ok(typeof parseUdp(ip) !== 'string');
    }),
  );
});

test('udp: random, mutated and truncated datagrams never throw; payload damage fails the checksum', () => {
  const frame = buildUdpFrame(mac, mac, { src: 1, dst: 2, srcPort: 53, dstPort: 1000 }, new Uint8Array([1, 2, 3]));
  const ip = ipOf(frame);
  fc.assert(fc.property(fc.oneof(arbIp(17, arbBytes(64)), arbIp(17, arbMutated(ip.payload))), (p) => void parseUdp(p)));
  for (const t of prefixes(ip.payload)) assert.equal(typeof parseUdp({ ...ip, payload: t }), 'string');
  const bad = ip.payload.slice();
  bad[9] ^= 0x40;
  assert.equal(parseUdp({ ...ip, payload: bad }), 'udp-bad-checksum');
});

test('tcp: segments round-trip with options', () => {
  fc.assert(
    fc.property(
      fc.record({ seq: fc.nat({ max: 0xffffffff }), ack: fc.nat({ max: 0xffffffff }), window: fc.nat({ max: 0xffff }) }),
      fc.option(fc.nat({ max: 0xffff }), { nil: undefined }),
      fc.option(fc.nat({ max: 14 }), { nil: undefined }),
      fc.uint8Array({ maxLength: 1460 }),
      (h, mss, wscale, data) => {
        const spec = { src: 0x0a000202, dst: 0x0a00020f, srcPort: 80, dstPort: 40000, flags: TCP_SYN | TCP_ACK, ...h, mss, wscale };
        const t = parseTcp(ipOf(buildTcpFrame(mac, mac, spec, data)));
        assert.ok(typeof t !== 'string', String(t));
        assert.deepEqual(
          [t.seq, t.ack, t.window, t.flags, t.mss, t.wscale, [...t.payload]],
          [h.seq, h.ack, h.window, TCP_SYN | TCP_ACK, mss, wscale, [...data]],
        );
      },
    ),
  );
});

test('tcp: random, mutated and truncated segments never throw; malformed options are dropped', () => {
  const frame = buildTcpFrame(mac, mac, { src: 1, dst: 2, srcPort: 1, dstPort: 2, seq: 5, ack: 6, flags: TCP_SYN, window: 100, mss: 1460, wscale: 7 }, new Uint8Array(10));
  const ip = ipOf(frame);
  fc.assert(fc.property(fc.oneof(arbIp(6, arbBytes(80)), arbIp(6, arbMutated(ip.payload))), (p) => void parseTcp(p)));
  for (const t of prefixes(ip.payload)) assert.equal(typeof parseTcp({ ...ip, payload: t }), 'string');
  // An option whose length runs past the header: rebuild the checksum so only the option is wrong.
  const f2 = buildTcpFrame(mac, mac, { src: 1, dst: 2, srcPort: 1, dstPort: 2, seq: 5, ack: 6, flags: TCP_SYN, window: 100, mss: 1460 });
  const p2 = ipOf(f2).payload;
  p2[21] = 40; // MSS option length 40 > header
  p2[16] = p2[17] = 0;
  const sum = checksum(p2, 0, p2.length, pseudoSum(1, 2, 6, p2.length));
  p2[16] = sum >>> 8;
  p2[17] = sum & 0xff;
  assert.equal(parseTcp({ ...ipOf(f2), payload: p2 }), 'tcp-bad-options');
});

test('tcp: sequence arithmetic wraps', () => {
  assert.ok(seqLt(0xfffffff0, 5));
  assert.ok(!seqLt(5, 0xfffffff0));
  assert.ok(seqLe(7, 7));
  assert.equal(seqAdd(0xffffffff, 2), 1);
  assert.equal(seqDiff(1, 0xffffffff), 2);
});
