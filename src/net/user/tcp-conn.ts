/**
 * One TCP connection between the guest and the NAT, the NAT's end of it
 * (RFC 9293, the parts a lossless virtual link needs): handshake either way,
 * sequence and acknowledgment numbers, the guest's window honoured (with
 * window scaling and zero-window probes), MSS-sized segments, FIN both ways
 * with half-close, RST, and go-back-N retransmission after a timeout or
 * three duplicate ACKs (the link never loses frames, but the guest's
 * receive queue can drop them when full). The send half is SendSide.
 *
 * DEVNOTE: no congestion control. The only "network" is the guest's receive
 * queue, whose size the guest advertises as its window, and the NIC says
 * when it is full (Egress.congested). No SACK and no timestamps either: the
 * SYN-ACK does not offer them, so the guest does not use them.
 */
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, seqAdd, seqDiff, type TcpSegment, type TcpSegmentSpec } from '../proto/tcp.js';
import { SendSide, type SendSink } from './tcp-send.js';
import { ourShift, type TcpEnv, type TcpHost, type TcpState, type TcpTuple } from './tcp-types.js';

/** The NAT's end of one connection with the guest. */
export class TcpConn {
  state: TcpState;
  host: TcpHost | null = null;
  /** Bytes from the guest written to the host, for inspect. */
  bytesFromGuest = 0;
  private readonly snd: SendSide;
  private activeClose = false;
  // Receive side (guest to NAT).
  private irs = 0;
  private rcvNxt = 0;
  private rcvShift = 0;
  private guestFin = false;
  private lastAdvertised = 0;
  private ackPending = false;
  private closeAt = 0;
  private hostPaused = false;
  private readonly sink: SendSink;

  private constructor(
    private readonly env: TcpEnv,
    readonly tuple: TcpTuple,
    state: TcpState,
  ) {
    this.state = state;
    this.snd = new SendSide(env.tuning);
    this.sink = {
      data: (seq, payload, last) => this.emit(TCP_ACK | (last ? TCP_PSH : 0), seq, payload),
      fin: (seq) => {
        if (this.snd.finSeq === seq && !this.activeClose && !this.guestFin) this.activeClose = true;
        this.emit(TCP_FIN | TCP_ACK, seq);
      },
      blocked: () => {
        if (!env.congested()) return false;
        env.waitDrain(this);
        return true;
      },
    };
  }

  /** A connection the guest opens with `syn` while `host` connects; the SYN-ACK waits for hostConnected(). */
  static accept(env: TcpEnv, tuple: TcpTuple, syn: TcpSegment, host: TcpHost): TcpConn {
    const c = new TcpConn(env, tuple, 'connecting');
    c.host = host;
    c.irs = syn.seq;
    c.rcvNxt = seqAdd(syn.seq, 1);
    c.takeSynOptions(syn, ourShift(env.tuning.recvBuffer));
    c.snd.wnd = syn.window; // never scaled in a SYN
    return c;
  }

  /** A connection the NAT opens to the guest (a port forward); connect() sends the SYN once it is in the table. */
  static open(env: TcpEnv, tuple: TcpTuple, host: TcpHost): TcpConn {
    const c = new TcpConn(env, tuple, 'syn-sent');
    c.host = host;
    c.rcvShift = ourShift(env.tuning.recvBuffer);
    return c;
  }

  /** Sends the SYN of a connection made by open(). */
  connect(): void {
    if (this.state === 'syn-sent') this.sendSyn();
  }

  /** The host side of an accepted connection is connected: answer the guest's SYN. */
  hostConnected(): void {
    if (this.state !== 'connecting') return;
    this.state = 'syn-received';
    this.sendSyn();
  }

  /** Bytes from the host peer for the guest (kept by reference). */
  hostData(chunk: Uint8Array): void {
    if (this.state === 'closed') return;
    this.snd.push(chunk);
    if (this.snd.buffered >= this.env.tuning.sendBuffer && !this.hostPaused) {
      this.hostPaused = true;
      this.host?.pause();
    }
    this.output();
  }

  /** The host peer sent its FIN: ours follows the data. */
  hostEnd(): void {
    this.snd.hostEof = true;
    this.output();
  }

  /** The host took what it had buffered: reopen the window if we had narrowed it. */
  hostDrained(): void {
    if (this.state === 'established' && !this.guestFin && this.lastAdvertised < this.env.tuning.recvBuffer / 2) {
      this.ackPending = true;
      this.output();
    }
  }

  /** The host socket failed or closed under us (`code` e.g. ECONNREFUSED): the guest gets a RST unless both sides were done. */
  hostGone(code: string): void {
    if (this.state === 'closed') return;
    this.host = null;
    if (this.state === 'connecting') {
      this.env.counters.add(`tcp.connect-failed.${code}`);
      this.emit(TCP_RST | TCP_ACK, 0);
      this.finish();
    } else if (!(this.guestFin && this.snd.hostEof)) {
      this.env.counters.add(`tcp.host-reset.${code}`);
      this.reset(false);
    }
  }

  /** A segment from the guest for this connection. */
  segment(seg: TcpSegment): void {
    const f = seg.flags;
    if (this.state === 'closed') return;
    if (this.state === 'connecting') {
      if (f & TCP_RST) this.abortBoth(false);
      return; // a repeated SYN while the host connect is under way
    }
    if (f & TCP_RST) return this.onRst(seg);
    if (this.state === 'syn-sent') return this.onSynAck(seg);
    if (f & TCP_SYN) {
      // A repeated SYN (our SYN-ACK was lost) or a stray one: answer with what we have.
      if (this.state === 'syn-received' && seg.seq === this.irs) this.sendSyn();
      else this.ackSoon();
      return;
    }
    if (!(f & TCP_ACK)) return;
    if (this.state === 'time-wait') {
      if (f & TCP_FIN) this.ackSoon();
      return;
    }
    if (!this.onAck(seg)) return;
    this.onData(seg);
    if (this.snd.finAcked && this.guestFin) {
      if (!this.activeClose) return this.finish();
      this.state = 'time-wait';
      this.closeAt = this.env.now() + this.env.tuning.timeWaitMs;
    }
    this.env.scheduleOutput(this);
  }

  /** Runs the timers that are due. */
  tick(now: number): void {
    if (this.closeAt !== 0 && now >= this.closeAt) return this.finish();
    const s = this.snd;
    if (s.rtoAt !== 0 && now >= s.rtoAt) {
      if (!s.timedOut(now)) {
        this.env.counters.add('tcp.timeouts');
        return this.reset(false);
      }
      if (this.state === 'syn-received' || this.state === 'syn-sent') {
        this.sendSyn();
      } else if (this.state === 'established') {
        this.env.counters.add('tcp.rto-retransmits');
        this.output();
      }
    }
    if (s.persistAt !== 0 && now >= s.persistAt) {
      // Zero-window probe: an old sequence number makes the guest answer with its current window.
      this.emit(TCP_ACK, seqAdd(s.una, -1));
      s.probed(now);
    }
  }

  /** Sends what the window and the queue toward the guest allow, then any ACK owed. */
  output(): void {
    if (this.state === 'established') this.snd.fill(this.sink, this.env.now());
    if (this.ackPending && (this.state === 'established' || this.state === 'time-wait')) this.emit(TCP_ACK, this.snd.nxt);
  }

  /** Drops the connection without a word to either side (the backend is closing). */
  destroy(): void {
    this.host?.abort(false);
    this.state = 'closed';
    this.snd.clear();
  }

  /** State name including the FIN states, for inspect. */
  describe(): string {
    if (this.state !== 'established') return this.state;
    const s = this.snd;
    if (s.finSent && this.guestFin) return this.activeClose ? 'closing' : 'last-ack';
    if (s.finSent) return s.finAcked ? 'fin-wait-2' : 'fin-wait-1';
    return this.guestFin ? 'close-wait' : 'established';
  }

  /** Numbers for inspect: bytes each way, buffered, retransmitted segments, the guest's window. */
  stats(): { toGuest: number; fromGuest: number; buffered: number; retransmits: number; guestWindow: number } {
    const s = this.snd;
    return { toGuest: s.bytesSent, fromGuest: this.bytesFromGuest, buffered: s.buffered, retransmits: s.retransmits, guestWindow: s.wnd };
  }

  private takeSynOptions(seg: TcpSegment, shift: number): void {
    this.snd.mss = Math.min(seg.mss ?? 536, this.env.tuning.mss);
    // Scaling is on only when both sides offer it.
    if (seg.wscale !== undefined) {
      this.snd.shift = seg.wscale;
      this.rcvShift = shift;
    } else {
      this.rcvShift = 0;
    }
  }

  private onRst(seg: TcpSegment): void {
    if (this.state === 'syn-sent') {
      if (seg.flags & TCP_ACK && seg.ack === seqAdd(this.snd.iss, 1)) {
        this.env.counters.add('tcp.guest-refused');
        this.abortBoth(false);
      }
      return;
    }
    // Acceptable when inside the window we offered (RFC 9293 3.10.7.4, without the challenge ACK).
    const d = seqDiff(seg.seq, this.rcvNxt);
    if (d >= 0 && d <= Math.max(1, this.lastAdvertised)) {
      this.env.counters.add('tcp.guest-resets');
      this.abortBoth(true);
    }
  }

  private onSynAck(seg: TcpSegment): void {
    const f = seg.flags;
    if (f & TCP_ACK && seg.ack !== seqAdd(this.snd.iss, 1)) {
      this.emitRaw(TCP_RST, seg.ack);
      return;
    }
    if (!(f & TCP_SYN && f & TCP_ACK)) return;
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.takeSynOptions(seg, this.rcvShift);
    this.snd.synAcked();
    this.snd.wnd = seg.window;
    this.snd.lastRawWnd = seg.window;
    this.state = 'established';
    this.ackSoon();
  }

  // Returns false when the segment must go no further.
  private onAck(seg: TcpSegment): boolean {
    const s = this.snd;
    if (this.state === 'syn-received') {
      if (seg.ack !== seqAdd(s.iss, 1)) {
        this.emitRaw(TCP_RST, seg.ack);
        return false;
      }
      s.synAcked();
      this.state = 'established';
    }
    const pure = seg.payload.length === 0 && !(seg.flags & TCP_FIN);
    const r = s.onAck(seg.ack, seg.window, pure);
    if (r === 'unsent') {
      this.ackSoon(); // acknowledges what we never sent
      return false;
    }
    if (r === 'fast-retransmit') this.env.counters.add('tcp.fast-retransmits');
    if (r === 'advanced' && this.hostPaused && s.buffered < this.env.tuning.sendBuffer / 2) {
      this.hostPaused = false;
      this.host?.resume();
    }
    return true;
  }

  private onData(seg: TcpSegment): void {
    const fin = (seg.flags & TCP_FIN) !== 0;
    if (seg.payload.length === 0 && !fin) return;
    this.ackPending = true;
    if (this.guestFin) return; // a repeat of data or FIN we already have
    const d = seqDiff(seg.seq, this.rcvNxt);
    if (d > 0) {
      this.env.counters.add('tcp.out-of-order');
      return; // a gap: the duplicate ACK makes the guest resend
    }
    let data = seg.payload.subarray(Math.min(-d, seg.payload.length));
    let finInWindow = fin && -d <= seg.payload.length;
    const room = this.rcvWindow();
    if (data.length > room) {
      this.env.counters.add('tcp.beyond-window');
      data = data.subarray(0, room);
      finInWindow = false;
    }
    if (data.length > 0) {
      // Copied: the frame may be a view of guest memory the NIC reuses once send() returns.
      this.host?.write(Buffer.from(data));
      this.rcvNxt = seqAdd(this.rcvNxt, data.length);
      this.bytesFromGuest += data.length;
    }
    if (finInWindow) {
      this.rcvNxt = seqAdd(this.rcvNxt, 1);
      this.guestFin = true;
      this.host?.end();
    }
  }

  private sendSyn(): void {
    const synAck = this.state !== 'syn-sent';
    // Offer scaling in a SYN-ACK only if the guest offered it.
    const wscale = !synAck || this.snd.shift > 0 || this.rcvShift > 0 ? this.rcvShift : undefined;
    const window = Math.min(this.rcvWindow(), 0xffff); // never scaled in a SYN
    const spec = this.spec(synAck ? TCP_SYN | TCP_ACK : TCP_SYN, this.snd.iss, window);
    this.snd.synSent();
    if (this.snd.rtoAt === 0) this.snd.rtoAt = this.env.now() + this.snd.rto;
    this.env.emit({ ...spec, mss: this.env.tuning.mss, ...(wscale !== undefined ? { wscale } : {}) });
  }

  private ackSoon(): void {
    this.ackPending = true;
    this.env.scheduleOutput(this);
  }

  private rcvWindow(): number {
    return Math.max(0, this.env.tuning.recvBuffer - (this.host?.pending ?? 0));
  }

  // Emits a segment carrying our current ACK and window.
  private emit(flags: number, seq: number, payload?: Uint8Array): void {
    const raw = Math.min(this.rcvWindow() >>> this.rcvShift, 0xffff);
    this.lastAdvertised = raw << this.rcvShift;
    // State first: delivering the frame may run the guest, whose answer re-enters segment().
    if (flags & TCP_ACK) this.ackPending = false;
    this.env.emit(this.spec(flags, seq, raw), payload);
  }

  // Emits a segment with no window (resets).
  private emitRaw(flags: number, seq: number): void {
    this.env.emit(this.spec(flags, seq, 0));
  }

  private spec(flags: number, seq: number, window: number): TcpSegmentSpec {
    const t = this.tuple;
    const ack = flags & TCP_ACK ? this.rcvNxt : 0;
    return { src: t.remoteIp, dst: t.guestIp, srcPort: t.remotePort, dstPort: t.guestPort, seq, ack, flags, window };
  }

  private reset(hostRst: boolean): void {
    if (this.state !== 'syn-sent') this.emitRaw(TCP_RST | TCP_ACK, this.snd.nxt);
    this.abortBoth(hostRst);
  }

  private abortBoth(hostRst: boolean): void {
    this.host?.abort(hostRst);
    this.host = null;
    this.finish();
  }

  private finish(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeAt = 0;
    this.snd.clear();
    this.env.closed(this);
  }
}
