/**
 * The NAT-to-guest half of a TCP connection: bytes taken from the host and
 * not yet acknowledged, the guest's window, FIN, and the retransmission and
 * zero-window-probe timers. TcpConn owns one and tells it what the guest
 * acknowledged; fill() decides what goes out next.
 */
import { seqAdd, seqDiff, seqLt } from '../proto/tcp.js';
import { ByteQueue } from './byte-queue.js';
import type { TcpTuning } from './tcp-types.js';

/** Where SendSide.fill() puts segments. */
export interface SendSink {
  /** A data segment at `seq`; `last` when it empties the buffer (PSH). */
  data(seq: number, payload: Uint8Array, last: boolean): void;
  /** Our FIN at `seq`. */
  fin(seq: number): void;
  /** True (and arranges a later call) when the queue toward the guest is backed up. */
  blocked(): boolean;
}

/** What an ACK from the guest did. */
export type AckResult = 'advanced' | 'same' | 'fast-retransmit' | 'unsent';

/** Sequence space and buffers of the data we send the guest. */
export class SendSide {
  readonly iss = (Math.random() * 0x1_0000_0000) >>> 0;
  /** Oldest unacknowledged, next to send, highest ever sent. */
  una: number;
  nxt: number;
  max: number;
  /** The guest's window in bytes (already scaled), its raw field last seen, and its shift. */
  wnd = 0;
  lastRawWnd = -1;
  shift = 0;
  mss = 536; // RFC 9293's default when the guest sends no MSS option
  /** The host peer has ended: a FIN follows the data. */
  hostEof = false;
  finSent = false;
  finSeq = -1;
  finAcked = false;
  /** Retransmission timeout, consecutive timeouts, and the deadlines (0 = off). */
  rto: number;
  retries = 0;
  rtoAt = 0;
  persistAt = 0;
  private persistMs = 0;
  private dupAcks = 0;
  bytesSent = 0;
  retransmits = 0;
  private readonly buf = new ByteQueue();
  private bufSeq: number; // sequence number of buf's first byte

  constructor(private readonly tuning: TcpTuning) {
    this.una = this.nxt = this.max = this.iss;
    this.bufSeq = seqAdd(this.iss, 1);
    this.rto = tuning.rtoMs;
  }

  /** Bytes held (read from the host, not yet acknowledged). */
  get buffered(): number {
    return this.buf.length;
  }

  /** Bytes sent and not acknowledged (SYN and FIN count one each). */
  get inflight(): number {
    return seqDiff(this.nxt, this.una);
  }

  /** Appends data from the host. */
  push(chunk: Uint8Array): void {
    this.buf.push(chunk);
  }

  /** Our SYN went out (first time or again). */
  synSent(): void {
    this.nxt = seqAdd(this.iss, 1);
    if (seqLt(this.max, this.nxt)) this.max = this.nxt;
  }

  /** The guest acknowledged our SYN. */
  synAcked(): void {
    this.una = seqAdd(this.iss, 1);
    if (seqLt(this.nxt, this.una)) this.nxt = this.una;
    this.retries = 0;
    this.rto = this.tuning.rtoMs;
    this.rtoAt = 0;
  }

  /** Takes the ACK field and window of a guest segment; `pure` when it carried no data, SYN or FIN. */
  onAck(ack: number, rawWindow: number, pure: boolean): AckResult {
    if (seqLt(this.max, ack)) return 'unsent';
    let result: AckResult = 'same';
    if (seqLt(this.una, ack)) {
      this.una = ack;
      if (seqLt(this.nxt, ack)) this.nxt = ack; // a late ACK for data sent before a go-back
      const data = Math.min(this.buf.length, seqDiff(ack, this.bufSeq));
      if (data > 0) {
        this.buf.consume(data);
        this.bufSeq = seqAdd(this.bufSeq, data);
      }
      if (this.finSeq >= 0 && seqLt(this.finSeq, ack)) this.finAcked = true;
      this.retries = 0;
      this.rto = this.tuning.rtoMs;
      this.rtoAt = 0; // re-armed by fill() while data is in flight
      this.dupAcks = 0;
      result = 'advanced';
    } else if (ack === this.una && pure && this.inflight > 0 && rawWindow === this.lastRawWnd) {
      if (++this.dupAcks === 3) {
        this.goBack();
        result = 'fast-retransmit';
      }
    }
    if (!seqLt(ack, this.una)) {
      this.wnd = rawWindow << this.shift;
      this.lastRawWnd = rawWindow;
      if (this.wnd > 0) this.persistAt = 0;
    }
    return result;
  }

  /** Sends everything the window allows into `sink`, then arms or clears the timers. */
  fill(sink: SendSink, now: number): void {
    let unsent = 0;
    for (;;) {
      const off = seqDiff(this.nxt, this.bufSeq);
      unsent = this.buf.length - off;
      const inflight = this.inflight;
      if (unsent > 0) {
        const usable = this.wnd - inflight;
        if (usable <= 0 || sink.blocked()) break;
        const n = Math.min(this.mss, unsent, usable);
        // Sender silly-window avoidance: a short segment only when it is all we have or nothing is in flight.
        if (n < this.mss && n < unsent && inflight > 0) break;
        const seq = this.nxt;
        if (seqLt(seq, this.max)) this.retransmits++;
        else this.bytesSent += n;
        // State first: delivering the segment may run the guest, whose ACK re-enters onAck().
        this.advance(n);
        sink.data(seq, this.buf.slice(off, n), n === unsent);
      } else if (this.hostEof && !this.finSent) {
        const seq = this.nxt;
        if (this.finSeq < 0) this.finSeq = seq;
        this.finSent = true;
        this.advance(1);
        sink.fin(seq);
      } else break;
    }
    if (this.inflight > 0) {
      if (this.rtoAt === 0) this.rtoAt = now + this.rto;
      this.persistAt = 0;
    } else if (unsent > 0 && this.wnd <= 0) {
      if (this.persistAt === 0) {
        this.persistMs = this.rto;
        this.persistAt = now + this.persistMs;
      }
    } else {
      this.rtoAt = this.persistAt = 0;
    }
  }

  /** The retransmission timer fired: returns false when the connection has tried long enough. */
  timedOut(now: number): boolean {
    this.rtoAt = 0;
    if (++this.retries > this.tuning.maxRetries) return false;
    this.rto = Math.min(this.rto * 2, this.tuning.rtoMaxMs);
    this.goBack();
    return true;
  }

  /** The zero-window probe is due: re-arms it with backoff. */
  probed(now: number): void {
    this.persistMs = Math.min(this.persistMs * 2, this.tuning.rtoMaxMs);
    this.persistAt = now + this.persistMs;
  }

  /** Sends again from the oldest unacknowledged byte (go-back-N). */
  goBack(): void {
    if (this.nxt === this.una) return;
    this.nxt = this.una;
    if (this.finSent && !this.finAcked) this.finSent = false;
  }

  /** Drops the data (connection over). */
  clear(): void {
    this.buf.clear();
    this.rtoAt = this.persistAt = 0;
  }

  private advance(n: number): void {
    this.nxt = seqAdd(this.nxt, n);
    if (seqLt(this.max, this.nxt)) this.max = this.nxt;
  }
}
