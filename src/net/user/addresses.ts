/**
 * The user-mode network's addressing (QEMU's convention, DESIGN.md) and the
 * one policy deciding where a guest's outbound packet may go.
 *
 * DEVNOTE: every outbound TCP connect and UDP send goes through
 * resolveOutbound(), so the sandbox rules (no host loopback unless asked,
 * never 127/8, nothing at all with `restrict`) live in one place.
 */
import { inSubnet, ipToString, parseIp } from '../proto/ipv4.js';

/** The virtual network, 10.0.2.0/24. */
export const NET_ADDR = 0x0a000200;
/** Prefix length of the virtual network. */
export const NET_PREFIX = 24;
/** 255.255.255.0 as a number. */
export const NETMASK = 0xffffff00;
/** The subnet's broadcast address, 10.0.2.255. */
export const NET_BROADCAST = 0x0a0002ff;
/** The gateway: the NAT itself, and the host's loopback with `hostLoopback`. */
export const GATEWAY_ADDR = 0x0a000202;
/** The DNS forwarder. */
export const DNS_ADDR = 0x0a000203;
/**
 * The address the DHCP server gives the guest, 10.0.2.15: vm/config.ts
 * states it too (GUEST_USER_NET_ADDR, for users); a test keeps the two
 * equal, since net/ does not import vm/ at run time.
 */
export const GUEST_ADDR = 0x0a00020f;
/** 255.255.255.255. */
export const LIMITED_BROADCAST = 0xffffffff;
/** The MAC of the gateway and DNS hosts (QEMU's: 52:55 then the gateway address). */
export const GATEWAY_MAC: Uint8Array = new Uint8Array([0x52, 0x55, 0x0a, 0x00, 0x02, 0x02]);
/** 127.0.0.1, where `hostLoopback` sends the gateway's traffic. */
const HOST_LOOPBACK = '127.0.0.1';

/** A host-side address and port. */
export interface HostEndpoint {
  readonly host: string;
  readonly port: number;
}

/** What the guest is allowed to reach. */
export interface NatPolicy {
  /** 10.0.2.2 reaches the host's 127.0.0.1. */
  readonly hostLoopback: boolean;
  /** No outbound traffic at all (port forwards still work). */
  readonly restrict: boolean;
  /** Where DNS queries to 10.0.2.3:53 go, or null when the host has no resolver. */
  readonly dns: HostEndpoint | null;
}

/** Where an outbound packet goes on the host, or why it may not. */
export type Outbound = { readonly to: HostEndpoint } | { readonly refused: string };

/** Decides where a guest's packet to dst:port (proto "tcp" or "udp") goes on the host. */
export function resolveOutbound(policy: NatPolicy, dst: number, port: number): Outbound {
  if (policy.restrict) return { refused: 'restricted' };
  if (dst === GATEWAY_ADDR) {
    return policy.hostLoopback ? { to: { host: HOST_LOOPBACK, port } } : { refused: 'no-host-loopback' };
  }
  if (dst === DNS_ADDR) {
    if (port !== 53) return { refused: 'dns-port' };
    return policy.dns !== null ? { to: policy.dns } : { refused: 'no-dns-upstream' };
  }
  if (inSubnet(dst, NET_ADDR, NET_PREFIX)) return { refused: 'virtual-net' };
  // 0/8 "this network", 127/8 the host's own loopback, 224/4 multicast and 240/4 reserved + broadcast.
  const first = dst >>> 24;
  if (first === 0 || first === 127 || first >= 224) return { refused: 'bad-destination' };
  if (port === 0) return { refused: 'port-zero' };
  return { to: { host: ipToString(dst), port } };
}

/** Maps a host address replies come from back to what the guest sees (127.0.0.1 is the gateway); null if not IPv4. */
export function guestViewOf(hostAddr: string): number | null {
  const a = parseIp(hostAddr);
  if (a === null) return null;
  return a >>> 24 === 127 ? GATEWAY_ADDR : a;
}

/** Ports the NAT uses as its own on 10.0.2.2 for port forwards; handed out round-robin, skipping ones in use. */
export class PortAllocator {
  private next: number;

  /** Ports from `first` to `last` inclusive. */
  constructor(
    private readonly first = 49152,
    private readonly last = 65535,
  ) {
    this.next = first;
  }

  /** A port for which inUse() is false, or null when every one is taken. */
  take(inUse: (port: number) => boolean): number | null {
    const span = this.last - this.first + 1;
    for (let k = 0; k < span; k++) {
      const p = this.next;
      this.next = p === this.last ? this.first : p + 1;
      if (!inUse(p)) return p;
    }
    return null;
  }
}
