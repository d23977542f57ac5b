/**
 * UDP (RFC 768). A zero checksum means "none" (allowed over IPv4); any other
 * value is verified against the pseudo-header.
 */
import { checksum, pseudoSum } from './checksum.js';
import { IPPROTO_UDP, IPV4_PAYLOAD_OFFSET, allocIpv4Frame, type Ipv4Packet } from './ipv4.js';

/** Bytes of a UDP header. */
export const UDP_HLEN = 8;

/** A parsed UDP datagram; `payload` is a view trimmed to the UDP length. */
export interface UdpDatagram {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Uint8Array;
}

/** Why a UDP datagram was dropped. */
export type UdpDrop = 'udp-short' | 'udp-bad-length' | 'udp-bad-checksum';

/** Parses the UDP datagram in an IPv4 packet; never throws. */
export function parseUdp(ip: Ipv4Packet): UdpDatagram | UdpDrop {
  const p = ip.payload;
  if (p.length < UDP_HLEN) return 'udp-short';
  const length = (p[4]! << 8) | p[5]!;
  if (length < UDP_HLEN || length > p.length) return 'udp-bad-length';
  if ((p[6]! | p[7]!) !== 0 && checksum(p, 0, length, pseudoSum(ip.src, ip.dst, IPPROTO_UDP, length)) !== 0) {
    return 'udp-bad-checksum';
  }
  return { srcPort: (p[0]! << 8) | p[1]!, dstPort: (p[2]! << 8) | p[3]!, payload: p.subarray(UDP_HLEN, length) };
}

/** Where UDP's ports and addresses go in buildUdpFrame. */
export interface UdpEndpoints {
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
}

/** Builds a whole Ethernet frame carrying one UDP datagram, checksum included. */
export function buildUdpFrame(ethDst: Uint8Array, ethSrc: Uint8Array, e: UdpEndpoints, payload: Uint8Array): Uint8Array {
  const length = UDP_HLEN + payload.length;
  const f = allocIpv4Frame(ethDst, ethSrc, { src: e.src, dst: e.dst, proto: IPPROTO_UDP, payloadLength: length });
  const o = IPV4_PAYLOAD_OFFSET;
  f[o] = e.srcPort >>> 8;
  f[o + 1] = e.srcPort & 0xff;
  f[o + 2] = e.dstPort >>> 8;
  f[o + 3] = e.dstPort & 0xff;
  f[o + 4] = length >>> 8;
  f[o + 5] = length & 0xff;
  f.set(payload, o + UDP_HLEN);
  let sum = checksum(f, o, o + length, pseudoSum(e.src, e.dst, IPPROTO_UDP, length));
  if (sum === 0) sum = 0xffff; // 0 would mean "no checksum"
  f[o + 6] = sum >>> 8;
  f[o + 7] = sum & 0xff;
  return f;
}
