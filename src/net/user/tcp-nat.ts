/**
 * The table of the guest's TCP connections and their host sockets. A SYN
 * from the guest first connects a node:net socket to where the policy says;
 * only once that succeeds does the guest get its SYN-ACK (a refused connect
 * becomes a RST), so the guest sees the real outcome. Port forwards come in
 * through connectToGuest(), where the NAT is the client.
 */
import net from 'node:net';
import { inspect, type InspectNode } from '../../bus/device.js';
import { ipToString, type Ipv4Packet } from '../proto/ipv4.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, buildTcpFrame, seqAdd, type TcpSegment, type TcpSegmentSpec } from '../proto/tcp.js';
import { GATEWAY_ADDR, GATEWAY_MAC, GUEST_ADDR, PortAllocator, resolveOutbound } from './addresses.js';
import type { NatContext } from './context.js';
import { TcpConn } from './tcp-conn.js';
import { DEFAULT_TCP_TUNING, type TcpEnv, type TcpHost, type TcpTuning } from './tcp-types.js';

/** Bounds of the connection table. */
export interface TcpNatLimits {
  /** Connections at once (any state); SYNs beyond it are reset. */
  readonly maxConnections: number;
  /** How long a connect to the host may take before the guest gets a RST. */
  readonly connectTimeoutMs: number;
  /** Period of the timer that runs retransmissions. */
  readonly tickMs: number;
}

/** Defaults: a thousand connections, QEMU-like 30 s connect timeout. */
export const DEFAULT_TCP_LIMITS: TcpNatLimits = { maxConnections: 1024, connectTimeoutMs: 30_000, tickMs: 20 };

/** The guest's TCP connections. */
export class TcpNat {
  private readonly conns = new Map<string, TcpConn>();
  private readonly waiting = new Set<{ output(): void }>();
  private readonly soon = new Set<{ output(): void }>();
  private flushQueued = false;
  private ticker: NodeJS.Timeout | null = null;
  private readonly natPorts = new PortAllocator();
  private readonly env: TcpEnv;

  constructor(
    private readonly ctx: NatContext,
    tuning: TcpTuning = DEFAULT_TCP_TUNING,
    private readonly limits: TcpNatLimits = DEFAULT_TCP_LIMITS,
  ) {
    this.env = {
      counters: ctx.counters,
      tuning,
      now: () => ctx.now(),
      emit: (spec, payload) => this.emit(spec, payload),
      congested: () => ctx.egress.congested,
      waitDrain: (c) => this.waiting.add(c),
      scheduleOutput: (c) => this.scheduleOutput(c),
      closed: (c) => this.forget(c as TcpConn),
    };
  }

  /** A segment from the guest. */
  fromGuest(ip: Ipv4Packet, seg: TcpSegment): void {
    const conn = this.conns.get(keyOf(ip.src, seg.srcPort, ip.dst, seg.dstPort));
    if (conn !== undefined) return conn.segment(seg);
    if (seg.flags & TCP_RST) return this.ctx.counters.add('drop.tcp-rst-no-connection');
    if ((seg.flags & (TCP_SYN | TCP_ACK)) !== TCP_SYN) {
      this.ctx.counters.add('drop.tcp-no-connection');
      return this.refuse(ip, seg);
    }
    this.acceptSyn(ip, seg);
  }

  /** A host client of a port forward: the NAT connects to the guest's port for it. */
  connectToGuest(sock: net.Socket, guestPort: number): void {
    const natPort = this.natPorts.take((p) => this.conns.has(keyOf(GUEST_ADDR, guestPort, GATEWAY_ADDR, p)));
    if (natPort === null || this.conns.size >= this.limits.maxConnections) {
      this.ctx.counters.add('drop.tcp-connection-limit');
      sock.destroy();
      return;
    }
    this.ctx.counters.add('tcp.forwarded-in');
    const tuple = { guestIp: GUEST_ADDR, guestPort, remoteIp: GATEWAY_ADDR, remotePort: natPort };
    const conn = TcpConn.open(this.env, tuple, hostOf(sock));
    this.conns.set(keyOf(GUEST_ADDR, guestPort, GATEWAY_ADDR, natPort), conn);
    this.wire(conn, sock);
    this.startTicker();
    conn.connect();
  }

  /** The queue toward the guest drained: connections that held data send it. */
  onDrain(): void {
    const list = [...this.waiting];
    this.waiting.clear();
    for (const c of list) c.output();
  }

  /** Connections in the table. */
  get size(): number {
    return this.conns.size;
  }

  /** Tears down every connection and socket. */
  close(): void {
    for (const c of this.conns.values()) c.destroy();
    this.conns.clear();
    this.waiting.clear();
    this.soon.clear();
    this.stopTicker();
  }

  /** Connections and their numbers, for the inspect tree. */
  inspect(): InspectNode {
    const list: Record<string, InspectNode> = {};
    let shown = 0;
    for (const [key, c] of this.conns) {
      if (shown++ >= 64) break; // enough to see what is going on; the count says the rest
      list[key] = inspect.tree({ state: c.describe(), ...c.stats() });
    }
    return inspect.tree({ count: this.conns.size, connections: { children: list } });
  }

  private acceptSyn(ip: Ipv4Packet, seg: TcpSegment): void {
    const c = this.ctx.counters;
    if (this.conns.size >= this.limits.maxConnections) {
      c.add('drop.tcp-connection-limit');
      return this.refuse(ip, seg);
    }
    const out = resolveOutbound(this.ctx.policy, ip.dst, seg.dstPort);
    if ('refused' in out) {
      c.add(`drop.tcp-${out.refused}`);
      return this.refuse(ip, seg);
    }
    c.add('tcp.connects');
    const tuple = { guestIp: ip.src, guestPort: seg.srcPort, remoteIp: ip.dst, remotePort: seg.dstPort };
    const sock = net.connect({ host: out.to.host, port: out.to.port, allowHalfOpen: true });
    const conn = TcpConn.accept(this.env, tuple, seg, hostOf(sock));
    this.conns.set(keyOf(ip.src, seg.srcPort, ip.dst, seg.dstPort), conn);
    sock.setNoDelay(true);
    sock.setTimeout(this.limits.connectTimeoutMs, () => {
      if (conn.state !== 'connecting') return;
      sock.destroy();
      conn.hostGone('ETIMEDOUT');
    });
    sock.once('connect', () => {
      sock.setTimeout(0);
      conn.hostConnected();
    });
    this.wire(conn, sock);
    this.startTicker();
  }

  private wire(conn: TcpConn, sock: net.Socket): void {
    let code = 'closed';
    sock.on('data', (chunk: Buffer) => conn.hostData(chunk));
    sock.on('end', () => conn.hostEnd());
    sock.on('drain', () => conn.hostDrained());
    sock.on('error', (e: NodeJS.ErrnoException) => (code = e.code ?? 'error'));
    sock.on('close', () => conn.hostGone(code));
  }

  // RFC 9293 3.10.7.1: the reset for a segment that belongs to no connection.
  private refuse(ip: Ipv4Packet, seg: TcpSegment): void {
    const ack = (seg.flags & TCP_ACK) !== 0;
    const len = seg.payload.length + (seg.flags & TCP_SYN ? 1 : 0) + (seg.flags & TCP_FIN ? 1 : 0);
    this.emit({
      src: ip.dst,
      dst: ip.src,
      srcPort: seg.dstPort,
      dstPort: seg.srcPort,
      seq: ack ? seg.ack : 0,
      ack: ack ? 0 : seqAdd(seg.seq, len),
      flags: ack ? TCP_RST : TCP_RST | TCP_ACK,
      window: 0,
    });
  }

  private emit(spec: TcpSegmentSpec, payload?: Uint8Array): void {
    this.ctx.toGuest((mac) => buildTcpFrame(mac, GATEWAY_MAC, spec, payload));
  }

  private scheduleOutput(c: { output(): void }): void {
    this.soon.add(c);
    if (this.flushQueued) return;
    this.flushQueued = true;
    // A microtask runs after the NIC's current batch of transmitted frames: one ACK per batch.
    queueMicrotask(() => {
      this.flushQueued = false;
      const list = [...this.soon];
      this.soon.clear();
      for (const x of list) x.output();
    });
  }

  private forget(c: TcpConn): void {
    const t = c.tuple;
    const key = keyOf(t.guestIp, t.guestPort, t.remoteIp, t.remotePort);
    if (this.conns.get(key) === c) this.conns.delete(key);
    this.waiting.delete(c);
    this.soon.delete(c);
    this.ctx.counters.add('tcp.closed');
    if (this.conns.size === 0) this.stopTicker();
  }

  private startTicker(): void {
    if (this.ticker !== null) return;
    this.ticker = setInterval(() => {
      const now = this.ctx.now();
      for (const c of [...this.conns.values()]) c.tick(now);
    }, this.limits.tickMs);
    this.ticker.unref();
  }

  private stopTicker(): void {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
  }
}

function keyOf(guestIp: number, guestPort: number, remoteIp: number, remotePort: number): string {
  return `${ipToString(guestIp)}:${guestPort}-${ipToString(remoteIp)}:${remotePort}`;
}

function hostOf(sock: net.Socket): TcpHost {
  let corked = false;
  return {
    write: (d) => {
      // One writev per batch of guest segments instead of a system call per 1460 bytes.
      if (!corked) {
        corked = true;
        sock.cork();
        queueMicrotask(() => {
          corked = false;
          sock.uncork();
        });
      }
      sock.write(d);
    },
    get pending() {
      return sock.writableLength;
    },
    end: () => void sock.end(),
    abort: (reset) => void (reset ? sock.resetAndDestroy() : sock.destroy()),
    pause: () => void sock.pause(),
    resume: () => void sock.resume(),
  };
}
