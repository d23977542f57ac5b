import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { arbBytes, arbMutated, prefixes } from './fuzz.js';
import { BOOTREQUEST, DhcpOpt, DhcpType, addrOption, buildDhcp, parseDhcp } from './dhcp.js';

const chaddr = new Uint8Array([0x52, 0x54, 0, 0x12, 0x34, 0x56]);

test('dhcp: a message round-trips, long options are split and concatenated back', () => {
  const long = new Uint8Array(600).map((_, k) => k & 0xff);
  const m = buildDhcp({
    op: BOOTREQUEST,
    xid: 0xdeadbeef,
    flags: 0x8000,
    chaddr,
    options: [
      [DhcpOpt.MESSAGE_TYPE, new Uint8Array([DhcpType.DISCOVER])],
      [DhcpOpt.REQUESTED_IP, addrOption(0x0a00020f)],
      [224, long],
    ],
  });
  const p = parseDhcp(m);
  assert.ok(typeof p !== 'string', String(p));
  assert.equal(p.xid, 0xdeadbeef);
  assert.equal(p.flags, 0x8000);
  assert.equal(p.messageType, DhcpType.DISCOVER);
  assert.deepEqual([...p.chaddr], [...chaddr]);
  assert.deepEqual([...p.options.get(DhcpOpt.REQUESTED_IP)!], [10, 0, 2, 15]);
  assert.deepEqual([...p.options.get(224)!], [...long]);
  assert.ok(m.length >= 300);
});

test('dhcp: random, mutated and truncated messages never throw', () => {
  const m = buildDhcp({ op: BOOTREQUEST, xid: 1, chaddr, options: [[DhcpOpt.MESSAGE_TYPE, new Uint8Array([1])], [DhcpOpt.PARAM_LIST, new Uint8Array([1, 3, 6])]] });
  fc.assert(fc.property(fc.oneof(arbBytes(400), arbMutated(m)), (b) => void parseDhcp(b)));
  for (const t of prefixes(m).slice(0, 240)) assert.equal(parseDhcp(t), 'dhcp-short');
  // An option whose length runs off the end.
  const cut = m.slice(0, 240 + 3);
  cut[240] = DhcpOpt.PARAM_LIST;
  cut[241] = 9;
  assert.equal(parseDhcp(cut), 'dhcp-bad-options');
});
