import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { arbBytes, arbMutated } from './fuzz.js';
import { ETHERTYPE_IPV4, macToString, parseEthernet, parseMac, writeEthernet } from './ethernet.js';
import { buildArpFrame, parseArp, ARP_REQUEST } from './arp.js';

test('ethernet: random bytes parse or drop, never throw; valid frames round-trip', () => {
  fc.assert(
    fc.property(arbBytes(64), (b) => {
      const r = parseEthernet(b);
      if (typeof r === 'string') assert.ok(b.length < 14 || ((b[12]! << 8) | b[13]!) < 0x600);
      else assert.equal(r.payload.length, b.length - 14);
    }),
  );
  const f = new Uint8Array(20);
  writeEthernet(f, parseMac('52:54:00:12:34:56'), parseMac('52-55-0a-00-02-02'), ETHERTYPE_IPV4);
  const e = parseEthernet(f);
  assert.ok(typeof e !== 'string');
  assert.equal(macToString(e.dst), '52:54:00:12:34:56');
  assert.equal(macToString(e.src), '52:55:0a:00:02:02');
  assert.equal(e.type, ETHERTYPE_IPV4);
  assert.throws(() => parseMac('52:54:00:12:34'), /not a MAC address/);
});

test('arp: random and mutated packets never throw; a request round-trips', () => {
  const mac = parseMac('52:54:00:12:34:56');
  const frame = buildArpFrame(new Uint8Array(6).fill(0xff), ARP_REQUEST, mac, 0x0a00020f, new Uint8Array(6), 0x0a000202);
  const p = parseArp(frame.subarray(14));
  assert.ok(typeof p !== 'string');
  assert.equal(p.op, ARP_REQUEST);
  assert.equal(p.spa, 0x0a00020f);
  assert.equal(p.tpa, 0x0a000202);
  assert.equal(macToString(p.sha), '52:54:00:12:34:56');
  fc.assert(fc.property(fc.oneof(arbBytes(64), arbMutated(frame.subarray(14))), (b) => void parseArp(b)));
  for (let n = 0; n < 28; n++) assert.equal(parseArp(frame.subarray(14, 14 + n)), 'arp-short');
});
