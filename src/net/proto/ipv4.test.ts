import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { arbBytes, arbMutated, prefixes } from './fuzz.js';
import { IPV4_HLEN, inSubnet, ipToString, parseIp, parseIpv4, writeIpv4Header } from './ipv4.js';
import { buildIcmpEchoFrame, ICMP_ECHO_REQUEST, parseIcmp } from './icmp.js';
import { checksum } from './checksum.js';

function packet(payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(IPV4_HLEN + payload.length);
  writeIpv4Header(b, 0, { src: 0x0a00020f, dst: 0x0a000202, proto: 17, payloadLength: payload.length, id: 7 });
  b.set(payload, IPV4_HLEN);
  return b;
}

test('ipv4: built headers parse back; padding beyond the total length is trimmed', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 30 }), (payload, pad) => {
      const b = new Uint8Array([...packet(payload), ...pad]);
      const p = parseIpv4(b);
      assert.ok(typeof p !== 'string', String(p));
      assert.equal(p.src, 0x0a00020f);
      assert.equal(p.dst, 0x0a000202);
      assert.equal(p.id, 7);
      assert.deepEqual([...p.payload], [...payload]);
    }),
  );
});

test('ipv4: random, mutated and truncated packets never throw, and any damage to the header is caught', () => {
  const valid = packet(new Uint8Array([1, 2, 3, 4]));
  fc.assert(fc.property(fc.oneof(arbBytes(80), arbMutated(valid)), (b) => void parseIpv4(b)));
  for (const t of prefixes(valid)) assert.equal(typeof parseIpv4(t), 'string');
  // Any single-byte change in the header breaks the checksum (or an earlier check).
  fc.assert(
    fc.property(fc.nat(IPV4_HLEN - 1), fc.integer({ min: 1, max: 255 }), (at, x) => {
      const b = valid.slice();
      b[at] ^= x;
      assert.equal(typeof parseIpv4(b), 'string');
    }),
  );
});

test('ipv4: fragments are dropped with their own reason', () => {
  for (const [hi, lo] of [[0x20, 0], [0, 1], [0x20, 0x10]] as const) {
    const b = packet(new Uint8Array(8));
    b[6] = hi;
    b[7] = lo;
    b[10] = b[11] = 0;
    const sum = checksum(b, 0, IPV4_HLEN);
    b[10] = sum >>> 8;
    b[11] = sum & 0xff;
    assert.equal(parseIpv4(b), 'ipv4-fragment');
  }
});

test('ipv4: address text helpers', () => {
  assert.equal(parseIp('10.0.2.15'), 0x0a00020f);
  assert.equal(ipToString(0x0a00020f), '10.0.2.15');
  assert.equal(parseIp('256.0.0.1'), null);
  assert.equal(parseIp('1.2.3'), null);
  assert.ok(inSubnet(0x7f000005, 0x7f000000, 8));
  assert.ok(!inSubnet(0x0a000302, 0x0a000200, 24));
  fc.assert(fc.property(fc.ipV4(), (s) => assert.equal(ipToString(parseIp(s)!), s)));
});

test('icmp: echo round-trips; random and mutated messages never throw', () => {
  const mac = new Uint8Array(6);
  const f = buildIcmpEchoFrame(mac, mac, 1, 2, ICMP_ECHO_REQUEST, 0x1234, 9, new Uint8Array([5, 6, 7]));
  const ip = parseIpv4(f.subarray(14));
  assert.ok(typeof ip !== 'string');
  const m = parseIcmp(ip.payload);
  assert.ok(typeof m !== 'string');
  assert.deepEqual([m.type, m.id, m.seq, [...m.data]], [ICMP_ECHO_REQUEST, 0x1234, 9, [5, 6, 7]]);
  fc.assert(fc.property(fc.oneof(arbBytes(64), arbMutated(ip.payload)), (b) => void parseIcmp(b)));
  for (const t of prefixes(ip.payload).slice(0, 8)) assert.equal(parseIcmp(t), 'icmp-short');
});
