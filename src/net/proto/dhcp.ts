/**
 * DHCP messages (RFC 2131) in their BOOTP envelope (RFC 951), with options
 * (RFC 2132). Only Ethernet clients exist on our link, and plain BOOTP
 * without the magic cookie is not served.
 */
import { readAddr, writeAddr } from './ipv4.js';

/** UDP port of DHCP servers. */
export const DHCP_SERVER_PORT = 67;
/** UDP port of DHCP clients. */
export const DHCP_CLIENT_PORT = 68;
/** BOOTP op: client to server. */
export const BOOTREQUEST = 1;
/** BOOTP op: server to client. */
export const BOOTREPLY = 2;
/** Fixed part of a BOOTP message, up to and including the magic cookie. */
const FIXED_LEN = 240;
/** RFC 2131: the smallest message a client must accept (BOOTP's 300 bytes). */
const MIN_MESSAGE = 300;
const MAGIC_COOKIE = 0x63825363;
/** The BOOTP flags bit asking for a broadcast reply. */
export const DHCP_FLAG_BROADCAST = 0x8000;

/** DHCP message types (option 53). */
export const DhcpType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

/** DHCP option codes the server reads or writes. */
export const DhcpOpt = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  BROADCAST: 28,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAM_LIST: 55,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  CLIENT_ID: 61,
  END: 255,
} as const;

/** A parsed DHCP message. */
export interface DhcpMessage {
  readonly op: number;
  readonly xid: number;
  readonly secs: number;
  readonly flags: number;
  readonly ciaddr: number;
  readonly yiaddr: number;
  readonly siaddr: number;
  readonly giaddr: number;
  /** The client's hardware address (a view, 6 bytes). */
  readonly chaddr: Uint8Array;
  /** Options by code; an option given several times is concatenated (RFC 3396). */
  readonly options: ReadonlyMap<number, Uint8Array>;
  /** Option 53, or undefined for a plain BOOTP message. */
  readonly messageType: number | undefined;
}

/** Why a DHCP message was dropped. */
export type DhcpDrop = 'dhcp-short' | 'dhcp-not-ethernet' | 'dhcp-no-cookie' | 'dhcp-bad-options';

/** Parses a DHCP message (the UDP payload); never throws. */
export function parseDhcp(p: Uint8Array): DhcpMessage | DhcpDrop {
  if (p.length < FIXED_LEN) return 'dhcp-short';
  if (p[1] !== 1 || p[2] !== 6) return 'dhcp-not-ethernet';
  if (readAddr(p, 236) !== MAGIC_COOKIE) return 'dhcp-no-cookie';
  const options = new Map<number, Uint8Array>();
  for (let i = FIXED_LEN; i < p.length; ) {
    const code = p[i]!;
    if (code === DhcpOpt.END) break;
    if (code === DhcpOpt.PAD) {
      i++;
      continue;
    }
    if (i + 1 >= p.length) return 'dhcp-bad-options';
    const len = p[i + 1]!;
    if (i + 2 + len > p.length) return 'dhcp-bad-options';
    const value = p.subarray(i + 2, i + 2 + len);
    const prev = options.get(code);
    options.set(code, prev === undefined ? value : concat(prev, value));
    i += 2 + len;
  }
  const mt = options.get(DhcpOpt.MESSAGE_TYPE);
  return {
    op: p[0]!,
    xid: readAddr(p, 4),
    secs: (p[8]! << 8) | p[9]!,
    flags: (p[10]! << 8) | p[11]!,
    ciaddr: readAddr(p, 12),
    yiaddr: readAddr(p, 16),
    siaddr: readAddr(p, 20),
    giaddr: readAddr(p, 24),
    chaddr: p.subarray(28, 34),
    options,
    messageType: mt !== undefined && mt.length === 1 ? mt[0] : undefined,
  };
}

/** The fields of a DHCP message to build. */
export interface DhcpMessageSpec {
  op: number;
  xid: number;
  flags?: number;
  ciaddr?: number;
  yiaddr?: number;
  siaddr?: number;
  giaddr?: number;
  chaddr: Uint8Array;
  /** Options in order; values longer than 255 bytes are split (RFC 3396). */
  options: ReadonlyArray<readonly [code: number, value: Uint8Array]>;
}

/** Builds a DHCP message (the UDP payload), padded to the 300 bytes every client accepts. */
export function buildDhcp(m: DhcpMessageSpec): Uint8Array {
  let optLen = 1; // END
  for (const [, v] of m.options) optLen += Math.max(1, Math.ceil(v.length / 255)) * 2 + v.length;
  const out = new Uint8Array(Math.max(MIN_MESSAGE, FIXED_LEN + optLen));
  out[0] = m.op;
  out[1] = 1;
  out[2] = 6;
  writeAddr(out, 4, m.xid);
  out[10] = ((m.flags ?? 0) >>> 8) & 0xff;
  out[11] = (m.flags ?? 0) & 0xff;
  writeAddr(out, 12, m.ciaddr ?? 0);
  writeAddr(out, 16, m.yiaddr ?? 0);
  writeAddr(out, 20, m.siaddr ?? 0);
  writeAddr(out, 24, m.giaddr ?? 0);
  out.set(m.chaddr.subarray(0, 6), 28);
  writeAddr(out, 236, MAGIC_COOKIE);
  let i = FIXED_LEN;
  for (const [code, v] of m.options) {
    let off = 0;
    do {
      const n = Math.min(255, v.length - off);
      out[i] = code;
      out[i + 1] = n;
      out.set(v.subarray(off, off + n), i + 2);
      i += 2 + n;
      off += n;
    } while (off < v.length);
  }
  out[i] = DhcpOpt.END;
  return out;
}

/** An option value holding IPv4 addresses. */
export function addrOption(...addrs: number[]): Uint8Array {
  const v = new Uint8Array(addrs.length * 4);
  addrs.forEach((a, k) => writeAddr(v, k * 4, a));
  return v;
}

/** An option value holding one 32-bit number (lease times). */
export function u32Option(n: number): Uint8Array {
  return addrOption(n >>> 0);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
