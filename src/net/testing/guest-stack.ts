/**
 * A scripted guest for backend tests: it plays the guest's TCP/IP stack on
 * the other side of a NetBackend, with frames built and parsed by proto/.
 * It checks what the backend sends (every frame must parse, checksums
 * included) and can play a full NIC (deliver() refusing) or a guest whose
 * receive queue drops frames.
 */
import type { NetBackend } from '../backend.js';
import { ARP_REQUEST, buildArpFrame, parseArp, type ArpPacket } from '../proto/arp.js';
import { BOOTREQUEST, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, buildDhcp, parseDhcp, type DhcpMessage } from '../proto/dhcp.js';
import { BROADCAST_MAC, ETHERTYPE_ARP, ETHERTYPE_IPV4, parseEthernet, parseMac } from '../proto/ethernet.js';
import { ICMP_ECHO_REQUEST, buildIcmpEchoFrame, parseIcmp, type IcmpMessage } from '../proto/icmp.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, ipToString, parseIpv4 } from '../proto/ipv4.js';
import { buildTcpFrame, parseTcp, seqAdd, TCP_ACK, TCP_RST, TCP_SYN } from '../proto/tcp.js';
import { buildUdpFrame, parseUdp } from '../proto/udp.js';
import { GATEWAY_MAC, GUEST_ADDR } from '../user/addresses.js';
import { GuestTcp, type GuestTcpOptions } from './guest-tcp.js';

/** A UDP datagram the guest received. */
export interface UdpIn {
  readonly src: number;
  readonly srcPort: number;
  readonly dst: number;
  readonly dstPort: number;
  readonly payload: Uint8Array;
}

/** The guest side of a test. */
export class GuestStack {
  readonly mac = parseMac('52:54:00:12:34:56');
  ip = GUEST_ADDR;
  /** Where the guest sends off-link packets (the gateway's MAC, as if learned by ARP). */
  routerMac: Uint8Array = GATEWAY_MAC;
  /** When true the NIC has no room: deliver() refuses. */
  full = false;
  /** When set and true for a frame, the guest's queue drops it after the NIC took it. */
  dropIf: ((frame: Uint8Array) => boolean) | null = null;
  readonly arpIn: ArpPacket[] = [];
  readonly udpIn: UdpIn[] = [];
  readonly icmpIn: IcmpMessage[] = [];
  readonly dhcpIn: DhcpMessage[] = [];
  /** TCP segments that matched no connection (e.g. resets for a refused SYN). */
  readonly strayTcp: Array<{ src: number; srcPort: number; dstPort: number; flags: number; ack: number }> = [];
  /** Frames that did not parse: must stay 0. */
  malformed: string[] = [];
  framesIn = 0;
  private readonly conns = new Map<string, GuestTcp>();
  private readonly listeners = new Map<number, { opts: GuestTcpOptions; accepted: GuestTcp[] }>();
  private nextPort = 40000;

  constructor(readonly backend: NetBackend) {
    backend.deliver = (f) => {
      if (this.full) return false;
      if (this.dropIf?.(f)) return true;
      this.receive(f);
      return true;
    };
  }

  /** Lets the NIC take frames again (or stop taking them). */
  setFull(full: boolean): void {
    this.full = full;
    if (!full) this.backend.resume();
  }

  /** Sends an ARP request for `tpa`. */
  arpRequest(tpa: number): void {
    this.backend.send(buildArpFrame(BROADCAST_MAC, ARP_REQUEST, this.mac, this.ip, new Uint8Array(6), tpa));
  }

  /** Sends a DHCP message from 0.0.0.0:68 to the broadcast address. */
  dhcp(xid: number, options: Array<readonly [number, Uint8Array]>, ciaddr = 0): void {
    const payload = buildDhcp({ op: BOOTREQUEST, xid, chaddr: this.mac, ciaddr, options });
    const e = { src: ciaddr, dst: ciaddr === 0 ? 0xffffffff : 0x0a000202, srcPort: DHCP_CLIENT_PORT, dstPort: DHCP_SERVER_PORT };
    this.backend.send(buildUdpFrame(ciaddr === 0 ? BROADCAST_MAC : this.routerMac, this.mac, e, payload));
  }

  /** Sends a UDP datagram. */
  udp(dst: number, dstPort: number, srcPort: number, payload: Uint8Array): void {
    this.backend.send(buildUdpFrame(this.routerMac, this.mac, { src: this.ip, dst, srcPort, dstPort }, payload));
  }

  /** Sends an ICMP echo request. */
  ping(dst: number, id: number, seq: number, data: Uint8Array): void {
    this.backend.send(buildIcmpEchoFrame(this.routerMac, this.mac, this.ip, dst, ICMP_ECHO_REQUEST, id, seq, data));
  }

  /** Opens a TCP connection to dst:port (the SYN goes out now). */
  connect(dst: number, port: number, opts: GuestTcpOptions = {}): GuestTcp {
    const local = this.nextPort++;
    const conn = new GuestTcp(this.segmentOut(local, dst, port), opts, local);
    this.conns.set(`${local}-${ipToString(dst)}:${port}`, conn);
    conn.connect();
    return conn;
  }

  /** Accepts connections to `port`; returns the list they are appended to. */
  listen(port: number, opts: GuestTcpOptions = {}): GuestTcp[] {
    const accepted: GuestTcp[] = [];
    this.listeners.set(port, { opts, accepted });
    return accepted;
  }

  private segmentOut(local: number, dst: number, port: number) {
    return (s: Parameters<ConstructorParameters<typeof GuestTcp>[0]>[0], payload?: Uint8Array) =>
      this.backend.send(buildTcpFrame(this.routerMac, this.mac, { ...s, src: this.ip, dst, srcPort: local, dstPort: port }, payload));
  }

  private receive(f: Uint8Array): void {
    this.framesIn++;
    const eth = parseEthernet(f);
    if (typeof eth === 'string') return void this.malformed.push(eth);
    if (eth.type === ETHERTYPE_ARP) {
      const a = parseArp(eth.payload);
      if (typeof a === 'string') return void this.malformed.push(a);
      return void this.arpIn.push(a);
    }
    if (eth.type !== ETHERTYPE_IPV4) return void this.malformed.push(`ethertype ${eth.type}`);
    const ip = parseIpv4(eth.payload);
    if (typeof ip === 'string') {
      // Fragments are legitimate from the NAT (large UDP); reassembly is not this stack's job.
      if (ip !== 'ipv4-fragment') this.malformed.push(ip);
      return;
    }
    if (ip.proto === IPPROTO_UDP) {
      const u = parseUdp(ip);
      if (typeof u === 'string') return void this.malformed.push(u);
      if (u.srcPort === DHCP_SERVER_PORT && u.dstPort === DHCP_CLIENT_PORT) {
        const m = parseDhcp(u.payload);
        if (typeof m === 'string') return void this.malformed.push(m);
        return void this.dhcpIn.push(m);
      }
      return void this.udpIn.push({ src: ip.src, srcPort: u.srcPort, dst: ip.dst, dstPort: u.dstPort, payload: u.payload.slice() });
    }
    if (ip.proto === IPPROTO_ICMP) {
      const m = parseIcmp(ip.payload);
      if (typeof m === 'string') return void this.malformed.push(m);
      return void this.icmpIn.push(m);
    }
    if (ip.proto !== IPPROTO_TCP) return void this.malformed.push(`proto ${ip.proto}`);
    const seg = parseTcp(ip);
    if (typeof seg === 'string') return void this.malformed.push(seg);
    const key = `${seg.dstPort}-${ipToString(ip.src)}:${seg.srcPort}`;
    let conn = this.conns.get(key);
    if (conn === undefined && (seg.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
      const l = this.listeners.get(seg.dstPort);
      if (l !== undefined) {
        conn = new GuestTcp(this.segmentOut(seg.dstPort, ip.src, seg.srcPort), l.opts, seg.dstPort);
        this.conns.set(key, conn);
        l.accepted.push(conn);
        conn.acceptSyn(seg);
        return;
      }
      // A closed port, as Linux answers it: RST, acknowledging the SYN.
      const rst = { seq: 0, ack: seqAdd(seg.seq, 1), flags: TCP_RST | TCP_ACK, window: 0 };
      this.backend.send(buildTcpFrame(this.routerMac, this.mac, { ...rst, src: this.ip, dst: ip.src, srcPort: seg.dstPort, dstPort: seg.srcPort }));
      return;
    }
    if (conn === undefined) return void this.strayTcp.push({ src: ip.src, srcPort: seg.srcPort, dstPort: seg.dstPort, flags: seg.flags, ack: seg.ack });
    conn.input(seg);
  }
}

/** Resolves once `cond` holds, polling; rejects after `ms` with `what` in the message. */
export async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Option value helper for tests: one byte. */
export function byteOption(code: number, v: number): readonly [number, Uint8Array] {
  return [code, new Uint8Array([v])];
}
