/**
 * The guest's end of one TCP connection, as a test plays it: an in-order
 * receiver with a receive buffer of fixed capacity (its window) that the
 * test drains with read(), and a sender that honours the NAT's window. It
 * never retransmits: the link toward the NAT is lossless.
 */
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, seqAdd, seqDiff, seqLt, type TcpSegment, type TcpSegmentSpec } from '../proto/tcp.js';

/** How a GuestTcp sends a segment (the GuestStack builds the frame). */
export type SegmentOut = (spec: Omit<TcpSegmentSpec, 'src' | 'dst' | 'srcPort' | 'dstPort'>, payload?: Uint8Array) => void;

/** Options of a guest connection. */
export interface GuestTcpOptions {
  /** Receive buffer, i.e. the most the guest ever advertises. */
  readonly rcvCapacity?: number;
  /** Window-scale shift offered in the SYN (undefined: none). */
  readonly wscale?: number;
  readonly mss?: number;
}

/** One guest-side connection. */
export class GuestTcp {
  readonly iss = 1000;
  established = false;
  reset = false;
  finReceived = false;
  finSent = false;
  /** Segments that arrived beyond what we advertised, or out of order. */
  beyondWindow = 0;
  outOfOrder = 0;
  segmentsIn = 0;
  private sndUna = this.iss;
  private sndNxt = this.iss;
  private peerWnd = 0;
  private peerShift = 0;
  private peerMss = 536;
  private myShift = 0;
  private rcvNxt = 0;
  private readonly rcvCapacity: number;
  private unread: Uint8Array[] = [];
  private unreadBytes = 0;
  private readonly toSend: Uint8Array[] = [];
  private wantFin = false;
  private peerOffersScale = false;

  constructor(
    private readonly out: SegmentOut,
    private readonly opts: GuestTcpOptions = {},
    /** The guest's port of this connection. */
    readonly localPort = 0,
  ) {
    this.rcvCapacity = opts.rcvCapacity ?? 65535;
  }

  /** Sends the SYN of an active open. */
  connect(): void {
    this.out({ seq: this.iss, ack: 0, flags: TCP_SYN, window: Math.min(this.rcvCapacity, 0xffff), mss: this.opts.mss ?? 1460, ...this.synScale() });
    this.sndNxt = seqAdd(this.iss, 1);
  }

  /** Answers a SYN (passive open, for port forwards). */
  acceptSyn(syn: TcpSegment): void {
    this.rcvNxt = seqAdd(syn.seq, 1);
    this.peerMss = syn.mss ?? 536;
    this.peerOffersScale = syn.wscale !== undefined;
    if (this.peerOffersScale && this.opts.wscale !== undefined) this.peerShift = syn.wscale!;
    this.peerWnd = syn.window;
    const scale = this.peerOffersScale ? this.synScale() : {};
    if (!this.peerOffersScale) this.myShift = 0;
    this.out({ seq: this.iss, ack: this.rcvNxt, flags: TCP_SYN | TCP_ACK, window: Math.min(this.rcvCapacity, 0xffff), mss: this.opts.mss ?? 1460, ...scale });
    this.sndNxt = seqAdd(this.iss, 1);
  }

  /** A segment from the NAT for this connection. */
  input(seg: TcpSegment): void {
    this.segmentsIn++;
    if (seg.flags & TCP_RST) {
      this.reset = true;
      return;
    }
    if (seg.flags & TCP_SYN) {
      // SYN-ACK of our active open.
      if (!(seg.flags & TCP_ACK) || seg.ack !== seqAdd(this.iss, 1)) return;
      this.rcvNxt = seqAdd(seg.seq, 1);
      this.peerMss = seg.mss ?? 536;
      if (seg.wscale !== undefined && this.opts.wscale !== undefined) this.peerShift = seg.wscale;
      else this.myShift = 0;
      this.sndUna = seg.ack;
      this.peerWnd = seg.window;
      this.established = true;
      this.ack();
      this.pump();
      return;
    }
    if (!(seg.flags & TCP_ACK)) return;
    if (!this.established && seg.ack === seqAdd(this.iss, 1)) this.established = true;
    if (seqLt(this.sndUna, seg.ack) && !seqLt(this.sndNxt, seg.ack)) this.sndUna = seg.ack;
    this.peerWnd = seg.window << this.peerShift;
    let mustAck = false;
    const d = seqDiff(seg.seq, this.rcvNxt);
    if (seg.payload.length > 0 || seg.flags & TCP_FIN) {
      mustAck = true;
      if (d > 0) this.outOfOrder++;
      else {
        let data = seg.payload.subarray(Math.min(-d, seg.payload.length));
        const room = this.rcvCapacity - this.unreadBytes;
        if (data.length > room) {
          this.beyondWindow++;
          data = data.subarray(0, room);
        }
        if (data.length > 0) {
          this.unread.push(data.slice());
          this.unreadBytes += data.length;
          this.rcvNxt = seqAdd(this.rcvNxt, data.length);
        }
        if (seg.flags & TCP_FIN && -d + data.length >= seg.payload.length && !this.finReceived) {
          this.finReceived = true;
          this.rcvNxt = seqAdd(this.rcvNxt, 1);
        }
      }
    } else if (d < 0) {
      mustAck = true; // a zero-window probe (old sequence number): answer with our window
    }
    if (mustAck) this.ack();
    this.pump();
  }

  /** Queues bytes to send (as the window allows). */
  write(data: Uint8Array): void {
    this.toSend.push(data);
    this.pump();
  }

  /** Sends FIN after the queued data. */
  end(): void {
    this.wantFin = true;
    this.pump();
  }

  /** Sends a RST. */
  abort(): void {
    this.out({ seq: this.sndNxt, ack: this.rcvNxt, flags: TCP_RST | TCP_ACK, window: 0 });
    this.reset = true;
  }

  /** Takes up to max bytes the guest has received; the window opens (and is announced). */
  read(max = Infinity): Uint8Array {
    const parts: Uint8Array[] = [];
    let n = 0;
    while (this.unread.length > 0 && n < max) {
      const c = this.unread[0]!;
      const take = Math.min(c.length, max - n);
      parts.push(c.subarray(0, take));
      n += take;
      if (take === c.length) this.unread.shift();
      else this.unread[0] = c.subarray(take);
    }
    this.unreadBytes -= n;
    if (n > 0) this.ack(); // window update
    return Buffer.concat(parts);
  }

  /** Bytes received and not yet read. */
  get buffered(): number {
    return this.unreadBytes;
  }

  /** Bytes queued by write() not yet acknowledged. */
  get unacked(): number {
    return seqDiff(this.sndNxt, this.sndUna) + this.toSend.reduce((a, c) => a + c.length, 0);
  }

  private pump(): void {
    if (!this.established) return;
    while (this.toSend.length > 0) {
      const usable = this.peerWnd - seqDiff(this.sndNxt, this.sndUna);
      if (usable <= 0) return;
      const head = this.toSend[0]!;
      const n = Math.min(head.length, this.peerMss, usable);
      this.out({ seq: this.sndNxt, ack: this.rcvNxt, flags: TCP_ACK | TCP_PSH, window: this.window() }, head.subarray(0, n));
      this.sndNxt = seqAdd(this.sndNxt, n);
      if (n === head.length) this.toSend.shift();
      else this.toSend[0] = head.subarray(n);
    }
    if (this.wantFin && !this.finSent) {
      this.finSent = true;
      this.out({ seq: this.sndNxt, ack: this.rcvNxt, flags: TCP_FIN | TCP_ACK, window: this.window() });
      this.sndNxt = seqAdd(this.sndNxt, 1);
    }
  }

  private ack(): void {
    this.out({ seq: this.sndNxt, ack: this.rcvNxt, flags: TCP_ACK, window: this.window() });
  }

  private window(): number {
    return Math.min((this.rcvCapacity - this.unreadBytes) >>> this.myShift, 0xffff);
  }

  private synScale(): { wscale?: number } {
    if (this.opts.wscale === undefined) return {};
    this.myShift = this.opts.wscale;
    return { wscale: this.opts.wscale };
  }
}
