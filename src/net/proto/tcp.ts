/**
 * TCP segments (RFC 9293). Options read: MSS, window scale and
 * SACK-permitted (noted, never used); the rest (timestamps, SACK blocks) are
 * skipped. Sequence numbers are unsigned 32-bit numbers; compare them with
 * seqLt/seqLe, which wrap.
 */
import { checksum, pseudoSum } from './checksum.js';
import { IPPROTO_TCP, IPV4_PAYLOAD_OFFSET, allocIpv4Frame, type Ipv4Packet } from './ipv4.js';

/** Bytes of a TCP header without options. */
export const TCP_HLEN = 20;
/** TCP flag: no more data from the sender. */
export const TCP_FIN = 0x01;
/** TCP flag: synchronise sequence numbers. */
export const TCP_SYN = 0x02;
/** TCP flag: reset the connection. */
export const TCP_RST = 0x04;
/** TCP flag: push. */
export const TCP_PSH = 0x08;
/** TCP flag: the acknowledgment field is significant. */
export const TCP_ACK = 0x10;
/** TCP flag: urgent pointer significant (ignored by the NAT). */
export const TCP_URG = 0x20;

const OPT_EOL = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;
const OPT_WSCALE = 3;
const OPT_SACK_PERMITTED = 4;
/** RFC 7323: a shift above 14 is treated as 14. */
const MAX_WSCALE = 14;

/** A parsed TCP segment; `payload` is a view into the frame. */
export interface TcpSegment {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  /** The raw (unscaled) window field. */
  readonly window: number;
  /** MSS option, if present (only meaningful on SYN). */
  readonly mss: number | undefined;
  /** Window-scale shift option, if present (only meaningful on SYN), capped at 14. */
  readonly wscale: number | undefined;
  readonly sackPermitted: boolean;
  readonly payload: Uint8Array;
}

/** Why a TCP segment was dropped. */
export type TcpDrop = 'tcp-short' | 'tcp-bad-header-length' | 'tcp-bad-checksum' | 'tcp-bad-options';

/** Parses the TCP segment in an IPv4 packet, verifying its checksum; never throws. */
export function parseTcp(ip: Ipv4Packet): TcpSegment | TcpDrop {
  const p = ip.payload;
  if (p.length < TCP_HLEN) return 'tcp-short';
  const hlen = (p[12]! >>> 4) * 4;
  if (hlen < TCP_HLEN || hlen > p.length) return 'tcp-bad-header-length';
  if (checksum(p, 0, p.length, pseudoSum(ip.src, ip.dst, IPPROTO_TCP, p.length)) !== 0) return 'tcp-bad-checksum';
  let mss: number | undefined;
  let wscale: number | undefined;
  let sackPermitted = false;
  for (let i = TCP_HLEN; i < hlen; ) {
    const kind = p[i]!;
    if (kind === OPT_EOL) break;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= hlen) return 'tcp-bad-options';
    const len = p[i + 1]!;
    if (len < 2 || i + len > hlen) return 'tcp-bad-options';
    if (kind === OPT_MSS && len === 4) mss = (p[i + 2]! << 8) | p[i + 3]!;
    else if (kind === OPT_WSCALE && len === 3) wscale = Math.min(p[i + 2]!, MAX_WSCALE);
    else if (kind === OPT_SACK_PERMITTED && len === 2) sackPermitted = true;
    i += len;
  }
  return {
    srcPort: (p[0]! << 8) | p[1]!,
    dstPort: (p[2]! << 8) | p[3]!,
    seq: ((p[4]! << 24) | (p[5]! << 16) | (p[6]! << 8) | p[7]!) >>> 0,
    ack: ((p[8]! << 24) | (p[9]! << 16) | (p[10]! << 8) | p[11]!) >>> 0,
    flags: p[13]! & 0x3f,
    window: (p[14]! << 8) | p[15]!,
    mss,
    wscale,
    sackPermitted,
    payload: p.subarray(hlen),
  };
}

/** The header fields of a segment to build. */
export interface TcpSegmentSpec {
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** The raw window field (already scaled down by the sender's shift). */
  window: number;
  /** MSS option to include (SYN only). */
  mss?: number;
  /** Window-scale option to include (SYN only). */
  wscale?: number;
}

/** Builds a whole Ethernet frame carrying one TCP segment, checksum included. */
export function buildTcpFrame(ethDst: Uint8Array, ethSrc: Uint8Array, s: TcpSegmentSpec, payload?: Uint8Array): Uint8Array {
  const optLen = (s.mss !== undefined ? 4 : 0) + (s.wscale !== undefined ? 4 : 0);
  const hlen = TCP_HLEN + optLen;
  const dataLen = payload?.length ?? 0;
  const segLen = hlen + dataLen;
  const f = allocIpv4Frame(ethDst, ethSrc, { src: s.src, dst: s.dst, proto: IPPROTO_TCP, payloadLength: segLen });
  const o = IPV4_PAYLOAD_OFFSET;
  put16(f, o, s.srcPort);
  put16(f, o + 2, s.dstPort);
  put32(f, o + 4, s.seq);
  put32(f, o + 8, s.ack);
  f[o + 12] = (hlen / 4) << 4;
  f[o + 13] = s.flags;
  put16(f, o + 14, Math.min(s.window, 0xffff));
  let q = o + TCP_HLEN;
  if (s.mss !== undefined) {
    f[q] = OPT_MSS;
    f[q + 1] = 4;
    put16(f, q + 2, s.mss);
    q += 4;
  }
  if (s.wscale !== undefined) {
    f[q] = OPT_NOP;
    f[q + 1] = OPT_WSCALE;
    f[q + 2] = 3;
    f[q + 3] = s.wscale;
    q += 4;
  }
  if (payload !== undefined) f.set(payload, q);
  const sum = checksum(f, o, o + segLen, pseudoSum(s.src, s.dst, IPPROTO_TCP, segLen));
  put16(f, o + 16, sum);
  return f;
}

/** a < b in sequence space (mod 2^32). */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** a <= b in sequence space (mod 2^32). */
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** a + n in sequence space. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** b - a in sequence space, as a signed distance. */
export function seqDiff(b: number, a: number): number {
  return (b - a) | 0;
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
