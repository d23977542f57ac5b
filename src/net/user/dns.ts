/**
 * DNS at 10.0.2.3: where queries go (the upstream resolver) and the local
 * answers when they may not go anywhere (REFUSED under `restrict`, SERVFAIL
 * when the host has no resolver), so the guest fails at once instead of
 * waiting out its resolver's timeout. The forwarding itself is plain UDP
 * (udp-nat.ts) and TCP (tcp-nat.ts) relaying: the NAT does not parse
 * answers.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { HostEndpoint } from './addresses.js';

/** DNS response code: the server failed. */
export const RCODE_SERVFAIL = 2;
/** DNS response code: the server refuses to answer. */
export const RCODE_REFUSED = 5;
const DNS_HLEN = 12;

/** The first `nameserver` line of a resolv.conf text, or null. */
export function firstNameserver(resolvConf: string): string | null {
  for (const line of resolvConf.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m !== null && isIP(m[1]!.replace(/%.*$/, '')) !== 0) return m[1]!.replace(/%.*$/, '');
  }
  return null;
}

/** The host's resolver from /etc/resolv.conf, or null when there is none. */
export function hostDnsServer(path = '/etc/resolv.conf'): HostEndpoint | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const host = firstNameserver(text);
  return host === null ? null : { host, port: 53 };
}

/** Parses "1.2.3.4", "1.2.3.4:5353", "::1" or "[::1]:5353"; throws one line for anything else. */
export function parseDnsServer(spec: string): HostEndpoint {
  const bad = () => new Error(`DNS server ${JSON.stringify(spec)} is not an address (expected 1.2.3.4, 1.2.3.4:53 or [::1]:53)`);
  let host = spec;
  let port = 53;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec);
  const v4 = /^([^:]+):(\d+)$/.exec(spec);
  if (v6 !== null) {
    host = v6[1]!;
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else if (v4 !== null) {
    host = v4[1]!;
    port = Number(v4[2]);
  }
  if (isIP(host) === 0 || !(port >= 1 && port <= 65535)) throw bad();
  return { host, port };
}

/** A reply to `query` carrying only its question and `rcode`, or null when the query is not well formed. */
export function dnsErrorReply(query: Uint8Array, rcode: number): Uint8Array | null {
  if (query.length < DNS_HLEN || (query[2]! & 0x80) !== 0) return null; // too short, or already a response
  const qdcount = (query[4]! << 8) | query[5]!;
  let i = DNS_HLEN;
  for (let q = 0; q < qdcount; q++) {
    const end = skipName(query, i);
    if (end < 0 || end + 4 > query.length) return null;
    i = end + 4;
  }
  const out = query.slice(0, i);
  out[2] = 0x80 | (query[2]! & 0x79); // QR, keep opcode and RD
  out[3] = 0x80 | rcode; // RA
  out.fill(0, 6, 12); // no answer, authority or additional records
  return out;
}

// Returns the offset after a (possibly compressed) name, or -1 if malformed.
function skipName(b: Uint8Array, i: number): number {
  for (let labels = 0; labels < 128 && i < b.length; labels++) {
    const len = b[i]!;
    if (len === 0) return i + 1;
    if ((len & 0xc0) === 0xc0) return i + 2 <= b.length ? i + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    i += 1 + len;
  }
  return -1;
}
