/**
 * IPv4 (RFC 791). Addresses are unsigned 32-bit numbers (10.0.2.15 is
 * 0x0a00020f): cheap to compare and to use as map keys. Options are skipped,
 * fragments are dropped (our guest's MTU matches the link; the NAT does not
 * reassemble), and the header checksum is verified.
 */
import { checksum } from './checksum.js';
import { ETH_HLEN, ETHERTYPE_IPV4, writeEthernet } from './ethernet.js';

/** Bytes of an IPv4 header without options. */
export const IPV4_HLEN = 20;
/** IP protocol number of ICMP. */
export const IPPROTO_ICMP = 1;
/** IP protocol number of TCP. */
export const IPPROTO_TCP = 6;
/** IP protocol number of UDP. */
export const IPPROTO_UDP = 17;
/** TTL of packets the NAT originates (Linux's default). */
export const DEFAULT_TTL = 64;

/** A parsed IPv4 header; `payload` is a view trimmed to the total length (Ethernet padding removed). */
export interface Ipv4Packet {
  readonly src: number;
  readonly dst: number;
  readonly proto: number;
  readonly ttl: number;
  readonly id: number;
  readonly payload: Uint8Array;
}

/** Why an IPv4 packet was dropped. */
export type Ipv4Drop =
  | 'ipv4-short'
  | 'ipv4-version'
  | 'ipv4-bad-header-length'
  | 'ipv4-bad-total-length'
  | 'ipv4-bad-checksum'
  | 'ipv4-fragment';

/** Parses an IPv4 packet (the Ethernet payload); never throws. */
export function parseIpv4(p: Uint8Array): Ipv4Packet | Ipv4Drop {
  if (p.length < IPV4_HLEN) return 'ipv4-short';
  if (p[0]! >>> 4 !== 4) return 'ipv4-version';
  const hlen = (p[0]! & 0x0f) * 4;
  if (hlen < IPV4_HLEN || hlen > p.length) return 'ipv4-bad-header-length';
  const total = (p[2]! << 8) | p[3]!;
  if (total < hlen || total > p.length) return 'ipv4-bad-total-length';
  if (checksum(p, 0, hlen) !== 0) return 'ipv4-bad-checksum';
  // More-fragments set, or a non-zero offset: one piece of a fragmented datagram.
  if ((((p[6]! << 8) | p[7]!) & 0x3fff) !== 0) return 'ipv4-fragment';
  return {
    src: readAddr(p, 12),
    dst: readAddr(p, 16),
    proto: p[9]!,
    ttl: p[8]!,
    id: (p[4]! << 8) | p[5]!,
    payload: p.subarray(hlen, total),
  };
}

/** What writeIpv4Header needs. */
export interface Ipv4HeaderSpec {
  src: number;
  dst: number;
  proto: number;
  /** Length of what follows the header. */
  payloadLength: number;
  id?: number;
  ttl?: number;
}

/** Writes a 20-byte header (Don't Fragment set, checksum computed) at buf[off]. */
export function writeIpv4Header(buf: Uint8Array, off: number, h: Ipv4HeaderSpec): void {
  const total = IPV4_HLEN + h.payloadLength;
  const id = h.id ?? 0;
  buf[off] = 0x45;
  buf[off + 1] = 0;
  buf[off + 2] = total >>> 8;
  buf[off + 3] = total & 0xff;
  buf[off + 4] = (id >>> 8) & 0xff;
  buf[off + 5] = id & 0xff;
  buf[off + 6] = 0x40; // DF: we never fragment and Linux does PMTU discovery
  buf[off + 7] = 0;
  buf[off + 8] = h.ttl ?? DEFAULT_TTL;
  buf[off + 9] = h.proto;
  buf[off + 10] = 0;
  buf[off + 11] = 0;
  writeAddr(buf, off + 12, h.src);
  writeAddr(buf, off + 16, h.dst);
  const sum = checksum(buf, off, off + IPV4_HLEN);
  buf[off + 10] = sum >>> 8;
  buf[off + 11] = sum & 0xff;
}

/** Reads a big-endian address at buf[off]. */
export function readAddr(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

/** Writes a big-endian address at buf[off]. */
export function writeAddr(buf: Uint8Array, off: number, a: number): void {
  buf[off] = a >>> 24;
  buf[off + 1] = (a >>> 16) & 0xff;
  buf[off + 2] = (a >>> 8) & 0xff;
  buf[off + 3] = a & 0xff;
}

/** 0x0a00020f as "10.0.2.15". */
export function ipToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** "10.0.2.15" as 0x0a00020f, or null if it is not a dotted-quad IPv4 address. */
export function parseIp(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((n) => n > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** True when a is inside net/prefixLength. */
export function inSubnet(a: number, net: number, prefixLength: number): boolean {
  if (prefixLength === 0) return true;
  const mask = (0xffffffff << (32 - prefixLength)) >>> 0;
  return ((a & mask) >>> 0) === ((net & mask) >>> 0);
}

/** Allocates an Ethernet frame holding an IPv4 header and room for `payloadLength` bytes after it (at IPV4_PAYLOAD_OFFSET). */
export function allocIpv4Frame(ethDst: Uint8Array, ethSrc: Uint8Array, h: Ipv4HeaderSpec): Uint8Array {
  const f = new Uint8Array(ETH_HLEN + IPV4_HLEN + h.payloadLength);
  writeEthernet(f, ethDst, ethSrc, ETHERTYPE_IPV4);
  writeIpv4Header(f, ETH_HLEN, h);
  return f;
}

/** Where the transport header starts in a frame made by allocIpv4Frame. */
export const IPV4_PAYLOAD_OFFSET = ETH_HLEN + IPV4_HLEN;

/** The Ethernet MTU our guests have: IPv4 packets to them are at most this long. */
export const LINK_MTU = 1500;

/**
 * Splits a frame from allocIpv4Frame whose IPv4 packet is longer than `mtu`
 * into fragments (RFC 791), with identification `id`; returns [frame] when
 * it fits. The NAT sends whole datagrams from host sockets, so this is the
 * only way a large UDP reply (DNS with EDNS) reaches the guest.
 */
export function fragmentFrame(frame: Uint8Array, id: number, mtu = LINK_MTU): Uint8Array[] {
  const ipLen = frame.length - ETH_HLEN;
  if (ipLen <= mtu) return [frame];
  const chunk = Math.floor((mtu - IPV4_HLEN) / 8) * 8;
  const payload = frame.subarray(IPV4_PAYLOAD_OFFSET);
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += chunk) {
    const n = Math.min(chunk, payload.length - off);
    const f = new Uint8Array(IPV4_PAYLOAD_OFFSET + n);
    f.set(frame.subarray(0, IPV4_PAYLOAD_OFFSET));
    f.set(payload.subarray(off, off + n), IPV4_PAYLOAD_OFFSET);
    writeIpv4Header(f, ETH_HLEN, { src: readAddr(frame, 26), dst: readAddr(frame, 30), proto: frame[23]!, payloadLength: n, id, ttl: frame[22]! });
    const more = off + n < payload.length ? 0x2000 : 0;
    const field = more | (off / 8);
    f[ETH_HLEN + 6] = field >>> 8; // replaces DF: fragments never carry it
    f[ETH_HLEN + 7] = field & 0xff;
    f[ETH_HLEN + 10] = f[ETH_HLEN + 11] = 0;
    const sum = checksum(f, ETH_HLEN, ETH_HLEN + IPV4_HLEN);
    f[ETH_HLEN + 10] = sum >>> 8;
    f[ETH_HLEN + 11] = sum & 0xff;
    out.push(f);
  }
  return out;
}
