/**
 * A qcow2 image as a Disk: guest requests split into clusters, mapped
 * through L1/L2, with copy-on-write allocation, zero clusters, compressed
 * clusters (read-only) and a backing Disk for clusters not allocated here.
 *
 * DEVNOTE: requests are ordered per cluster (RequestOrder with cluster
 * granularity), so no two requests touch one cluster's mapping at once and
 * a cluster's copy-on-write never races a read of it. Data I/O runs outside
 * the metadata mutex: a write to a cluster it already owns is one pwrite;
 * a write to a new cluster allocates (mutex), writes the whole cluster, then
 * sets the L2 entry (mutex), so the entry never points at unwritten data.
 */
import { inspect, type InspectNode } from '../../bus/device.js';
import { DiskError, SECTOR_SIZE, type Disk } from '../disk.js';
import type { ImageFile } from '../image-file.js';
import { ImageFormatError } from '../open-error.js';
import { checkRange, roundUp } from '../range.js';
import { planAndSettle, settle } from '../jobs.js';
import { RequestOrder } from '../request-order.js';
import { DiskCounters } from '../stats.js';
import { CompressedReader } from './compressed.js';
import { encodeData, readsAsZero, zeroEntry, type L2Mapping } from './entries.js';
import type { Qcow2Header } from './format.js';
import type { Qcow2Metadata } from './metadata.js';

/** How a Qcow2Disk is set up (see openQcow2). */
export interface Qcow2DiskParts {
  readonly file: ImageFile;
  readonly header: Qcow2Header;
  readonly meta: Qcow2Metadata;
  readonly writable: boolean;
  readonly serial: string;
  /** Read for clusters this image does not allocate. */
  readonly backing?: Disk;
  /** Runs after the file is closed (releases the image lock). */
  readonly onClose?: () => Promise<void>;
}

/** One cluster a write must allocate (or fill anew). */
interface Alloc {
  readonly g: number;
  readonly inCluster: number;
  readonly length: number;
  /** Where its bytes start in the request's buffer. */
  readonly pos: number;
  readonly old: L2Mapping;
  host: number;
}

/** A Disk over a qcow2 image (build it with openQcow2). */
export class Qcow2Disk implements Disk {
  readonly size: number;
  readonly readOnly: boolean;
  readonly serial: string;
  readonly clusterSize: number;
  private readonly order: RequestOrder;
  private readonly counters = new DiskCounters();
  private readonly compressed: CompressedReader;
  private readonly stats = { cowCopies: 0, backingReads: 0 };
  private brokenReason: string | undefined;
  private closed = false;

  constructor(private readonly p: Qcow2DiskParts) {
    this.size = roundUp(p.header.size, SECTOR_SIZE);
    this.readOnly = !p.writable;
    this.serial = p.serial;
    this.clusterSize = p.meta.clusterSize;
    this.order = new RequestOrder(this.clusterSize);
    this.compressed = new CompressedReader(p.file, this.clusterSize);
  }

  /** The parsed header (format, features, backing file name). */
  get header(): Qcow2Header {
    return this.p.header;
  }

  async read(offset: number, into: Uint8Array): Promise<void> {
    this.check('read', offset, into.length, false);
    this.counters.reads++;
    this.counters.bytesRead += into.length;
    await this.counters.track(this.order.run(offset, into.length, false, () => this.guard(this.readAt(offset, into))));
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.check('write', offset, data.length, true);
    this.counters.writes++;
    this.counters.bytesWritten += data.length;
    await this.counters.track(this.order.run(offset, data.length, true, () => this.guard(this.writeAt(offset, data))));
  }

  async flush(): Promise<void> {
    this.check('flush', 0, 0, false);
    this.counters.flushes++;
    if (this.readOnly) return;
    await this.counters.track(this.order.writesSettled().then(() => this.guard(this.p.meta.locked(() => this.p.meta.flushLocked()))));
  }

  async discard(offset: number, length: number): Promise<void> {
    this.check('discard', offset, length, true);
    this.counters.discards++;
    await this.counters.track(this.order.run(offset, length, true, () => this.guard(this.zeroAt(offset, length, 'discard'))));
  }

  async writeZeroes(offset: number, length: number, unmap: boolean): Promise<void> {
    this.check('writeZeroes', offset, length, true);
    this.counters.writeZeroes++;
    const mode = unmap ? 'unmap' : 'keep';
    await this.counters.track(this.order.run(offset, length, true, () => this.guard(this.zeroAt(offset, length, mode))));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.order.idle();
      if (!this.readOnly && this.brokenReason === undefined) await this.guard(this.p.meta.locked(() => this.p.meta.closeLocked()));
    } finally {
      await this.p.file.close();
      try {
        await this.p.backing?.close();
      } finally {
        await this.p.onClose?.();
      }
    }
  }

  inspect(): InspectNode {
    const m = this.p.meta;
    const rc = m.refcounts?.stats;
    return inspect.tree({
      backend: 'qcow2',
      file: this.p.file.name,
      size: this.size,
      readOnly: this.readOnly,
      clusterSize: this.clusterSize,
      corrupt: this.brokenReason ?? null,
      inFlight: this.order.pending,
      l2CacheHits: inspect.counter(m.l2.hits),
      l2CacheMisses: inspect.counter(m.l2.misses),
      l2Allocations: inspect.counter(m.stats.l2Allocations),
      metadataFlushes: inspect.counter(m.stats.metadataFlushes),
      clusterAllocations: inspect.counter(rc?.allocations ?? 0),
      clusterFrees: inspect.counter(rc?.frees ?? 0),
      refcountBlocksCreated: inspect.counter(rc?.blocksCreated ?? 0),
      refcountTableGrowths: inspect.counter(rc?.tableGrowths ?? 0),
      cowCopies: inspect.counter(this.stats.cowCopies),
      backingReads: inspect.counter(this.stats.backingReads),
      compressedInflated: inspect.counter(this.compressed.stats.inflated),
      ...this.counters.inspect(),
      ...(this.p.backing !== undefined ? { backing: this.p.backing.inspect() } : {}),
    });
  }

  private check(what: string, offset: number, length: number, write: boolean): void {
    const name = this.p.file.name;
    if (this.closed) throw new DiskError('io', `${name}: ${what} after close`);
    if (write && this.readOnly) throw new DiskError('readonly', `${name}: ${what}: the disk is read-only`);
    if (write && this.brokenReason !== undefined) throw new DiskError('io', `${name}: refusing to ${what}: the image is corrupt (${this.brokenReason})`);
    checkRange(`${name}: ${what}`, offset, length, this.size);
  }

  /** Turns a format complaint into DiskError("io") and stops further writes (the header is marked corrupt). */
  private async guard<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      if (!(err instanceof ImageFormatError)) throw err;
      if (this.brokenReason === undefined) {
        this.brokenReason = err.message;
        if (!this.readOnly) await this.p.meta.markCorrupt().catch(() => {});
      }
      throw new DiskError('io', `${this.p.file.name}: corrupt qcow2 image: ${err.message}`);
    }
  }

  private lookup(g: number): L2Mapping | Promise<L2Mapping> {
    return this.p.meta.peek(g) ?? this.p.meta.lookup(g);
  }

  private readAt(offset: number, into: Uint8Array): Promise<void> {
    // Fast path, most guest requests: inside one allocated cluster whose table is cached.
    const m = this.singleCluster(offset, into.length);
    if (m?.kind === 'data') return this.readHost(m.host + (offset % this.clusterSize), into);
    return planAndSettle((jobs) => this.planRead(offset, into, jobs));
  }

  /** The mapping of the one cluster a request lies in, if cached; undefined otherwise. */
  private singleCluster(offset: number, length: number): L2Mapping | undefined {
    const g = Math.floor(offset / this.clusterSize);
    if (length === 0 || Math.floor((offset + length - 1) / this.clusterSize) !== g) return undefined;
    return this.p.meta.peek(g);
  }

  private async planRead(offset: number, into: Uint8Array, jobs: Promise<unknown>[]): Promise<void> {
    const cs = this.clusterSize;
    // Neighbouring clusters that are contiguous on the host (or all in the backing file) become one read.
    let runKind: 'data' | 'backing' | undefined;
    let runHost = 0;
    let runPos = 0;
    let runLen = 0;
    const endRun = () => {
      if (runKind === 'data') jobs.push(this.readHost(runHost, into.subarray(runPos, runPos + runLen)));
      else if (runKind === 'backing') jobs.push(this.readBacking(offset + runPos, into.subarray(runPos, runPos + runLen)));
      runKind = undefined;
    };
    for (let pos = 0; pos < into.length; ) {
      const guest = offset + pos;
      const g = Math.floor(guest / cs);
      const inCluster = guest - g * cs;
      const n = Math.min(cs - inCluster, into.length - pos);
      const m = await this.lookup(g);
      if (m.kind === 'data') {
        const host = m.host + inCluster;
        if (runKind !== 'data' || runHost + runLen !== host) {
          endRun();
          runKind = 'data';
          runHost = host;
          runPos = pos;
          runLen = 0;
        }
        runLen += n;
      } else if (m.kind === 'unallocated' && this.p.backing !== undefined) {
        if (runKind !== 'backing') {
          endRun();
          runKind = 'backing';
          runPos = pos;
          runLen = 0;
        }
        runLen += n;
      } else if (m.kind === 'compressed') {
        endRun();
        const at = pos;
        jobs.push(this.compressed.cluster(m.host, m.length).then((c) => into.set(c.subarray(inCluster, inCluster + n), at)));
      } else {
        endRun();
        into.fill(0, pos, pos + n);
      }
      pos += n;
    }
    endRun();
  }

  /** Reads host bytes; past the end of the file (never written) they are zeros, as in QEMU. */
  private async readHost(host: number, into: Uint8Array): Promise<void> {
    const n = await this.p.file.read(host, into);
    if (n < into.length) into.fill(0, n);
  }

  /** Reads guest bytes from the backing Disk; past its end they are zeros. */
  private async readBacking(guest: number, into: Uint8Array): Promise<void> {
    const backing = this.p.backing!;
    const n = Math.max(0, Math.min(into.length, backing.size - guest));
    this.stats.backingReads++;
    if (n > 0) await backing.read(guest, into.subarray(0, n));
    into.fill(0, n);
  }

  /** Fills a whole-cluster buffer with what guest cluster `g` reads as now. */
  private async readCluster(g: number, m: L2Mapping, into: Uint8Array): Promise<void> {
    if (m.kind === 'data') await this.readHost(m.host, into);
    else if (m.kind === 'compressed') into.set(await this.compressed.cluster(m.host, m.length));
    else if (m.kind === 'unallocated' && this.p.backing !== undefined) await this.readBacking(g * this.clusterSize, into);
    else into.fill(0);
  }

  private writeAt(offset: number, data: Uint8Array): Promise<void> {
    const m = this.singleCluster(offset, data.length);
    if (m?.kind === 'data' && m.copied && m.host + this.clusterSize <= this.p.meta.hostLimit()) {
      return this.p.file.write(m.host + (offset % this.clusterSize), data);
    }
    return planAndSettle((jobs) => this.planWrite(offset, data, jobs));
  }

  private async planWrite(offset: number, data: Uint8Array, jobs: Promise<unknown>[]): Promise<void> {
    const cs = this.clusterSize;
    const allocs: Alloc[] = [];
    let runHost = -1;
    let runPos = 0;
    let runLen = 0;
    const endRun = () => {
      if (runHost >= 0) jobs.push(this.p.file.write(runHost, data.subarray(runPos, runPos + runLen)));
      runHost = -1;
    };
    for (let pos = 0; pos < data.length; ) {
      const guest = offset + pos;
      const g = Math.floor(guest / cs);
      const inCluster = guest - g * cs;
      const n = Math.min(cs - inCluster, data.length - pos);
      const m = await this.lookup(g);
      // A corrupt entry must not make a write land far past the end of the file.
      if ((m.kind === 'data' || m.kind === 'zero') && m.host + cs > this.p.meta.hostLimit()) {
        throw new ImageFormatError('corrupt', `guest cluster ${g} maps to 0x${m.host.toString(16)}, past the end of the image`);
      }
      if (m.kind === 'data' && m.copied) {
        // Ours alone: overwrite in place, merged with contiguous neighbours.
        const host = m.host + inCluster;
        if (runHost < 0 || runHost + runLen !== host) {
          endRun();
          runHost = host;
          runPos = pos;
          runLen = 0;
        }
        runLen += n;
      } else {
        endRun();
        allocs.push({ g, inCluster, length: n, pos, old: m, host: 0 });
      }
      pos += n;
    }
    endRun();
    if (allocs.length > 0) jobs.push(this.writeNew(data, allocs));
  }

  /** Allocates clusters for `allocs`, writes their full contents, then points their L2 entries at them. */
  private async writeNew(data: Uint8Array, allocs: Alloc[]): Promise<void> {
    const meta = this.p.meta;
    const cs = this.clusterSize;
    const taken: number[] = [];
    try {
      await meta.locked(async () => {
        for (const a of allocs) {
          const old = a.old;
          // A preallocated zero cluster that is ours is filled in place.
          if (old.kind === 'zero' && old.host !== 0 && old.copied) a.host = old.host;
          else {
            a.host = await meta.refcounts!.allocate();
            taken.push(a.host);
          }
        }
      });
      const jobs: Promise<unknown>[] = [];
      for (let k = 0; k < allocs.length; ) {
        const a = allocs[k]!;
        if (a.length < cs) {
          jobs.push(this.copyOnWrite(a, data));
          k++;
          continue;
        }
        // Whole, consecutive guest clusters on contiguous host clusters go out as one write straight from the request.
        let e = k + 1;
        while (e < allocs.length && allocs[e]!.length === cs && allocs[e]!.g === allocs[e - 1]!.g + 1 && allocs[e]!.host === allocs[e - 1]!.host + cs) e++;
        jobs.push(this.p.file.write(a.host, data.subarray(a.pos, allocs[e - 1]!.pos + cs)));
        k = e;
      }
      await settle(jobs);
    } catch (err) {
      // Nothing references the new clusters yet: give them back now.
      await meta.locked(async () => {
        for (const host of taken) await meta.refcounts!.release(host / cs);
      });
      throw err;
    }
    await meta.locked(async () => {
      for (const a of allocs) {
        await meta.setEntry(a.g, encodeData(a.host));
        if (a.old.kind !== 'zero' || a.old.host !== a.host) meta.freeMapping(a.old);
      }
    });
  }

  private async copyOnWrite(a: Alloc, data: Uint8Array): Promise<void> {
    const buf = new Uint8Array(this.clusterSize);
    await this.readCluster(a.g, a.old, buf);
    buf.set(data.subarray(a.pos, a.pos + a.length), a.inCluster);
    this.stats.cowCopies++;
    await this.p.file.write(a.host, buf);
  }

  /** Discard ("discard"), or write zeroes deallocating ("unmap") or keeping ("keep") clusters. */
  private async zeroAt(offset: number, length: number, mode: 'discard' | 'unmap' | 'keep'): Promise<void> {
    const cs = this.clusterSize;
    const whole: number[] = [];
    for (let pos = 0; pos < length; ) {
      const guest = offset + pos;
      const g = Math.floor(guest / cs);
      const inCluster = guest - g * cs;
      const n = Math.min(cs - inCluster, length - pos);
      pos += n;
      if (n === cs) whole.push(g);
      else if (mode !== 'discard' && !readsAsZero(await this.lookup(g), this.p.backing !== undefined)) await this.writeAt(guest, new Uint8Array(n));
      // A partial discard keeps the data: discard promises nothing about contents.
    }
    if (whole.length === 0) return;
    const meta = this.p.meta;
    await meta.locked(async () => {
      for (const g of whole) {
        const m = await meta.lookupLocked(g);
        const entry = zeroEntry(m, mode, this.p.backing !== undefined);
        if (entry === undefined) continue;
        await meta.setEntry(g, entry);
        if (!(mode === 'keep' && m.kind === 'data' && m.copied)) meta.freeMapping(m);
      }
    });
  }
}
