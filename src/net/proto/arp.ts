/**
 * ARP for IPv4 over Ethernet (RFC 826). Only the Ethernet/IPv4 form exists
 * on our link; any other hardware or protocol type is dropped.
 */
import { ETH_HLEN, ETHERTYPE_ARP, writeEthernet } from './ethernet.js';
import { readAddr, writeAddr } from './ipv4.js';

/** ARP opcode: who has tpa? */
export const ARP_REQUEST = 1;
/** ARP opcode: spa is at sha. */
export const ARP_REPLY = 2;
/** Bytes of an Ethernet/IPv4 ARP packet. */
export const ARP_LEN = 28;

/** A parsed ARP packet; hardware addresses are views into the frame. */
export interface ArpPacket {
  readonly op: number;
  readonly sha: Uint8Array;
  readonly spa: number;
  readonly tha: Uint8Array;
  readonly tpa: number;
}

/** Why an ARP packet was dropped. */
export type ArpDrop = 'arp-short' | 'arp-not-ethernet-ipv4';

/** Parses an ARP packet (the Ethernet payload); never throws. */
export function parseArp(p: Uint8Array): ArpPacket | ArpDrop {
  if (p.length < ARP_LEN) return 'arp-short';
  const htype = (p[0]! << 8) | p[1]!;
  const ptype = (p[2]! << 8) | p[3]!;
  if (htype !== 1 || ptype !== 0x0800 || p[4] !== 6 || p[5] !== 4) return 'arp-not-ethernet-ipv4';
  return {
    op: (p[6]! << 8) | p[7]!,
    sha: p.subarray(8, 14),
    spa: readAddr(p, 14),
    tha: p.subarray(18, 24),
    tpa: readAddr(p, 24),
  };
}

/** Builds a whole Ethernet frame carrying one ARP packet. */
export function buildArpFrame(ethDst: Uint8Array, op: number, sha: Uint8Array, spa: number, tha: Uint8Array, tpa: number): Uint8Array {
  const f = new Uint8Array(ETH_HLEN + ARP_LEN);
  writeEthernet(f, ethDst, sha, ETHERTYPE_ARP);
  const p = f.subarray(ETH_HLEN);
  p.set([0, 1, 0x08, 0x00, 6, 4, 0, op]);
  p.set(sha.subarray(0, 6), 8);
  writeAddr(p, 14, spa);
  p.set(tha.subarray(0, 6), 18);
  writeAddr(p, 24, tpa);
  return f;
}
