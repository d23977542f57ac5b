/**
 * The user-mode network backend: a NAT in the VMM process that needs no
 * privileges (QEMU's "user" networking, as libslirp). It plays every host on
 * the guest's 10.0.2.0/24: the gateway 10.0.2.2 (ARP, ping, DHCP server,
 * and the host's loopback with `hostLoopback`) and the DNS forwarder
 * 10.0.2.3; the guest's TCP and UDP to anywhere else become host sockets
 * (tcp-nat.ts, udp-nat.ts) under one policy (addresses.ts).
 *
 * Frames from the guest are untrusted: every malformed one is dropped and
 * counted by reason (inspect → counters → drop.*); send() never throws.
 */
import type { FrameSink, NetBackend } from '../backend.js';
import { inspect, type InspectNode } from '../../bus/device.js';
import { RateLimitedLog, stderrSink, type LogSink } from '../../bus/log.js';
import type { HostFwdConfig } from '../../vm/config.js';
import { Counters } from '../counters.js';
import { ARP_REPLY, ARP_REQUEST, buildArpFrame, parseArp } from '../proto/arp.js';
import { DHCP_SERVER_PORT, parseDhcp } from '../proto/dhcp.js';
import {
  BROADCAST_MAC,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  isGroupMac,
  macEquals,
  macToString,
  parseEthernet,
} from '../proto/ethernet.js';
import { ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, buildIcmpEchoFrame, parseIcmp } from '../proto/icmp.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, fragmentFrame, parseIpv4, type Ipv4Packet } from '../proto/ipv4.js';
import { parseTcp } from '../proto/tcp.js';
import { buildUdpFrame, parseUdp } from '../proto/udp.js';
import { DNS_ADDR, GATEWAY_ADDR, GATEWAY_MAC, GUEST_ADDR, LIMITED_BROADCAST, NET_BROADCAST, type NatPolicy } from './addresses.js';
import type { NatContext } from './context.js';
import { DhcpServer } from './dhcp-server.js';
import { hostDnsServer, parseDnsServer } from './dns.js';
import { DEFAULT_EGRESS_LIMITS, Egress, type EgressLimits } from './egress.js';
import { HostForwards } from './hostfwd.js';
import { DEFAULT_TCP_LIMITS, TcpNat, type TcpNatLimits } from './tcp-nat.js';
import { DEFAULT_TCP_TUNING, type TcpTuning } from './tcp-types.js';
import { DEFAULT_UDP_LIMITS, UdpNat, type UdpLimits } from './udp-nat.js';

/** How to build a user-mode network. */
export interface UserNetOptions {
  readonly hostfwd?: readonly HostFwdConfig[];
  /** 10.0.2.2 reaches the host's 127.0.0.1. */
  readonly hostLoopback?: boolean;
  /** No outbound traffic (port forwards still work). */
  readonly restrict?: boolean;
  /** Upstream resolver "ip[:port]"; default the first nameserver of /etc/resolv.conf; null for none. */
  readonly dns?: string | null;
  readonly tcp?: Partial<TcpTuning>;
  readonly tcpLimits?: Partial<TcpNatLimits>;
  readonly udp?: Partial<UdpLimits>;
  readonly egress?: Partial<EgressLimits>;
  /** Where diagnostics go (default stderr). */
  readonly log?: LogSink;
  /** Clock in ms, for timers (default performance.now). */
  readonly now?: () => number;
}

/** The user-mode NAT backend. */
export class UserNetBackend implements NetBackend {
  private readonly counters = new Counters();
  private readonly egress: Egress;
  private readonly ctx: NatContext;
  private readonly policy: NatPolicy;
  private readonly dhcp: DhcpServer;
  private readonly udp: UdpNat;
  private readonly tcp: TcpNat;
  private readonly fwd: HostForwards;
  private readonly log: RateLimitedLog;
  private guestMac: Uint8Array | null = null;
  private lastArpAsk = -Infinity;
  private ipId = 1;
  private closed = false;

  /** Validates the options (throws one line for a bad DNS server or forward address); start() opens the listeners. */
  constructor(opts: UserNetOptions = {}) {
    const now = opts.now ?? (() => performance.now());
    this.policy = {
      hostLoopback: opts.hostLoopback ?? false,
      restrict: opts.restrict ?? false,
      dns: opts.dns === undefined ? hostDnsServer() : opts.dns === null ? null : parseDnsServer(opts.dns),
    };
    this.log = new RateLimitedLog(opts.log ?? stderrSink);
    this.egress = new Egress(this.counters, { ...DEFAULT_EGRESS_LIMITS, ...opts.egress });
    this.ctx = {
      counters: this.counters,
      egress: this.egress,
      policy: this.policy,
      now,
      toGuest: (build) => this.toGuest(build),
      udpToGuest: (src, srcPort, dst, dstPort, payload) => this.udpToGuest(src, srcPort, dst, dstPort, payload),
    };
    this.dhcp = new DhcpServer(this.counters);
    this.udp = new UdpNat(this.ctx, { ...DEFAULT_UDP_LIMITS, ...opts.udp });
    this.tcp = new TcpNat(this.ctx, { ...DEFAULT_TCP_TUNING, ...opts.tcp }, { ...DEFAULT_TCP_LIMITS, ...opts.tcpLimits });
    this.fwd = new HostForwards(this.ctx, this.tcp, opts.hostfwd ?? [], opts.udp?.idleMs);
    this.egress.onDrain = () => this.tcp.onDrain();
  }

  /** Set by the NIC; frames queued before it was set are delivered right after. */
  get deliver(): FrameSink | null {
    return this.egress.deliver;
  }

  set deliver(sink: FrameSink | null) {
    this.egress.deliver = sink;
    if (sink !== null) queueMicrotask(() => this.egress.flush());
  }

  /** Opens the port-forward listeners; rejects with one line (e.g. "hostfwd tcp:127.0.0.1:8080-:80: the host port is already in use"). */
  start(): Promise<void> {
    return this.fwd.start();
  }

  /** A frame from the guest. Never throws. */
  send(frame: Uint8Array): void {
    if (this.closed) return;
    try {
      this.input(frame);
    } catch (e) {
      // A bug of ours, never the guest's doing: count it, say it, keep the VM running.
      this.counters.add('internal-errors');
      this.log.warn('user-net-internal', () => `user network: dropped a frame after an internal error: ${(e as Error).stack ?? String(e)}`);
    }
  }

  /** The NIC has room again. */
  resume(): void {
    this.egress.resume();
  }

  /** Closes every socket and listener. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tcp.close();
    this.udp.close();
    this.egress.clear();
    await this.fwd.close();
  }

  /** Policy, guest address, queue, connections and counters. */
  inspect(): InspectNode {
    return inspect.tree({
      mode: 'user',
      guestMac: this.guestMac === null ? null : macToString(this.guestMac),
      hostLoopback: this.policy.hostLoopback,
      restrict: this.policy.restrict,
      dns: this.policy.dns === null ? null : `${this.policy.dns.host}:${this.policy.dns.port}`,
      rxQueue: inspect.tree({ frames: this.egress.length, blocked: this.egress.isBlocked }),
      tcp: this.tcp.inspect(),
      udp: this.udp.inspect(),
      hostfwd: this.fwd.inspect(),
      counters: this.counters.node(),
    });
  }

  private input(frame: Uint8Array): void {
    const c = this.counters;
    c.add('tx-frames');
    const eth = parseEthernet(frame);
    if (typeof eth === 'string') return c.add(`drop.${eth}`);
    if (isGroupMac(eth.src)) return c.add('drop.eth-group-source');
    if (this.guestMac === null || !macEquals(this.guestMac, eth.src)) this.guestMac = eth.src.slice();
    if (!isGroupMac(eth.dst) && !macEquals(eth.dst, GATEWAY_MAC)) return c.add('drop.eth-not-for-us');
    switch (eth.type) {
      case ETHERTYPE_ARP:
        return this.onArp(eth.payload);
      case ETHERTYPE_IPV4:
        return this.onIpv4(eth.payload);
      case ETHERTYPE_IPV6:
        return c.add('drop.ipv6'); // the guest's router solicitations and MLD: no IPv6 here
      default:
        return c.add('drop.ethertype');
    }
  }

  private onArp(p: Uint8Array): void {
    const arp = parseArp(p);
    if (typeof arp === 'string') return this.counters.add(`drop.${arp}`);
    // Only requests for the NAT's own hosts are answered: never for the guest's address (its duplicate-address probe).
    if (arp.op !== ARP_REQUEST || (arp.tpa !== GATEWAY_ADDR && arp.tpa !== DNS_ADDR)) return this.counters.add('arp.ignored');
    this.counters.add('arp.replies');
    this.egress.push(buildArpFrame(arp.sha, ARP_REPLY, GATEWAY_MAC, arp.tpa, arp.sha, arp.spa));
  }

  private onIpv4(p: Uint8Array): void {
    const c = this.counters;
    const ip = parseIpv4(p);
    if (typeof ip === 'string') return c.add(`drop.${ip}`);
    switch (ip.proto) {
      case IPPROTO_TCP: {
        const seg = parseTcp(ip);
        if (typeof seg === 'string') return c.add(`drop.${seg}`);
        if (isBroadcast(ip.dst)) return c.add('drop.tcp-broadcast');
        return this.tcp.fromGuest(ip, seg);
      }
      case IPPROTO_UDP:
        return this.onUdp(ip);
      case IPPROTO_ICMP:
        return this.onIcmp(ip);
      default:
        return c.add('drop.ip-protocol');
    }
  }

  private onUdp(ip: Ipv4Packet): void {
    const c = this.counters;
    const udp = parseUdp(ip);
    if (typeof udp === 'string') return c.add(`drop.${udp}`);
    if (udp.dstPort === DHCP_SERVER_PORT && (ip.dst === LIMITED_BROADCAST || ip.dst === GATEWAY_ADDR)) {
      const m = parseDhcp(udp.payload);
      if (typeof m === 'string') return c.add(`drop.${m}`);
      const reply = this.dhcp.handle(m);
      if (reply !== null) this.egress.push(reply);
      return;
    }
    if (this.fwd.fromGuestUdp(ip, udp)) return;
    if (isBroadcast(ip.dst)) return c.add('drop.udp-broadcast');
    this.udp.fromGuest(ip, udp);
  }

  private onIcmp(ip: Ipv4Packet): void {
    const m = parseIcmp(ip.payload);
    if (typeof m === 'string') return this.counters.add(`drop.${m}`);
    if (m.type !== ICMP_ECHO_REQUEST) return this.counters.add('drop.icmp-type');
    // Only the NAT's own hosts answer: a real ping would need a raw or ICMP socket.
    if (ip.dst !== GATEWAY_ADDR && ip.dst !== DNS_ADDR) return this.counters.add('drop.icmp-echo-elsewhere');
    this.counters.add('icmp.echo-replies');
    this.toGuest((mac) => buildIcmpEchoFrame(mac, GATEWAY_MAC, ip.dst, ip.src, ICMP_ECHO_REPLY, m.id, m.seq, m.data));
  }

  private toGuest(build: (mac: Uint8Array) => Uint8Array): boolean {
    if (this.closed) return false;
    if (this.guestMac === null) {
      this.counters.add('drop.guest-mac-unknown');
      const now = this.ctx.now();
      if (now - this.lastArpAsk >= 1000) {
        this.lastArpAsk = now;
        this.egress.push(buildArpFrame(BROADCAST_MAC, ARP_REQUEST, GATEWAY_MAC, GATEWAY_ADDR, new Uint8Array(6), GUEST_ADDR));
      }
      return false;
    }
    return this.egress.push(build(this.guestMac));
  }

  private udpToGuest(src: number, srcPort: number, dst: number, dstPort: number, payload: Uint8Array): void {
    const id = this.ipId;
    this.ipId = (this.ipId + 1) & 0xffff || 1;
    this.toGuest((mac) => {
      const frames = fragmentFrame(buildUdpFrame(mac, GATEWAY_MAC, { src, dst, srcPort, dstPort }, payload), id);
      for (let k = 0; k < frames.length - 1; k++) this.egress.push(frames[k]!);
      return frames[frames.length - 1]!;
    });
  }
}

function isBroadcast(a: number): boolean {
  return a === LIMITED_BROADCAST || a === NET_BROADCAST || a >>> 28 === 0xe;
}
