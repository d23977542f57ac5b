/**
 * A real Linux network stack plays the guest: a TAP device inside a network
 * namespace the test creates, its frames relayed to and from the user-mode
 * NAT. busybox udhcpc leases the address, ping reaches the gateway, DNS
 * goes through 10.0.2.3 to the test's stub resolver, and curl moves data
 * both ways through the NAT to an HTTP server on the host's 127.0.0.1
 * (hostLoopback). Needs root, iproute2, busybox and curl; skips otherwise.
 * Nothing leaves the machine: the NAT only reaches 127.0.0.1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { silentSink } from '../bus/log.js';
import { TapBackend } from './tap/tap-backend.js';
import { UserNetBackend } from './user/user-backend.js';

const run = promisify(execFile);

function whyNot(): string | false {
  if (process.getuid?.() !== 0) return 'needs root for a TAP device and a network namespace';
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing';
  for (const tool of ['ip', 'busybox', 'curl', 'ping']) {
    if (!['/usr/sbin/', '/usr/bin/', '/sbin/', '/bin/'].some((d) => existsSync(d + tool))) return `${tool} is not installed`;
  }
  return false;
}

// A DNS stub: every A question is answered with 10.0.2.2.
function stubResolver(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.on('message', (q, rinfo) => {
    let i = 12;
    while (i < q.length && q[i] !== 0) i += q[i]! + 1;
    const question = q.subarray(12, i + 5);
    const header = Buffer.from([q[0]!, q[1]!, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
    const answer = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 2, 2]);
    s.send(Buffer.concat([header, question, answer]), rinfo.port, rinfo.address);
  });
  return new Promise((r) => s.bind(0, '127.0.0.1', () => r(s)));
}

test('a Linux guest stack: udhcpc lease, ping, DNS and HTTP both ways through the NAT', { skip: whyNot(), timeout: 180_000 }, async (t) => {
  const ns = `tsvmm-lg-${process.pid}`;
  const ifname = `tsvlg${process.pid % 100000}`;
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-lg-'));
  const big = Buffer.alloc(64 << 20, 0x61);
  let uploaded = 0;
  const server = http.createServer((req, res) => {
    if (req.method === 'POST') {
      req.on('data', (d: Buffer) => (uploaded += d.length));
      req.on('end', () => res.end(String(uploaded)));
    } else res.end(big);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const dns = await stubResolver();
  const nat = new UserNetBackend({ hostLoopback: true, dns: `127.0.0.1:${dns.address().port}`, log: silentSink });
  const tap = new TapBackend(ifname);
  // The relay: what the namespace sends is what the guest sends, and back.
  tap.deliver = (f) => (nat.send(f), true);
  nat.deliver = (f) => (tap.send(f), true);
  const inNs = (cmd: string, args: string[], timeout = 60_000) => run('ip', ['netns', 'exec', ns, cmd, ...args], { timeout, maxBuffer: 1 << 20 });
  try {
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['link', 'set', ifname, 'netns', ns]);
    await run('ip', ['-n', ns, 'link', 'set', ifname, 'up']);
    const script = join(dir, 'udhcpc.sh');
    writeFileSync(
      script,
      '#!/bin/sh\ncase "$1" in bound|renew) ip addr flush dev $interface; ip addr add $ip/$mask dev $interface; ip route add default via $router dev $interface;; esac\n',
    );
    chmodSync(script, 0o755);
    const lease = await inNs('busybox', ['udhcpc', '-i', ifname, '-f', '-q', '-n', '-t', '5', '-T', '1', '-s', script]);
    t.diagnostic(lease.stderr.trim().split('\n').join(' | '));
    const addr = await run('ip', ['-n', ns, '-4', '-br', 'addr', 'show', ifname]);
    assert.match(addr.stdout, /10\.0\.2\.15\/24/);
    assert.match((await run('ip', ['-n', ns, 'route'])).stdout, /default via 10\.0\.2\.2/);

    const ping = await inNs('ping', ['-c', '2', '-i', '0.2', '-W', '2', '10.0.2.2']);
    assert.match(ping.stdout, /2 packets transmitted, 2 received/);

    const lookup = await inNs('busybox', ['nslookup', 'host.test', '10.0.2.3']);
    assert.match(lookup.stdout, /Address: 10\.0\.2\.2/);

    const down = await inNs('curl', ['-s', '-o', '/dev/null', '-w', '%{size_download} %{speed_download}', `http://10.0.2.2:${port}/big`]);
    const [size, speed] = down.stdout.split(' ').map(Number);
    assert.equal(size, big.length);
    t.diagnostic(`download through the NAT (Linux guest stack, 64 MiB): ${(speed! / 1e6).toFixed(1)} MB/s`);

    const file = join(dir, 'up.bin');
    writeFileSync(file, Buffer.alloc(64 << 20, 0x62));
    const up = await inNs('curl', ['-s', '-w', ' %{speed_upload}', '--data-binary', `@${file}`, '-H', 'Expect:', `http://10.0.2.2:${port}/upload`]);
    const [count, upSpeed] = up.stdout.split(' ').map(Number);
    assert.equal(count, 64 << 20);
    t.diagnostic(`upload through the NAT (Linux guest stack, 64 MiB): ${(upSpeed! / 1e6).toFixed(1)} MB/s`);
    const counters = nat.inspect().children!['counters']!.children!;
    assert.equal(counters['internal-errors'], undefined);
  } finally {
    await tap.close();
    await nat.close();
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    server.close();
    dns.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
