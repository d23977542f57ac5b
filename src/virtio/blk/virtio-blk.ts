/**
 * The virtio block device (virtio 1.2, 5.2) on a Disk: reads, writes,
 * flushes, discards, write-zeroes and GET_ID, on one or more request
 * queues. Requests run asynchronously and in parallel; each completion
 * writes the status byte and the used ring entry, and the queue is
 * interrupted once per batch of completions, as EVENT_IDX or the
 * NO_INTERRUPT flag allow.
 *
 * Memory is bounded: a queue has at most `maxInFlight` requests (and
 * MAX_INFLIGHT_BYTES of data) outstanding; further chains stay in the
 * ring until a completion makes room.
 *
 * Snapshots: save() records the chains still in flight; activating from
 * a saved state runs them again (reads and writes are idempotent, and the
 * guest has not seen them complete). The lifecycle pauses the vCPUs
 * before saving, so nothing new starts meanwhile; `drain()` waits for
 * in-flight requests if a quiet device is wanted instead.
 */
import type { AccessSize, InspectNode } from '../../bus/device.js';
import { inspect } from '../../bus/device.js';
import type { Disk } from '../../storage/disk.js';
import type { VirtioActivation, VirtioDeviceModel, VirtioLink } from '../device.js';
import { type DescriptorChain, QueueError, scatter } from '../queue/chain.js';
import type { VirtQueue } from '../queue/queue.js';
import { DEVICE_ID, type FeatureWords, features } from '../regs.js';
import { type BlkLimits, type BlkOutcome, parseRequest, runRequest } from './request.js';
import * as B from './regs.js';

/** How the device is set up. */
export interface VirtioBlkConfig {
  readonly disk: Disk;
  /** Request queues (VIRTIO_BLK_F_MQ when more than one); default 1. */
  readonly queues?: number;
  /** Entries per queue; default 256. */
  readonly queueSize?: number;
  /** Requests outstanding per queue; default 64. */
  readonly maxInFlight?: number;
}

/** Largest data transfer of one read or write tsvmm accepts. */
export const MAX_REQUEST_BYTES = 64 << 20;
/** Upper bound of size_max (the largest segment the driver may use). */
export const SIZE_MAX_LIMIT = 1 << 20;

/** size_max for a queue of `segMax` segments: seg_max * size_max stays within MAX_REQUEST_BYTES. */
export function sizeMaxFor(segMax: number): number {
  const pages = Math.floor(MAX_REQUEST_BYTES / Math.max(1, segMax) / 4096);
  return Math.min(SIZE_MAX_LIMIT, Math.max(1, pages) * 4096);
}
/** Data bytes in flight per queue before new requests wait. */
export const MAX_INFLIGHT_BYTES = 32 << 20;
const DISCARD_MAX_SECTORS = 0x400000;
const DWZ_MAX_SEG = 32;

/** Counters of one queue. */
interface QueueStats {
  requests: number;
  reads: number;
  writes: number;
  flushes: number;
  other: number;
  bytesRead: number;
  bytesWritten: number;
  errors: number;
  unsupported: number;
  inFlight: number;
  inFlightBytes: number;
  maxInFlight: number;
}

/** Saved chain of an in-flight request. */
interface SavedChain {
  head: number;
  readable: [number, number][];
  writable: [number, number][];
  descCount?: number;
}

const newStats = (): QueueStats => ({
  requests: 0, reads: 0, writes: 0, flushes: 0, other: 0, bytesRead: 0, bytesWritten: 0, errors: 0, unsupported: 0, inFlight: 0, inFlightBytes: 0, maxInFlight: 0,
});

/** The virtio-blk device model. */
export class VirtioBlk implements VirtioDeviceModel {
  readonly deviceType = DEVICE_ID.block;
  readonly features: FeatureWords;
  readonly queueMaxSizes: readonly number[];
  readonly configSize = B.CONFIG_SIZE;
  readonly limits: BlkLimits;
  private readonly config = new Uint8Array(B.CONFIG_SIZE);
  private readonly maxInFlight: number;
  private readonly stats: QueueStats[];
  private link: VirtioLink | null = null;
  private active: VirtioActivation | null = null;
  // Bumped by reset: completions of an older epoch are dropped.
  private epoch = 0;
  private readonly inflight: Map<DescriptorChain, number>[];
  private readonly flushScheduled: boolean[];
  private drainWaiters: (() => void)[] = [];
  private stopped = false;
  private configWrites = 0;

  constructor(readonly disk: Disk, cfg: Omit<VirtioBlkConfig, 'disk'> = {}) {
    const queues = cfg.queues ?? 1;
    const size = cfg.queueSize ?? 256;
    if (!Number.isInteger(queues) || queues < 1 || queues > 64) throw new RangeError(`virtio-blk queues must be 1..64, got ${queues}`);
    this.queueMaxSizes = new Array<number>(queues).fill(size);
    this.maxInFlight = cfg.maxInFlight ?? 64;
    const bits = [B.F_SIZE_MAX, B.F_SEG_MAX, B.F_BLK_SIZE, B.F_FLUSH, B.F_TOPOLOGY, B.F_DISCARD, B.F_WRITE_ZEROES];
    if (queues > 1) bits.push(B.F_MQ);
    if (disk.readOnly) bits.push(B.F_RO);
    this.features = features(...bits);
    this.limits = {
      maxRequestBytes: MAX_REQUEST_BYTES,
      maxDiscardSectors: DISCARD_MAX_SECTORS,
      maxDiscardSeg: DWZ_MAX_SEG,
      maxWriteZeroesSectors: DISCARD_MAX_SECTORS,
      maxWriteZeroesSeg: DWZ_MAX_SEG,
    };
    this.stats = this.queueMaxSizes.map(newStats);
    this.inflight = this.queueMaxSizes.map(() => new Map());
    this.flushScheduled = this.queueMaxSizes.map(() => false);
    this.buildConfig(queues, size);
  }

  private buildConfig(queues: number, size: number): void {
    const dv = new DataView(this.config.buffer);
    const C = B.CONFIG;
    const sectors = Math.floor(this.disk.size / B.SECTOR);
    dv.setUint32(C.capacity, sectors % 2 ** 32, true);
    dv.setUint32(C.capacity + 4, Math.floor(sectors / 2 ** 32), true);
    // Two descriptors of every chain carry the header and the status byte.
    const segMax = Math.max(1, size - 2);
    dv.setUint32(C.segMax, segMax, true);
    // No request the driver can build exceeds what the device accepts.
    dv.setUint32(C.sizeMax, sizeMaxFor(segMax), true);
    dv.setUint32(C.blkSize, B.SECTOR, true);
    dv.setUint16(C.minIoSize, 1, true);
    dv.setUint32(C.optIoSize, 0, true);
    dv.setUint8(C.writeback, 1);
    dv.setUint16(C.numQueues, queues, true);
    dv.setUint32(C.maxDiscardSectors, this.limits.maxDiscardSectors, true);
    dv.setUint32(C.maxDiscardSeg, this.limits.maxDiscardSeg, true);
    dv.setUint32(C.discardSectorAlignment, 8, true);
    dv.setUint32(C.maxWriteZeroesSectors, this.limits.maxWriteZeroesSectors, true);
    dv.setUint32(C.maxWriteZeroesSeg, this.limits.maxWriteZeroesSeg, true);
    dv.setUint8(C.writeZeroesMayUnmap, 1);
  }

  bind(link: VirtioLink): void {
    this.link = link;
  }

  readConfig(offset: number, size: AccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= (this.config[offset + i] ?? 0) << (8 * i);
    return v >>> 0;
  }

  writeConfig(): void {
    // Everything is read-only without VIRTIO_BLK_F_CONFIG_WCE, which is not offered.
    this.configWrites++;
  }

  activate(a: VirtioActivation, saved?: unknown): void {
    this.active = a;
    const chains = (saved as { inflight?: SavedChain[][] } | undefined)?.inflight;
    if (Array.isArray(chains) && !this.resubmit(a, chains)) return;
    for (let q = 0; q < a.queues.length; q++) {
      if (!a.queues[q]) continue;
      // An interrupt that was due when the snapshot was taken must not be lost.
      if (saved !== undefined) a.interrupts[q]!.trigger();
      this.process(q);
    }
  }

  /** Starts the requests a snapshot had in flight; false if that broke the device. */
  private resubmit(a: VirtioActivation, chains: SavedChain[][]): boolean {
    for (let q = 0; q < chains.length; q++) {
      const queue = a.queues[q];
      const list = chains[q];
      if (!queue || !Array.isArray(list)) continue;
      for (const c of list) {
        const chain = toChain(c);
        // A snapshot file is input too: its chains must still lie in RAM.
        const ok = [...chain.readable, ...chain.writable].every((seg) => seg.len > 0 && a.memory.isRam(seg.addr, seg.len));
        if (!ok) {
          this.link!.fail('a saved in-flight request lies outside guest RAM');
          return false;
        }
        if (!this.start(q, queue, chain)) return false;
      }
    }
    return true;
  }

  notify(q: number): void {
    this.process(q);
  }

  /** Starts requests from queue `q` until it is empty or the in-flight cap is reached. */
  private process(q: number): void {
    const a = this.active;
    const queue = a?.queues[q];
    if (!a || !queue || this.stopped) return;
    const st = this.stats[q]!;
    while (st.inFlight < this.maxInFlight && st.inFlightBytes < MAX_INFLIGHT_BYTES) {
      let chain: DescriptorChain | null;
      try {
        chain = queue.pop();
      } catch (e) {
        if (e instanceof QueueError) return this.link!.fail(e.message);
        throw e;
      }
      if (!chain) return;
      if (!this.start(q, queue, chain)) return;
    }
  }

  /** Parses and launches one request; false when the chain broke the device. */
  private start(q: number, queue: VirtQueue, chain: DescriptorChain): boolean {
    const a = this.active!;
    const req = parseRequest(a.memory, chain);
    if (typeof req === 'string') {
      this.link!.fail(req);
      return false;
    }
    const st = this.stats[q]!;
    const bytes = req.type === B.T_IN ? req.dataInBytes : req.type === B.T_OUT ? req.dataOutBytes : 0;
    st.requests++;
    st.inFlight++;
    st.inFlightBytes += bytes;
    st.maxInFlight = Math.max(st.maxInFlight, st.inFlight);
    this.inflight[q]!.set(chain, bytes);
    const epoch = this.epoch;
    void runRequest(req, a.memory, this.disk, this.limits).then(
      (out) => this.complete(epoch, q, queue, chain, req.type, out, req.status.addr, req.dataIn),
      () => this.complete(epoch, q, queue, chain, req.type, { status: B.S_IOERR, bytes: 0 }, req.status.addr, req.dataIn),
    );
    return true;
  }

  private complete(
    epoch: number,
    q: number,
    queue: VirtQueue,
    chain: DescriptorChain,
    type: number,
    out: BlkOutcome,
    statusAddr: number,
    dataIn: Parameters<typeof scatter>[1],
  ): void {
    // A reset (or failure) happened meanwhile: the guest no longer owns this request.
    if (epoch !== this.epoch || !this.active) return;
    const a = this.active;
    const st = this.stats[q]!;
    st.inFlight--;
    st.inFlightBytes -= this.inflight[q]!.get(chain) ?? 0;
    this.inflight[q]!.delete(chain);
    if (type === B.T_IN) st.reads++;
    else if (type === B.T_OUT) st.writes++;
    else if (type === B.T_FLUSH) st.flushes++;
    else st.other++;
    if (out.status === B.S_OK) {
      if (type === B.T_IN) st.bytesRead += out.bytes;
      else if (type !== B.T_GET_ID) st.bytesWritten += out.bytes;
    } else if (out.status === B.S_UNSUPP) st.unsupported++;
    else st.errors++;
    try {
      let written = 1;
      if (out.data && out.status === B.S_OK) written += scatter(a.memory, dataIn, 0, out.data);
      a.memory.view(statusAddr, 1)[0] = out.status;
      a.memory.markDirty(statusAddr, 1);
      queue.push(chain, written);
      this.scheduleInterrupt(q, epoch);
    } catch (e) {
      // Only a chain from a tampered snapshot, or RAM closed under a late completion, gets here.
      this.link!.fail(`completing request ${chain.head}: ${(e as Error).message}`);
    } finally {
      if (st.inFlight === 0) this.wakeDrain();
    }
  }

  // Completions that land in the same turn of the event loop share one interrupt decision.
  private scheduleInterrupt(q: number, epoch: number): void {
    if (this.flushScheduled[q]) return;
    this.flushScheduled[q] = true;
    queueMicrotask(() => {
      this.flushScheduled[q] = false;
      const a = this.active;
      const queue = a?.queues[q];
      if (epoch !== this.epoch || !a || !queue) return;
      // Nothing may escape a microtask: it would take the VMM down.
      try {
        if (queue.needsInterrupt()) a.interrupts[q]!.trigger();
        this.process(q);
      } catch (e) {
        this.link!.fail(`queue ${q}: ${(e as Error).message}`);
      }
    });
  }

  /** Takes no new requests from now on (the machine is stopping); in-flight ones finish. */
  stop(): void {
    this.stopped = true;
  }

  /** Resolves once no request is in flight. */
  drain(): Promise<void> {
    if (this.stats.every((s) => s.inFlight === 0)) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private wakeDrain(): void {
    if (!this.stats.every((s) => s.inFlight === 0)) return;
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
  }

  reset(): void {
    this.epoch++;
    this.active = null;
    for (let q = 0; q < this.stats.length; q++) {
      this.inflight[q]!.clear();
      this.stats[q]!.inFlight = 0;
      this.stats[q]!.inFlightBytes = 0;
      this.flushScheduled[q] = false;
    }
    this.wakeDrain();
  }

  save(): { inflight: SavedChain[][] } {
    return { inflight: this.inflight.map((m) => [...m.keys()].map(fromChain)) };
  }

  inspect(): InspectNode {
    const queues: Record<string, InspectNode> = {};
    this.stats.forEach((s, i) => {
      queues[String(i)] = inspect.tree({
        requests: inspect.counter(s.requests),
        reads: inspect.counter(s.reads),
        writes: inspect.counter(s.writes),
        flushes: inspect.counter(s.flushes),
        other: inspect.counter(s.other),
        bytesRead: inspect.counter(s.bytesRead),
        bytesWritten: inspect.counter(s.bytesWritten),
        errors: inspect.counter(s.errors),
        unsupported: inspect.counter(s.unsupported),
        inFlight: s.inFlight,
        maxInFlight: s.maxInFlight,
      });
    });
    return inspect.tree({
      capacitySectors: Math.floor(this.disk.size / B.SECTOR),
      readOnly: this.disk.readOnly,
      serial: this.disk.serial,
      configWrites: inspect.counter(this.configWrites),
      queues: { children: queues },
      disk: this.disk.inspect(),
    });
  }
}

function fromChain(c: DescriptorChain): SavedChain {
  return { head: c.head, readable: c.readable.map((s) => [s.addr, s.len]), writable: c.writable.map((s) => [s.addr, s.len]), descCount: c.descCount ?? 1 };
}

function toChain(c: SavedChain): DescriptorChain {
  const seg = (l: unknown) => (Array.isArray(l) ? l.map((p) => ({ addr: Number(p?.[0]), len: Number(p?.[1]) })) : []);
  const readable = seg(c.readable);
  const writable = seg(c.writable);
  return {
    head: Number(c.head) >>> 0,
    readable,
    writable,
    readableBytes: readable.reduce((n, s) => n + s.len, 0),
    writableBytes: writable.reduce((n, s) => n + s.len, 0),
    descCount: Math.max(1, Number(c.descCount) >>> 0 || 1),
  };
}
