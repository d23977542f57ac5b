/**
 * ICMP (RFC 792): the NAT only answers echo requests addressed to its own
 * virtual hosts, so parsing stops at type, code and the echo fields.
 */
import { checksum } from './checksum.js';
import { IPPROTO_ICMP, IPV4_PAYLOAD_OFFSET, allocIpv4Frame } from './ipv4.js';

/** ICMP type: echo reply. */
export const ICMP_ECHO_REPLY = 0;
/** ICMP type: echo request. */
export const ICMP_ECHO_REQUEST = 8;
/** Bytes of the ICMP header (type, code, checksum, and 4 bytes of rest-of-header). */
export const ICMP_HLEN = 8;

/** A parsed ICMP message; `data` follows the 8-byte header. */
export interface IcmpMessage {
  readonly type: number;
  readonly code: number;
  /** Identifier and sequence number: meaningful for echo messages. */
  readonly id: number;
  readonly seq: number;
  readonly data: Uint8Array;
}

/** Why an ICMP message was dropped. */
export type IcmpDrop = 'icmp-short' | 'icmp-bad-checksum';

/** Parses an ICMP message (the IPv4 payload); never throws. */
export function parseIcmp(p: Uint8Array): IcmpMessage | IcmpDrop {
  if (p.length < ICMP_HLEN) return 'icmp-short';
  if (checksum(p, 0, p.length) !== 0) return 'icmp-bad-checksum';
  return {
    type: p[0]!,
    code: p[1]!,
    id: (p[4]! << 8) | p[5]!,
    seq: (p[6]! << 8) | p[7]!,
    data: p.subarray(ICMP_HLEN),
  };
}

/** Builds a whole Ethernet frame carrying an ICMP echo request or reply. */
export function buildIcmpEchoFrame(
  ethDst: Uint8Array,
  ethSrc: Uint8Array,
  src: number,
  dst: number,
  type: number,
  id: number,
  seq: number,
  data: Uint8Array,
): Uint8Array {
  const f = allocIpv4Frame(ethDst, ethSrc, { src, dst, proto: IPPROTO_ICMP, payloadLength: ICMP_HLEN + data.length });
  const o = IPV4_PAYLOAD_OFFSET;
  f[o] = type;
  f[o + 1] = 0;
  f[o + 4] = id >>> 8;
  f[o + 5] = id & 0xff;
  f[o + 6] = seq >>> 8;
  f[o + 7] = seq & 0xff;
  f.set(data, o + ICMP_HLEN);
  const sum = checksum(f, o, f.length);
  f[o + 2] = sum >>> 8;
  f[o + 3] = sum & 0xff;
  return f;
}
