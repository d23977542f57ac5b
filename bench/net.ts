/**
 * bench/net: TCP throughput between the guest and a server on the host,
 * both directions, through the user-mode NAT (10.0.2.2 with host-loopback)
 * and through TAP (in a network namespace the benchmark makes, as root);
 * in the same run host loopback TCP, and QEMU's user networking and TAP
 * (no vhost) on the same guest workload where they can run.
 *
 *   node dist/bench/net.js [MiB]
 *
 * The guest side is busybox: wget for host->guest, dd | nc for guest->host.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { ensureDefaultGuest } from '../src/guest/index.js';
import { ProcessConsole, VmProcess } from '../test/vm/vm-process.js';
import { qemuBinary, qemuCommonArgs } from './qemu.js';

interface Throughput {
  readonly toGuestMBs: number;
  readonly fromGuestMBs: number;
}

/** An HTTP-ish source (serves `bytes` on connect after any request) and a sink (counts bytes). */
async function servers(bytes: number, host: string): Promise<{ source: Server; sink: Server; received: () => number; close(): void }> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const source = createServer((c) => {
    c.once('data', () => {
      c.write(`HTTP/1.0 200 OK\r\nContent-Length: ${bytes}\r\n\r\n`);
      let left = bytes;
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!c.write(chunk.subarray(0, n))) return void c.once('drain', pump);
        }
        c.end();
      };
      pump();
    });
    c.on('error', () => {});
  });
  let got = 0;
  const sink = createServer((c) => {
    c.on('data', (d) => (got += d.length));
    c.on('error', () => {});
  });
  await Promise.all([new Promise<void>((r) => source.listen(0, host, r)), new Promise<void>((r) => sink.listen(0, host, r))]);
  return { source, sink, received: () => got, close: () => { source.close(); sink.close(); } };
}

/** Runs both transfers from a guest console; `server` is the host address the guest uses. */
async function guestTransfers(vm: ProcessConsole, server: string, mib: number, ports: { source: number; sink: number }): Promise<Throughput> {
  // busybox date has no %N: time with /proc/uptime (10 ms resolution) inside the guest.
  const time = async (cmd: string): Promise<number> => {
    const out = await vm.run(`s=$(cut -d' ' -f1 /proc/uptime); ${cmd} >/dev/null 2>&1; e=$(cut -d' ' -f1 /proc/uptime); echo "$s $e"`, 900_000);
    const [s, e] = out.trim().split('\n').pop()!.split(' ').map(Number);
    return Math.max(10, (e! - s!) * 1000);
  };

  const down = await time(`wget -q -O /dev/null http://${server}:${ports.source}/`);
  const up = await time(`dd if=/dev/zero bs=64k count=${mib * 16} | nc ${server} ${ports.sink}`);
  const mb = mib * 1.048576;
  return { toGuestMBs: mb / (down / 1000), fromGuestMBs: mb / (up / 1000) };
}

/** Host loopback TCP: the same bytes between two host sockets. */
async function hostLoopback(mib: number): Promise<number> {
  const bytes = mib << 20;
  const s = await servers(bytes, '127.0.0.1');
  const { connect } = await import('node:net');
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const c = connect((s.source.address() as AddressInfo).port, '127.0.0.1', () => c.write('GET / HTTP/1.0\r\n\r\n'));
    c.on('data', () => {});
    c.on('close', () => resolve());
  });
  const ms = performance.now() - t0;
  s.close();
  return (mib * 1.048576) / (ms / 1000);
}

const DHCP = "printf '#!/bin/sh\\n[ \"$1\" = bound ] || exit 0\\nip addr add $ip/24 dev $interface\\nip route add default via $router\\n' > /tmp/d.sh; chmod +x /tmp/d.sh; ip link set eth0 up; udhcpc -i eth0 -q -n -t 5 -s /tmp/d.sh";

function fmt(t: Throughput): string {
  return `host->guest ${t.toGuestMBs.toFixed(2)} MB/s, guest->host ${t.fromGuestMBs.toFixed(2)} MB/s`;
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? 16);
  const guest = await ensureDefaultGuest();
  console.log(`bench/net: ${mib} MiB each way over TCP, default guest ${guest.release}, node ${process.version}`);
  console.log(`  host loopback TCP:        ${(await hostLoopback(mib)).toFixed(1)} MB/s`);

  const s = await servers(mib << 20, '127.0.0.1');
  const ports = { source: (s.source.address() as AddressInfo).port, sink: (s.sink.address() as AddressInfo).port };
  const vm = new VmProcess(['--accel', 'emu', '--memory', '256M', '--net', 'user,host-loopback']);
  try {
    await vm.waitFor(/tsvmm:\/# /, 600_000);
    await vm.run(DHCP, 120_000);
    console.log(`  tsvmm emu, user NAT:      ${fmt(await guestTransfers(vm, '10.0.2.2', mib, ports))}`);
    vm.send('poweroff -f');
    await vm.exited;
  } finally {
    vm.kill();
  }

  const qemu = qemuBinary();
  if (!qemu) console.log('  QEMU baselines skipped: qemu-system-x86_64 is not installed');
  else {
    // QEMU's user network reaches the host's loopback at 10.0.2.2 by default.
    const q = new ProcessConsole([qemu, ...qemuCommonArgs(guest), '-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0']);
    try {
      await q.waitFor(/tsvmm:\/# /, 300_000);
      await q.run(DHCP, 120_000);
      console.log(`  QEMU TCG, user (slirp):   ${fmt(await guestTransfers(q, '10.0.2.2', mib, ports))}`);
      q.send('poweroff -f');
      await q.exited;
    } finally {
      q.kill();
    }
  }
  s.close();

  if (process.getuid?.() !== 0 || !['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].some((p) => existsSync(p))) {
    console.log('  TAP skipped: needs root and iproute2');
  } else {
    await tapRuns(mib, guest, qemu);
  }
  if (existsSync('/dev/kvm')) console.log('  KVM: /dev/kvm is present but the KVM backend is not built yet');
  else console.log('  KVM: skipped, /dev/kvm not available (the >= 1 Gbit/s NAT goal is a KVM goal)');
}

/** TAP runs: the VMM and the host-side servers live in a namespace the benchmark makes. */
async function tapRuns(mib: number, guest: { kernel: string; initrd: string; cmdline: string }, qemu: string | null): Promise<void> {
  const ns = `tsvmm-bn${process.pid}`;
  const inNs = (...a: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...a], { stdio: 'pipe' });
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    inNs('ip', 'tuntap', 'add', 'tap0', 'mode', 'tap');
    inNs('ip', 'addr', 'add', '192.168.77.1/24', 'dev', 'tap0');
    inNs('ip', 'link', 'set', 'tap0', 'up');
    inNs('ip', 'link', 'set', 'lo', 'up');
    // The servers run in the namespace too (a child node process), reachable at 192.168.77.1.
    const serverScript = `const n=require('net');const b=Buffer.alloc(65536,97);const bytes=${mib << 20};
      const src=n.createServer(c=>{c.once('data',()=>{c.write('HTTP/1.0 200 OK\\r\\nContent-Length: '+bytes+'\\r\\n\\r\\n');let l=bytes;const p=()=>{while(l>0){const k=Math.min(l,b.length);l-=k;if(!c.write(b.subarray(0,k)))return c.once('drain',p)}c.end()};p()});c.on('error',()=>{})}).listen(18080,'192.168.77.1');
      const snk=n.createServer(c=>{c.on('data',()=>{});c.on('error',()=>{})}).listen(18081,'192.168.77.1');`;
    const servers = new ProcessConsole(['ip', 'netns', 'exec', ns, process.execPath, '-e', serverScript]);
    const configure = 'ip link set eth0 up; ip addr add 192.168.77.2/24 dev eth0';
    try {
      await new Promise((r) => setTimeout(r, 500));
      const vm = new VmProcess(['--accel', 'emu', '--memory', '256M', '--net', 'tap=tap0'], process.env, ['ip', 'netns', 'exec', ns]);
      try {
        await vm.waitFor(/tsvmm:\/# /, 600_000);
        await vm.run(configure);
        console.log(`  tsvmm emu, TAP:           ${fmt(await guestTransfers(vm, '192.168.77.1', mib, { source: 18080, sink: 18081 }))}`);
        vm.send('poweroff -f');
        await vm.exited;
      } finally {
        vm.kill();
      }
      if (qemu) {
        const q = new ProcessConsole(['ip', 'netns', 'exec', ns, qemu, ...qemuCommonArgs(guest),
          '-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=off', '-device', 'virtio-net-pci,netdev=n0']);
        try {
          await q.waitFor(/tsvmm:\/# /, 300_000);
          await q.run(configure);
          console.log(`  QEMU TCG, TAP (no vhost): ${fmt(await guestTransfers(q, '192.168.77.1', mib, { source: 18080, sink: 18081 }))}`);
          q.send('poweroff -f');
          await q.exited;
        } finally {
          q.kill();
        }
      }
    } finally {
      servers.kill();
    }
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

void main();
