/**
 * The DHCP server of the user-mode network (RFC 2131): one client, one
 * address. Every DISCOVER gets an OFFER of 10.0.2.15, a REQUEST for it gets
 * an ACK and a REQUEST for anything else a NAK, so a guest that remembers
 * an old lease moves to the right one. Works with busybox udhcpc, which
 * reads replies on a raw socket, and with the kernel's ip=dhcp.
 */
import {
  BOOTREPLY,
  BOOTREQUEST,
  DHCP_CLIENT_PORT,
  DHCP_FLAG_BROADCAST,
  DHCP_SERVER_PORT,
  DhcpOpt,
  DhcpType,
  addrOption,
  buildDhcp,
  u32Option,
  type DhcpMessage,
} from '../proto/dhcp.js';
import { BROADCAST_MAC } from '../proto/ethernet.js';
import { readAddr } from '../proto/ipv4.js';
import { buildUdpFrame } from '../proto/udp.js';
import type { Counters } from '../counters.js';
import {
  DNS_ADDR,
  GATEWAY_ADDR,
  GATEWAY_MAC,
  GUEST_ADDR,
  LIMITED_BROADCAST,
  NETMASK,
  NET_BROADCAST,
} from './addresses.js';

/** Lease length: a day, renewed at half (the client's default T1). */
export const LEASE_SECONDS = 86400;

/** Answers the guest's DHCP messages. */
export class DhcpServer {
  constructor(private readonly counters: Counters) {}

  /** Returns the reply frame for a client message, or null when none is due. */
  handle(m: DhcpMessage): Uint8Array | null {
    if (m.op !== BOOTREQUEST) return this.ignore('not-request');
    switch (m.messageType) {
      case DhcpType.DISCOVER:
        return this.reply(m, DhcpType.OFFER);
      case DhcpType.REQUEST: {
        const serverId = m.options.get(DhcpOpt.SERVER_ID);
        // The client picked another server's offer (there is none here, but be exact).
        if (serverId !== undefined && (serverId.length !== 4 || readAddr(serverId, 0) !== GATEWAY_ADDR)) {
          return this.ignore('other-server');
        }
        const req = m.options.get(DhcpOpt.REQUESTED_IP);
        const wanted = req !== undefined && req.length === 4 ? readAddr(req, 0) : m.ciaddr;
        return this.reply(m, wanted === GUEST_ADDR ? DhcpType.ACK : DhcpType.NAK);
      }
      case DhcpType.INFORM:
        return this.reply(m, DhcpType.ACK);
      case DhcpType.RELEASE:
      case DhcpType.DECLINE:
        this.counters.add(`dhcp.${m.messageType === DhcpType.RELEASE ? 'release' : 'decline'}`);
        return null;
      default:
        return this.ignore('unknown-type');
    }
  }

  private ignore(why: string): null {
    this.counters.add(`drop.dhcp-${why}`);
    return null;
  }

  private reply(m: DhcpMessage, type: number): Uint8Array {
    this.counters.add(`dhcp.${type === DhcpType.OFFER ? 'offer' : type === DhcpType.ACK ? 'ack' : 'nak'}`);
    const options: Array<readonly [number, Uint8Array]> = [
      [DhcpOpt.MESSAGE_TYPE, new Uint8Array([type])],
      [DhcpOpt.SERVER_ID, addrOption(GATEWAY_ADDR)],
    ];
    if (type !== DhcpType.NAK) {
      if (m.messageType !== DhcpType.INFORM) {
        // RFC 2131 4.3.5: no lease times in an answer to INFORM.
        options.push(
          [DhcpOpt.LEASE_TIME, u32Option(LEASE_SECONDS)],
          [DhcpOpt.RENEWAL_TIME, u32Option(LEASE_SECONDS / 2)],
          [DhcpOpt.REBINDING_TIME, u32Option((LEASE_SECONDS * 7) / 8)],
        );
      }
      options.push(
        [DhcpOpt.SUBNET_MASK, addrOption(NETMASK)],
        [DhcpOpt.ROUTER, addrOption(GATEWAY_ADDR)],
        [DhcpOpt.DNS, addrOption(DNS_ADDR)],
        [DhcpOpt.BROADCAST, addrOption(NET_BROADCAST)],
      );
    }
    const payload = buildDhcp({
      op: BOOTREPLY,
      xid: m.xid,
      flags: m.flags,
      ciaddr: m.messageType === DhcpType.INFORM ? m.ciaddr : 0,
      yiaddr: type === DhcpType.NAK || m.messageType === DhcpType.INFORM ? 0 : GUEST_ADDR,
      siaddr: GATEWAY_ADDR,
      chaddr: m.chaddr,
      options,
    });
    // RFC 2131 4.1: a client with an address gets a unicast; one without gets
    // the limited broadcast, at its own MAC unless it asked for a broadcast.
    const hasAddr = m.ciaddr !== 0 && type !== DhcpType.NAK;
    const ipDst = hasAddr ? m.ciaddr : LIMITED_BROADCAST;
    const macDst = !hasAddr && (m.flags & DHCP_FLAG_BROADCAST) !== 0 ? BROADCAST_MAC : m.chaddr;
    return buildUdpFrame(
      macDst,
      GATEWAY_MAC,
      { src: GATEWAY_ADDR, dst: ipDst, srcPort: DHCP_SERVER_PORT, dstPort: DHCP_CLIENT_PORT },
      payload,
    );
  }
}
