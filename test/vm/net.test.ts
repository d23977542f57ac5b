/**
 * virtio-net with the user-mode NAT, seen from a real guest: DHCP (busybox
 * udhcpc), HTTP to a server on the host's loopback through 10.0.2.2 with
 * host-loopback, DNS through the forwarder to a resolver the test runs,
 * UDP both ways through the NAT, a TCP port forward into the guest's
 * httpd (busybox has no UDP listener: UDP forwards are covered by the
 * NAT's own tests in src/net/user); restrict
 * blocks outbound traffic while a forward still works; TAP in a network
 * namespace the test makes. All test traffic stays on loopback or in the
 * test's own namespace.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { guestReady } from './guest-ready.js';
import { VmProcess } from './vm-process.js';

const PAGE = 'hello from the host loopback\n';

/** Configures eth0 from DHCP: a udhcpc script that applies the lease and prints it. */
const DHCP = [
  "printf '#!/bin/sh\\n[ \"$1\" = bound ] || exit 0\\nip addr add $ip/24 dev $interface\\nip route add default via $router\\necho lease $ip router $router dns $dns\\n' > /tmp/dhcp.sh",
  'chmod +x /tmp/dhcp.sh',
  'ip link set eth0 up',
  'udhcpc -i eth0 -q -n -t 5 -s /tmp/dhcp.sh',
].join('; ');

async function httpServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(PAGE);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A one-record DNS server on loopback: "host.tsvmm.test" is 10.9.8.7. */
async function dnsServer(): Promise<{ close(): void; port: number; queries: string[] }> {
  const sock = createSocket('udp4');
  const queries: string[] = [];
  sock.on('message', (q, rinfo) => {
    // Question name: labels from offset 12.
    const labels: string[] = [];
    let p = 12;
    while (p < q.length && q[p]! !== 0) {
      labels.push(q.subarray(p + 1, p + 1 + q[p]!).toString());
      p += 1 + q[p]!;
    }
    const name = labels.join('.');
    queries.push(name);
    const qtype = q.readUInt16BE(p + 1);
    const question = q.subarray(12, p + 5);
    const found = name === 'host.tsvmm.test' && qtype === 1;
    const header = Buffer.from([q[0]!, q[1]!, 0x81, found ? 0x80 : 0x83, 0, 1, 0, found ? 1 : 0, 0, 0, 0, 0]);
    const answer = found ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 9, 8, 7]) : Buffer.alloc(0);
    sock.send(Buffer.concat([header, question, answer]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { close: () => sock.close(), port: sock.address().port, queries };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Connects to a forwarded port, retrying while the guest side is not listening yet. */
async function fetchForwarded(port: number, request: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await new Promise<string>((resolve) => {
      const c = connect(port, '127.0.0.1');
      let data = '';
      c.on('data', (d) => (data += d.toString()));
      c.on('connect', () => c.write(request));
      c.on('close', () => resolve(data));
      c.on('error', () => resolve(''));
    });
    if (got.length > 0 || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 500));
  }
}

const skipNoKvm = existsSync('/dev/kvm') ? 'the KVM backend is not built yet' : 'skipped: /dev/kvm not available';

for (const { accel, skip } of [{ accel: 'emu', skip: false as string | false }, { accel: 'kvm', skip: skipNoKvm }]) {
  describe(`virtio-net on --accel ${accel}`, { skip }, () => {
    it('user NAT: DHCP, HTTP to the host loopback, DNS forwarding, UDP both ways, a TCP forward, pcap', { timeout: 900_000 }, async (t) => {
      const why = await guestReady();
      if (why) return t.skip(why);
      const http = await httpServer();
      const dns = await dnsServer();
      const tcpFwd = await freePort();
      const pcap = join(mkdtempSync(join(tmpdir(), 'tsvmm-net-')), 'eth0.pcap');
      const vm = new VmProcess(['--accel', accel, '--memory', '256M', '--net',
        `user,host-loopback,dns=127.0.0.1:${dns.port},hostfwd=tcp:127.0.0.1:${tcpFwd}-:8080,pcap=${pcap}`]);
      try {
        await vm.waitFor(/tsvmm:\/# /, 600_000);
        assert.match(await vm.run(DHCP, 120_000), /lease 10\.0\.2\.15 router 10\.0\.2\.2 dns 10\.0\.2\.3/);
        // HTTP to the test's server on 127.0.0.1 through the gateway address.
        assert.equal(await vm.run(`wget -q -O - http://10.0.2.2:${http.port}/page`, 120_000), PAGE);
        // DNS: the guest asks 10.0.2.3, the NAT forwards to our resolver.
        assert.match(await vm.run('nslookup host.tsvmm.test 10.0.2.3', 120_000), /10\.9\.8\.7/);
        assert.ok(dns.queries.includes('host.tsvmm.test'));
        // UDP both ways through the generic UDP NAT (not the DNS forwarder): busybox's
        // nslookup asks a server at 10.0.2.2:PORT, which host-loopback maps to our resolver.
        assert.match(await vm.run(`nslookup host.tsvmm.test 10.0.2.2:${dns.port}`, 120_000), /10\.9\.8\.7/);
        // A TCP forward into the guest's busybox httpd.
        await vm.run("mkdir -p /tmp/www && echo served-by-guest > /tmp/www/index.html && httpd -p 8080 -h /tmp/www && echo ok");
        const reply = await fetchForwarded(tcpFwd, 'GET /index.html HTTP/1.0\r\n\r\n');
        assert.match(reply, /200 OK[\s\S]*served-by-guest/);
        vm.send('poweroff -f');
        assert.equal(await vm.exited, 0, vm.errors);
        // The capture is a libpcap file (magic a1b2c3d4, Ethernet) with traffic in it.
        const cap = readFileSync(pcap);
        assert.equal(cap.readUInt32LE(0), 0xa1b2c3d4);
        assert.equal(cap.readUInt32LE(20), 1);
        assert.ok(cap.length > 1000, `capture of ${cap.length} bytes`);
      } finally {
        vm.kill();
        http.server.close();
        dns.close();
      }
    });

    it('restrict: no outbound connection even to the host loopback; a forward still works', { timeout: 900_000 }, async (t) => {
      const why = await guestReady();
      if (why) return t.skip(why);
      const http = await httpServer();
      const tcpFwd = await freePort();
      const vm = new VmProcess(['--accel', accel, '--memory', '256M', '--net',
        `user,restrict,host-loopback,hostfwd=tcp:127.0.0.1:${tcpFwd}-:8080`]);
      try {
        await vm.waitFor(/tsvmm:\/# /, 600_000);
        assert.match(await vm.run(DHCP, 120_000), /lease 10\.0\.2\.15/);
        const out = await vm.run(`wget -q -T 5 -O - http://10.0.2.2:${http.port}/page || echo blocked`, 120_000);
        assert.doesNotMatch(out, /hello from the host/);
        assert.match(out, /blocked/);
        await vm.run("mkdir -p /tmp/www && echo forward-ok > /tmp/www/index.html && httpd -p 8080 -h /tmp/www && echo ok");
        assert.match(await fetchForwarded(tcpFwd, 'GET /index.html HTTP/1.0\r\n\r\n'), /forward-ok/);
        vm.send('poweroff -f');
        assert.equal(await vm.exited, 0, vm.errors);
      } finally {
        vm.kill();
        http.server.close();
      }
    });

    it('TAP in a network namespace the test makes: the guest pings across', { timeout: 900_000 }, async (t) => {
      const why = await guestReady();
      if (why) return t.skip(why);
      if (process.getuid?.() !== 0) return t.skip('TAP needs root (CAP_NET_ADMIN)');
      try {
        execFileSync('ip', ['-V'], { stdio: 'pipe' });
      } catch {
        return t.skip('iproute2 (ip) is not installed');
      }
      const ns = `tsvmm-t${process.pid}`;
      const ip = (...a: string[]) => execFileSync('ip', ['netns', 'exec', ns, 'ip', ...a], { stdio: 'pipe' });
      execFileSync('ip', ['netns', 'add', ns]);
      try {
        ip('tuntap', 'add', 'tap0', 'mode', 'tap');
        ip('addr', 'add', '192.168.77.1/24', 'dev', 'tap0');
        ip('link', 'set', 'tap0', 'up');
        ip('link', 'set', 'lo', 'up');
        // The VMM itself runs inside the namespace: nothing touches the host's network.
        const vm = new VmProcess(['--accel', accel, '--memory', '256M', '--net', 'tap=tap0'], process.env, ['ip', 'netns', 'exec', ns]);
        try {
          await vm.waitFor(/tsvmm:\/# /, 600_000);
          await vm.run('ip link set eth0 up; ip addr add 192.168.77.2/24 dev eth0');
          assert.match(await vm.run('ping -c 3 -W 5 192.168.77.1', 120_000), /3 packets received/);
          vm.send('poweroff -f');
          assert.equal(await vm.exited, 0, vm.errors);
        } finally {
          vm.kill();
        }
      } finally {
        execFileSync('ip', ['netns', 'del', ns]);
      }
    });
  });
}
