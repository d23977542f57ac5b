/**
 * Guest UDP onto host datagram sockets. One socket per guest source port
 * (endpoint-independent mapping, as most NATs), which accepts replies only
 * from the endpoints the guest has sent to (address- and port-dependent
 * filtering), so an unsolicited sender cannot reach the guest. DNS queries to
 * 10.0.2.3:53 get their own sockets, whose replies appear to come from
 * 10.0.2.3:53. Sockets close after an idle timeout; past the cap the least
 * recently used one is closed.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { ipToString, type Ipv4Packet } from '../proto/ipv4.js';
import type { UdpDatagram } from '../proto/udp.js';
import { inspect, type InspectNode } from '../../bus/device.js';
import { DNS_ADDR, guestViewOf, resolveOutbound } from './addresses.js';
import type { NatContext } from './context.js';
import { RCODE_REFUSED, RCODE_SERVFAIL, dnsErrorReply } from './dns.js';

/** Bounds on the UDP mappings. */
export interface UdpLimits {
  /** Sockets open at once. */
  readonly maxFlows: number;
  /** A mapping closes after this long without a datagram either way. */
  readonly idleMs: number;
  /** The same for DNS mappings, which see one query and one answer. */
  readonly dnsIdleMs: number;
  /** Remote endpoints remembered per mapping for filtering replies. */
  readonly maxPeers: number;
}

/** QEMU-like defaults: a minute of idleness, a few hundred sockets. */
export const DEFAULT_UDP_LIMITS: UdpLimits = { maxFlows: 256, idleMs: 60_000, dnsIdleMs: 15_000, maxPeers: 64 };

interface Flow {
  readonly key: string;
  readonly guestIp: number;
  readonly guestPort: number;
  readonly dns: boolean;
  readonly socket: dgram.Socket;
  readonly peers: Set<string>;
  lastUsed: number;
}

/** The guest's outbound UDP. */
export class UdpNat {
  private readonly flows = new Map<string, Flow>(); // in least-recently-used order
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly ctx: NatContext,
    private readonly limits: UdpLimits = DEFAULT_UDP_LIMITS,
  ) {}

  /** A datagram from the guest to anywhere but the NAT's own services. */
  fromGuest(ip: Ipv4Packet, udp: UdpDatagram): void {
    const c = this.ctx.counters;
    const dns = ip.dst === DNS_ADDR && udp.dstPort === 53;
    const out = resolveOutbound(this.ctx.policy, ip.dst, udp.dstPort);
    if ('refused' in out) {
      c.add(`drop.udp-${out.refused}`);
      if (dns) this.answerDnsLocally(ip, udp, out.refused === 'restricted' ? RCODE_REFUSED : RCODE_SERVFAIL);
      return;
    }
    const flow = this.flowFor(ip.src, udp.srcPort, dns, isIPv6(out.to.host));
    if (!dns && flow.peers.size >= this.limits.maxPeers) flow.peers.delete(flow.peers.values().next().value!);
    if (!dns) flow.peers.add(`${out.to.host}:${out.to.port}`);
    c.add('udp.tx-datagrams');
    // Copied: the frame may be a view of guest memory the NIC reuses once send() returns.
    flow.socket.send(Buffer.from(udp.payload), out.to.port, out.to.host, (err) => {
      if (err) c.add('udp.send-errors');
    });
  }

  /** Open mappings. */
  get size(): number {
    return this.flows.size;
  }

  /** Closes every socket. */
  close(): void {
    for (const f of this.flows.values()) f.socket.close();
    this.flows.clear();
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  /** The mappings, for the inspect tree. */
  inspect(): InspectNode {
    const flows: Record<string, InspectNode> = {};
    for (const f of this.flows.values()) {
      flows[f.key] = inspect.tree({ peers: f.peers.size, idleMs: Math.round(this.ctx.now() - f.lastUsed) });
    }
    return inspect.tree({ count: this.flows.size, flows: { children: flows } });
  }

  private flowFor(guestIp: number, guestPort: number, dns: boolean, v6: boolean): Flow {
    const key = `${dns ? 'dns ' : ''}${ipToString(guestIp)}:${guestPort}`;
    let flow = this.flows.get(key);
    if (flow !== undefined) {
      this.flows.delete(key); // re-inserted below: most recently used last
    } else {
      if (this.flows.size >= this.limits.maxFlows) this.evictOldest();
      const socket = dgram.createSocket(v6 ? 'udp6' : 'udp4');
      flow = { key, guestIp, guestPort, dns, socket, peers: new Set(), lastUsed: 0 };
      const f = flow;
      socket.on('message', (msg, rinfo) => this.fromHost(f, msg, rinfo));
      socket.on('error', () => {
        this.ctx.counters.add('udp.socket-errors');
        this.drop(f);
      });
      this.ctx.counters.add('udp.sockets-opened');
      this.startSweeper();
    }
    flow.lastUsed = this.ctx.now();
    this.flows.set(key, flow);
    return flow;
  }

  private fromHost(f: Flow, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const c = this.ctx.counters;
    let src: number | null;
    let srcPort = rinfo.port;
    if (f.dns) {
      src = DNS_ADDR;
      srcPort = 53;
      const up = this.ctx.policy.dns;
      if (up === null || rinfo.port !== up.port) src = null;
    } else {
      src = f.peers.has(`${rinfo.address}:${rinfo.port}`) ? guestViewOf(rinfo.address) : null;
    }
    if (src === null) {
      c.add('drop.udp-unsolicited');
      return;
    }
    f.lastUsed = this.ctx.now();
    c.add('udp.rx-datagrams');
    this.ctx.udpToGuest(src, srcPort, f.guestIp, f.guestPort, msg);
  }

  private answerDnsLocally(ip: Ipv4Packet, udp: UdpDatagram, rcode: number): void {
    const reply = dnsErrorReply(udp.payload, rcode);
    if (reply !== null) this.ctx.udpToGuest(ip.dst, 53, ip.src, udp.srcPort, reply);
  }

  private evictOldest(): void {
    const oldest = this.flows.values().next().value;
    if (oldest !== undefined) {
      this.ctx.counters.add('udp.evicted');
      this.drop(oldest);
    }
  }

  private drop(f: Flow): void {
    if (this.flows.get(f.key) !== f) return;
    this.flows.delete(f.key);
    try {
      f.socket.close();
    } catch {
      // already closed by an error
    }
  }

  private startSweeper(): void {
    if (this.sweeper !== null) return;
    const period = Math.max(50, Math.min(this.limits.idleMs, this.limits.dnsIdleMs) / 4);
    this.sweeper = setInterval(() => {
      const now = this.ctx.now();
      for (const f of [...this.flows.values()]) {
        if (now - f.lastUsed >= (f.dns ? this.limits.dnsIdleMs : this.limits.idleMs)) {
          this.ctx.counters.add('udp.idle-closed');
          this.drop(f);
        }
      }
      if (this.flows.size === 0 && this.sweeper !== null) {
        clearInterval(this.sweeper);
        this.sweeper = null;
      }
    }, period);
    this.sweeper.unref();
  }
}
