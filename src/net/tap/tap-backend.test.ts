/**
 * TAP tests need root (CAP_NET_ADMIN to create the device and a network
 * namespace), iproute2 and ping; they skip with the reason otherwise. All
 * traffic stays inside a namespace the test creates: the test plays the
 * guest (10.99.0.2) on the TAP fd, the namespace's kernel is the host side
 * (10.99.0.1).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { ARP_REPLY, ARP_REQUEST, buildArpFrame, parseArp } from '../proto/arp.js';
import { BROADCAST_MAC, ETHERTYPE_ARP, ETHERTYPE_IPV4, parseEthernet, parseMac } from '../proto/ethernet.js';
import { ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, buildIcmpEchoFrame, parseIcmp } from '../proto/icmp.js';
import { IPPROTO_ICMP, parseIpv4 } from '../proto/ipv4.js';
import { until } from '../testing/guest-stack.js';
import { TapBackend, TapError } from './tap-backend.js';

const run = promisify(execFile);
const HOST_IP = 0x0a630001; // 10.99.0.1, the namespace side
const GUEST_IP = 0x0a630002; // 10.99.0.2, played by the test
const guestMac = parseMac('52:54:00:aa:bb:cc');

function whyNot(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (CAP_NET_ADMIN) for a TAP device and a network namespace';
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing';
  for (const tool of ['/usr/sbin/ip', '/usr/bin/ping']) {
    if (!existsSync(tool) && !existsSync(tool.replace('/usr', ''))) return `${tool.split('/').pop()} is not installed (apt-get install -y iproute2 iputils-ping)`;
  }
  return false;
}

const skip = whyNot();
const ns = `tsvmm-tap-${process.pid}`;
const ifname = `tsvtap${process.pid % 100000}`;
let tap: TapBackend | null = null;

before(async () => {
  if (skip) return;
  tap = new TapBackend(ifname); // creates the device
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['link', 'set', ifname, 'netns', ns]);
  await run('ip', ['-n', ns, 'addr', 'add', '10.99.0.1/24', 'dev', ifname]);
  await run('ip', ['-n', ns, 'link', 'set', ifname, 'up']);
});

after(async () => {
  await tap?.close();
  if (!skip) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
});

// The guest: answers ARP for 10.99.0.2 and pings to it; records everything else.
interface Seen {
  arpReplies: number;
  echoReplies: number;
  echoRequests: number;
  frames: number;
}

function playGuest(b: TapBackend, seen: Seen, full: () => boolean): void {
  b.deliver = (f) => {
    if (full()) return false;
    seen.frames++;
    const eth = parseEthernet(f);
    if (typeof eth === 'string') return true;
    if (eth.type === ETHERTYPE_ARP) {
      const a = parseArp(eth.payload);
      if (typeof a === 'string') return true;
      if (a.op === ARP_REQUEST && a.tpa === GUEST_IP) b.send(buildArpFrame(a.sha, ARP_REPLY, guestMac, GUEST_IP, a.sha, a.spa));
      if (a.op === ARP_REPLY && a.spa === HOST_IP) seen.arpReplies++;
    } else if (eth.type === ETHERTYPE_IPV4) {
      const ip = parseIpv4(eth.payload);
      if (typeof ip === 'string' || ip.proto !== IPPROTO_ICMP) return true;
      const m = parseIcmp(ip.payload);
      if (typeof m === 'string') return true;
      if (m.type === ICMP_ECHO_REQUEST && ip.dst === GUEST_IP) {
        seen.echoRequests++;
        b.send(buildIcmpEchoFrame(eth.src, guestMac, GUEST_IP, ip.src, ICMP_ECHO_REPLY, m.id, m.seq, m.data));
      }
      if (m.type === ICMP_ECHO_REPLY && ip.src === HOST_IP) seen.echoReplies++;
    }
    return true;
  };
}

test('tap: a ping from inside a network namespace crosses the TAP device to the guest and back', { skip }, async () => {
  const seen: Seen = { arpReplies: 0, echoReplies: 0, echoRequests: 0, frames: 0 };
  playGuest(tap!, seen, () => false);
  const { stdout } = await run('ip', ['netns', 'exec', ns, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '10.99.0.2']);
  assert.match(stdout, /3 packets transmitted, 3 received/);
  assert.equal(seen.echoRequests, 3);
});

test('tap: the guest pings the namespace (ARP first), and the kernel answers through the TAP fd', { skip }, async () => {
  const seen: Seen = { arpReplies: 0, echoReplies: 0, echoRequests: 0, frames: 0 };
  playGuest(tap!, seen, () => false);
  tap!.send(buildArpFrame(BROADCAST_MAC, ARP_REQUEST, guestMac, GUEST_IP, new Uint8Array(6), HOST_IP));
  await until(() => seen.arpReplies >= 1, 'the ARP reply from the namespace');
  const hostMac = await run('ip', ['-n', ns, '-br', 'link', 'show', ifname]).then((r) => parseMac(r.stdout.trim().split(/\s+/)[2]!));
  for (let seq = 1; seq <= 5; seq++) tap!.send(buildIcmpEchoFrame(hostMac, guestMac, GUEST_IP, HOST_IP, ICMP_ECHO_REQUEST, 42, seq, new Uint8Array(56)));
  await until(() => seen.echoReplies === 5, 'five echo replies');
  const counters = tap!.inspect().children!['counters']!.children!;
  assert.ok((counters['tx-frames']!.value as number) >= 6);
});

test('tap: while the NIC refuses frames they wait in the kernel; resume() delivers them', { skip }, async () => {
  const seen: Seen = { arpReplies: 0, echoReplies: 0, echoRequests: 0, frames: 0 };
  let full = true;
  playGuest(tap!, seen, () => full);
  const pinging = run('ip', ['netns', 'exec', ns, 'ping', '-c', '2', '-i', '0.2', '-W', '3', '10.99.0.2']).catch((e: { stdout: string }) => e);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(seen.frames, 0);
  assert.equal(tap!.inspect().children!['rxBlocked']!.value, true);
  full = false;
  tap!.resume();
  const r = await pinging;
  assert.ok(seen.frames >= 2);
  assert.match(String(r.stdout), /2 packets transmitted, [12] received/);
});

test('tap: an existing (persistent) TAP device is attached to, and left in place after close', { skip }, async () => {
  const name = `tsvpt${process.pid % 100000}`;
  await run('ip', ['tuntap', 'add', 'dev', name, 'mode', 'tap']);
  try {
    const b = new TapBackend(name);
    assert.equal(b.ifname, name);
    await b.close();
    assert.match((await run('ip', ['link', 'show', name])).stdout, new RegExp(name));
  } finally {
    await run('ip', ['link', 'del', name]);
  }
});

test('tap: a TUN device (not TAP) is refused with one line', { skip }, async () => {
  const tun = `tsvtun${process.pid % 100000}`;
  await run('ip', ['tuntap', 'add', 'dev', tun, 'mode', 'tun']);
  try {
    assert.throws(() => new TapBackend(tun), (e: Error) => e instanceof TapError && /^tap tsvtun\d+: the device exists but is not a TAP device/.test(e.message));
  } finally {
    await run('ip', ['link', 'del', tun]);
  }
});
