/**
 * What the parts of the user-mode NAT (DHCP, UDP, TCP, port forwards) share:
 * counters, the queue toward the guest, and the guest's link address.
 */
import type { Counters } from '../counters.js';
import type { Egress } from './egress.js';
import type { NatPolicy } from './addresses.js';

/** The shared state every NAT part is given. */
export interface NatContext {
  readonly counters: Counters;
  readonly egress: Egress;
  readonly policy: NatPolicy;
  /**
   * Sends a frame built for the guest's MAC. Before the guest has sent
   * anything its MAC is unknown: the NAT asks by ARP and the frame is
   * dropped (TCP retransmits; nothing else is sent to a silent guest).
   * Returns false when nothing was queued.
   */
  toGuest(build: (guestMac: Uint8Array) => Uint8Array): boolean;
  /** Sends a UDP datagram to the guest from src:srcPort, fragmented when it exceeds the MTU. */
  udpToGuest(src: number, srcPort: number, dst: number, dstPort: number, payload: Uint8Array): void;
  /** Monotonic milliseconds, for timers (injectable in tests). */
  now(): number;
}
