/**
 * Ethernet II framing (IEEE 802.3 with an EtherType). 802.3 length frames
 * (type < 0x600) and VLAN tags are not something our NATed guest sends; they
 * are dropped by reason.
 */

/** Bytes of an Ethernet II header: destination, source, EtherType. */
export const ETH_HLEN = 14;
/** EtherType of IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** EtherType of ARP. */
export const ETHERTYPE_ARP = 0x0806;
/** EtherType of IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;
/** Smallest EtherType value; below it the field is an 802.3 length. */
const ETHERTYPE_MIN = 0x0600;

/** The all-ones broadcast address. */
export const BROADCAST_MAC: Uint8Array = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** A parsed Ethernet header; the byte arrays are views into the frame. */
export interface EthFrame {
  readonly dst: Uint8Array;
  readonly src: Uint8Array;
  readonly type: number;
  readonly payload: Uint8Array;
}

/** Why an Ethernet frame was dropped. */
export type EthDrop = 'eth-short' | 'eth-8023';

/** Parses an Ethernet II header; never throws. */
export function parseEthernet(f: Uint8Array): EthFrame | EthDrop {
  if (f.length < ETH_HLEN) return 'eth-short';
  const type = (f[12]! << 8) | f[13]!;
  if (type < ETHERTYPE_MIN) return 'eth-8023';
  return { dst: f.subarray(0, 6), src: f.subarray(6, 12), type, payload: f.subarray(ETH_HLEN) };
}

/** Writes an Ethernet header at the start of buf. */
export function writeEthernet(buf: Uint8Array, dst: Uint8Array, src: Uint8Array, type: number): void {
  buf.set(dst.subarray(0, 6), 0);
  buf.set(src.subarray(0, 6), 6);
  buf[12] = type >>> 8;
  buf[13] = type & 0xff;
}

/** True when the group bit is set (broadcast or multicast). */
export function isGroupMac(mac: Uint8Array): boolean {
  return (mac[0]! & 1) === 1;
}

/** Six bytes as "52:54:00:12:34:56". */
export function macToString(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Parses "52:54:00:12:34:56" (or with '-'); throws on anything else. */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new Error(`${JSON.stringify(text)} is not a MAC address (expected six hex bytes like 52:54:00:12:34:56)`);
  }
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}

/** Byte-wise equality of two MAC addresses. */
export function macEquals(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}
