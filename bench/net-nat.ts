/**
 * bench/net-nat: TCP throughput through the user-mode NAT, host side only
 * (no guest): frames in (built before the clock starts, paced by the NAT's
 * window) to bytes out at a local socket, and bytes from a local socket to
 * frames out (acknowledged by a minimal scripted guest). The baseline is a
 * plain loopback socket pair in the same process and run.
 *
 *   node dist/bench/net-nat.js [MiB]
 */
import net from 'node:net';
import { silentSink } from '../src/bus/log.js';
import { IPV4_PAYLOAD_OFFSET } from '../src/net/proto/ipv4.js';
import { TCP_ACK, TCP_SYN, buildTcpFrame, seqAdd } from '../src/net/proto/tcp.js';
import { GATEWAY_ADDR, GATEWAY_MAC, GUEST_ADDR } from '../src/net/user/addresses.js';
import { UserNetBackend } from '../src/net/user/user-backend.js';

const MiB = 1 << 20;
const size = Number(process.argv[2] ?? 64) * MiB;
const guestMac = new Uint8Array([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
const MSS = 1460;

const rd32 = (f: Uint8Array, o: number) => ((f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!) >>> 0;
const rd16 = (f: Uint8Array, o: number) => (f[o]! << 8) | f[o + 1]!;

async function server(onSocket: (s: net.Socket) => void): Promise<{ port: number; close: () => void }> {
  const srv = net.createServer(onSocket);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}

async function baseline(): Promise<number> {
  let got = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const srv = await server((s) => s.on('data', (d) => (got += d.length) >= size && done()));
  const chunk = Buffer.alloc(64 * 1024, 1);
  const c = net.connect(srv.port, '127.0.0.1');
  await new Promise((r) => c.once('connect', r));
  const t0 = performance.now();
  let sent = 0;
  const pump = () => {
    while (sent < size) {
      sent += chunk.length;
      if (!c.write(chunk)) return void c.once('drain', pump);
    }
  };
  pump();
  await finished;
  const ms = performance.now() - t0;
  c.destroy();
  srv.close();
  return size / MiB / (ms / 1000);
}

// A guest that only speaks what the bench needs; returns the NAT and the connection's numbers after the handshake.
async function handshake(port: number, onFrame: (f: Uint8Array) => void) {
  const nat = new UserNetBackend({ hostLoopback: true, dns: null, log: silentSink });
  let synAck: Uint8Array | null = null;
  nat.deliver = (f) => {
    if (synAck === null) synAck = f.slice();
    else onFrame(f);
    return true;
  };
  const spec = { src: GUEST_ADDR, dst: GATEWAY_ADDR, srcPort: 40000, dstPort: port, seq: 1000, ack: 0, flags: TCP_SYN, window: 0xffff, mss: MSS, wscale: 7 };
  nat.send(buildTcpFrame(GATEWAY_MAC, guestMac, spec));
  while (synAck === null) await new Promise((r) => setTimeout(r, 1));
  const o = IPV4_PAYLOAD_OFFSET;
  const natSeq = seqAdd(rd32(synAck, o + 4), 1);
  const window = rd16(synAck, o + 14); // unscaled in a SYN-ACK
  return { nat, natSeq, window, spec: { ...spec, seq: 1001, ack: natSeq, flags: TCP_ACK, wscale: undefined, mss: undefined } };
}

async function guestToHost(): Promise<number> {
  let got = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const srv = await server((s) => s.on('data', (d) => (got += d.length) >= size && done()));
  let acked = 1001;
  let window = 0;
  const { nat, spec, window: first } = await handshake(srv.port, (f) => {
    acked = rd32(f, IPV4_PAYLOAD_OFFSET + 8);
    window = rd16(f, IPV4_PAYLOAD_OFFSET + 14) << 2; // the NAT's shift for a 256 KiB buffer
  });
  window = first;
  nat.send(buildTcpFrame(GATEWAY_MAC, guestMac, { ...spec, window: 0xffff }));
  const payload = Buffer.alloc(MSS, 0x42);
  const frames: Uint8Array[] = [];
  for (let off = 0; off < size; off += MSS) {
    frames.push(buildTcpFrame(GATEWAY_MAC, guestMac, { ...spec, seq: seqAdd(1001, off), window: 0xffff }, payload.subarray(0, Math.min(MSS, size - off))));
  }
  const t0 = performance.now();
  let k = 0;
  let next = 1001;
  while (k < frames.length) {
    // Send what the NAT's window allows, then let the event loop run (socket writes, ACKs).
    while (k < frames.length && ((next - acked) >>> 0) + MSS <= window) {
      nat.send(frames[k]!);
      next = seqAdd(next, Math.min(MSS, size - k * MSS));
      k++;
    }
    await new Promise((r) => setImmediate(r));
  }
  await finished;
  const ms = performance.now() - t0;
  await nat.close();
  srv.close();
  return size / MiB / (ms / 1000);
}

async function hostToGuest(): Promise<number> {
  const data = Buffer.alloc(size, 0x43);
  let t0 = 0;
  const srv = await server((s) => {
    t0 = performance.now();
    s.end(data);
  });
  let rcvNxt = 0;
  let got = 0;
  let ackQueued = false;
  let spec: Parameters<typeof buildTcpFrame>[2] | null = null;
  let nat: UserNetBackend | null = null;
  const o = IPV4_PAYLOAD_OFFSET;
  const h = await handshake(srv.port, (f) => {
    // Count in-order payload; one ACK per batch of delivered frames (as a guest's NAPI poll would).
    const hl = (f[o + 12]! >>> 4) * 4;
    const seq = rd32(f, o + 4);
    const len = f.length - o - hl;
    if (len > 0 && seq === rcvNxt) {
      rcvNxt = seqAdd(rcvNxt, len);
      got += len;
    }
    if (!ackQueued) {
      ackQueued = true;
      queueMicrotask(() => {
        ackQueued = false;
        nat!.send(buildTcpFrame(GATEWAY_MAC, guestMac, { ...spec!, ack: rcvNxt, window: 0xffff }));
      });
    }
  });
  nat = h.nat;
  spec = h.spec;
  rcvNxt = h.natSeq;
  nat.send(buildTcpFrame(GATEWAY_MAC, guestMac, { ...spec, window: 0xffff }));
  while (got < size) await new Promise((r) => setTimeout(r, 1));
  const ms = performance.now() - t0;
  await nat.close();
  srv.close();
  return size / MiB / (ms / 1000);
}

const base = await baseline();
const up = await guestToHost();
const down = await hostToGuest();
console.log(`loopback socket baseline:            ${base.toFixed(0)} MiB/s`);
console.log(`guest-to-host through the NAT:       ${up.toFixed(0)} MiB/s  (${(up / base).toFixed(2)} of baseline)`);
console.log(`host-to-guest through the NAT:       ${down.toFixed(0)} MiB/s  (${(down / base).toFixed(2)} of baseline)`);
