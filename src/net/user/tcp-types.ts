/**
 * The shapes a TCP connection of the NAT is built from: its host end, its
 * tuning, what it needs from the connection table, and its name.
 */
import type { Counters } from '../counters.js';
import type { TcpSegmentSpec } from '../proto/tcp.js';

/** Where a connection stands (the FIN states are derived: see TcpConn.describe). */
export type TcpState = 'connecting' | 'syn-sent' | 'syn-received' | 'established' | 'time-wait' | 'closed';

/** The host end of a connection (a net.Socket in tcp-nat.ts, a fake in tests). */
export interface TcpHost {
  /** Bytes for the host peer (the connection does not touch them again). */
  write(data: Uint8Array): void;
  /** Bytes written and not yet taken by the host peer: what shrinks the window we advertise. */
  readonly pending: number;
  /** No more data from the guest (half-close). */
  end(): void;
  /** Tears the host end down; `reset` makes the host peer see a RST. */
  abort(reset: boolean): void;
  pause(): void;
  resume(): void;
}

/** Sizes and timers of every connection. */
export interface TcpTuning {
  /** Largest segment we send and the MSS we advertise (MTU 1500 less 40). */
  readonly mss: number;
  /** Bytes read from the host and not yet acknowledged by the guest before the host socket is paused. */
  readonly sendBuffer: number;
  /** Bytes from the guest the host has not taken yet before our window closes. */
  readonly recvBuffer: number;
  /** First retransmission timeout; doubles per timeout up to rtoMaxMs. */
  readonly rtoMs: number;
  readonly rtoMaxMs: number;
  /** Timeouts in a row without progress before the connection is reset. */
  readonly maxRetries: number;
  /** How long a connection we closed first lingers to re-acknowledge a repeated FIN. */
  readonly timeWaitMs: number;
}

/** Defaults sized for a local link: quarter-megabyte buffers, a 200 ms first timeout. */
export const DEFAULT_TCP_TUNING: TcpTuning = {
  mss: 1460,
  sendBuffer: 256 * 1024,
  recvBuffer: 256 * 1024,
  rtoMs: 200,
  rtoMaxMs: 5000,
  maxRetries: 10,
  timeWaitMs: 2000,
};

/** What a connection needs from its table. */
export interface TcpEnv {
  readonly counters: Counters;
  readonly tuning: TcpTuning;
  now(): number;
  /** Sends a segment to the guest. */
  emit(spec: TcpSegmentSpec, payload?: Uint8Array): void;
  /** True when the queue toward the guest is backed up. */
  congested(): boolean;
  /** Calls output() on the connection once the queue toward the guest drains. */
  waitDrain(conn: { output(): void }): void;
  /** Calls output() on the connection soon (after the current batch of guest frames), so ACKs coalesce. */
  scheduleOutput(conn: { output(): void }): void;
  /** The connection is over; forget it. */
  closed(conn: unknown): void;
}

/** The four numbers naming a connection, as the guest sees them. */
export interface TcpTuple {
  readonly guestIp: number;
  readonly guestPort: number;
  readonly remoteIp: number;
  readonly remotePort: number;
}

/** The window-scale shift that lets `bytes` fit the 16-bit window field. */
export function ourShift(bytes: number): number {
  let s = 0;
  while (bytes >>> s > 0xffff && s < 14) s++;
  return s;
}
