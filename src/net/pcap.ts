/**
 * Packet capture: a NetBackend wrapper that appends every frame, both
 * directions, to a classic libpcap file (LINKTYPE_ETHERNET, microsecond
 * timestamps) that tcpdump, tshark and Wireshark read.
 * Format: https://wiki.wireshark.org/Development/LibpcapFileFormat
 *
 * Records are gathered in memory and written in batches (every 64 KiB and
 * at least every 100 ms): one write per frame would cost a system call per
 * packet on the hot path. A write error stops the capture (counted and
 * logged once); the network keeps working.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { FrameSink, NetBackend } from './backend.js';
import { inspect, type InspectNode } from '../bus/device.js';
import { stderrSink, type LogSink } from '../bus/log.js';

/** The libpcap magic number (microsecond timestamps), written in our byte order. */
const PCAP_MAGIC = 0xa1b2c3d4;
/** LINKTYPE_ETHERNET. */
const LINKTYPE_ETHERNET = 1;
/** Largest frame kept whole; longer ones are cut (their original length is recorded). */
export const PCAP_SNAPLEN = 65535;
const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;
const FLUSH_BYTES = 64 * 1024;
const FLUSH_MS = 100;

/** Appends frames to a pcap file. */
export class PcapWriter {
  private fd: number | null;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Frames and bytes (record headers included) captured. */
  frames = 0;
  bytes = 0;
  /** Set once a write failed: capture has stopped. */
  error: string | null = null;

  /** Creates (truncates) the file and writes the global header; throws one line when it cannot. */
  constructor(
    readonly path: string,
    private readonly log: LogSink = stderrSink,
  ) {
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new Error(`pcap ${path}: cannot create the capture file (${err.code ?? err.message})`, { cause: e });
    }
    const h = new DataView(new ArrayBuffer(GLOBAL_HEADER));
    h.setUint32(0, PCAP_MAGIC, true);
    h.setUint16(4, 2, true); // version 2.4
    h.setUint16(6, 4, true);
    h.setInt32(8, 0, true); // timestamps are UTC
    h.setUint32(12, 0, true);
    h.setUint32(16, PCAP_SNAPLEN, true);
    h.setUint32(20, LINKTYPE_ETHERNET, true);
    this.queue(new Uint8Array(h.buffer));
    this.flush();
  }

  /** Appends one frame with the current time. */
  record(frame: Uint8Array): void {
    if (this.fd === null) return;
    const incl = Math.min(frame.length, PCAP_SNAPLEN);
    const rec = new Uint8Array(RECORD_HEADER + incl);
    const dv = new DataView(rec.buffer);
    const us = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    dv.setUint32(0, Math.floor(us / 1e6), true);
    dv.setUint32(4, us % 1e6, true);
    dv.setUint32(8, incl, true);
    dv.setUint32(12, frame.length, true);
    rec.set(frame.subarray(0, incl), RECORD_HEADER);
    this.frames++;
    this.queue(rec);
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Writes what is gathered. */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.fd === null || this.pending.length === 0) return;
    const data = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    try {
      for (let off = 0; off < data.length; ) off += writeSync(this.fd, data, off);
      this.bytes += data.length;
    } catch (e) {
      this.error = (e as NodeJS.ErrnoException).code ?? String(e);
      this.log.warn(`pcap ${this.path}: capture stopped: ${this.error}`);
      this.close();
    }
  }

  /** Flushes and closes the file. */
  close(): void {
    if (this.fd === null) return;
    if (this.error === null) this.flush();
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }

  private queue(b: Uint8Array): void {
    this.pending.push(b);
    this.pendingBytes += b.length;
  }
}

/** A backend that captures everything its inner backend sends and receives. */
export class PcapBackend implements NetBackend {
  private sink: FrameSink | null = null;
  private refused: Uint8Array | null = null;
  private readonly writer: PcapWriter;

  /** Wraps `inner`, capturing to `path` (created or truncated now; throws one line when it cannot be). */
  constructor(
    private readonly inner: NetBackend,
    path: string,
    log?: LogSink,
  ) {
    this.writer = new PcapWriter(path, log);
    inner.deliver = (f) => {
      if (this.sink === null) return false;
      // A refused frame is offered again after resume(): record it once.
      if (f !== this.refused) this.writer.record(f);
      const ok = this.sink(f);
      this.refused = ok ? null : f;
      return ok;
    };
  }

  /** Set by the NIC. */
  get deliver(): FrameSink | null {
    return this.sink;
  }

  set deliver(sink: FrameSink | null) {
    this.sink = sink;
    if (sink !== null) this.inner.resume(); // the inner backend may hold frames from before
  }

  /** Records the frame, then passes it on. */
  send(frame: Uint8Array): void {
    this.writer.record(frame);
    this.inner.send(frame);
  }

  /** Passes on. */
  resume(): void {
    this.inner.resume();
  }

  /** Starts the inner backend. */
  async start(): Promise<void> {
    await this.inner.start?.();
  }

  /** Closes the inner backend, then the file. */
  async close(): Promise<void> {
    await this.inner.close();
    this.writer.close();
  }

  /** The inner backend's tree with a `pcap` node added. */
  inspect(): InspectNode {
    const inner = this.inner.inspect();
    const pcap = inspect.tree({
      path: this.writer.path,
      frames: inspect.counter(this.writer.frames),
      bytesWritten: inspect.counter(this.writer.bytes),
      error: this.writer.error,
    });
    return { ...inner, children: { ...inner.children, pcap } };
  }
}
