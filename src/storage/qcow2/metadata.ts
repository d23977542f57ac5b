/**
 * The mapping of a qcow2 image: L1 table (all in memory), a bounded cache of
 * L2 tables, and (when writable) the refcounts; every change goes through
 * the metadata mutex, lookups of cached tables need none.
 *
 * DEVNOTE (crash consistency): changed tables are held in memory and
 * written by flushLocked() in an order where the file is consistent after
 * every single write, and where each reference reaches the disk only after
 * what it points at is durable:
 *   1. refcount blocks (increments only) and L2 tables nothing points at yet
 *      (fresh), then fdatasync;
 *   2. L2 tables already referenced, and changed L1 entries, then fdatasync;
 *   3. the decrements queued by frees, now that no reference on disk remains
 *      (written at the next flush; until then they are only leaks).
 * Data is written before its L2 entry changes in memory, so step 1's sync
 * also makes it durable before anything points at it. A SIGKILL or power
 * loss at any point therefore leaves at worst leaked clusters, which
 * `qemu-img check` reports as leaks (exit 3), never as corruption.
 */
import type { ImageFile } from '../image-file.js';
import { ImageFormatError } from '../open-error.js';
import { Mutex } from '../async-mutex.js';
import { decodeL1, decodeL2, encodeL1, UNALLOCATED, type L2Mapping, compressedClusters } from './entries.js';
import { H, INCOMPAT_CORRUPT, type Qcow2Header } from './format.js';
import { Refcounts } from './refcounts.js';
import { TableCache, cachedTable, type CachedTable } from './table-cache.js';

/** What Qcow2Metadata.open needs. */
export interface MetadataSetup {
  readonly file: ImageFile;
  readonly header: Qcow2Header;
  readonly writable: boolean;
  readonly fileSize: number;
  /** L2 tables kept in memory (each one cluster). */
  readonly l2CacheTables: number;
  /** Refcount blocks kept in memory. */
  readonly refcountCacheBlocks: number;
}

function corrupt(message: string): ImageFormatError {
  return new ImageFormatError('corrupt', message);
}

/** The L1/L2 mapping and refcounts of one open image. */
export class Qcow2Metadata {
  readonly clusterSize: number;
  readonly l2: TableCache;
  private readonly l2Entries: number;
  private readonly v2: boolean;
  private readonly l1Dirty = new Set<number>();
  private readonly l2Clusters = new Set<number>();
  private readonly mutex = new Mutex();
  private fileSize: number;
  /** Counters for inspect. */
  readonly stats = { metadataFlushes: 0, l2Allocations: 0 };

  private constructor(
    private readonly s: MetadataSetup,
    private readonly l1: DataView,
    readonly refcounts: Refcounts | undefined,
  ) {
    this.clusterSize = 2 ** s.header.clusterBits;
    this.l2Entries = this.clusterSize / 8;
    this.v2 = s.header.version === 2;
    this.l2 = new TableCache(s.l2CacheTables);
    this.fileSize = s.fileSize;
  }

  /** Reads the L1 table (and, when writable, the refcount table) and checks them. */
  static async open(s: MetadataSetup): Promise<Qcow2Metadata> {
    const h = s.header;
    const cs = 2 ** h.clusterBits;
    const l1 = new Uint8Array(h.l1Size * 8);
    if ((await s.file.read(h.l1TableOffset, l1)) < l1.length) throw corrupt('the L1 table is truncated');
    const l1View = new DataView(l1.buffer);
    const l2Clusters = new Set<number>();
    for (let i = 0; i < h.l1Size; i++) {
      const hi = l1View.getUint32(i * 8);
      const off = decodeL1(hi, l1View.getUint32(i * 8 + 4), cs, s.fileSize);
      if (off === 0) continue;
      // A table without the copied flag is shared with an internal snapshot.
      if (s.writable && (hi & 0x8000_0000) === 0) throw new ImageFormatError('unsupported', 'writing to images whose L2 tables are shared with internal snapshots');
      l2Clusters.add(off / cs);
    }
    const l1First = h.l1TableOffset / cs;
    const l1Clusters = Math.ceil((h.l1Size * 8) / cs);
    const isOtherMetadata = (c: number) => c === 0 || (c >= l1First && c < l1First + l1Clusters) || l2Clusters.has(c);
    let refcounts: Refcounts | undefined;
    if (s.writable) {
      const rtFirst = h.refcountTableOffset / cs;
      if (h.l1Size > 0 && rtFirst < l1First + l1Clusters && l1First < rtFirst + h.refcountTableClusters) throw corrupt('the L1 table and the refcount table overlap');
      refcounts = await Refcounts.load({
        file: s.file,
        clusterBits: h.clusterBits,
        refcountOrder: h.refcountOrder,
        tableOffset: h.refcountTableOffset,
        tableClusters: h.refcountTableClusters,
        fileSize: s.fileSize,
        cacheBlocks: s.refcountCacheBlocks,
        isOtherMetadata,
      });
    }
    const meta = new Qcow2Metadata(s, l1View, refcounts);
    for (const c of l2Clusters) meta.l2Clusters.add(c);
    return meta;
  }

  /** Runs `fn` holding the metadata mutex. */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }

  /** The mapping of guest cluster `g` if its L2 table is cached (or absent); undefined when it must be loaded. */
  peek(g: number): L2Mapping | undefined {
    const l1i = Math.floor(g / this.l2Entries);
    const off = this.l1Entry(l1i);
    if (off === 0) return UNALLOCATED;
    const t = this.l2.get(off);
    if (t === undefined) return undefined;
    const at = (g - l1i * this.l2Entries) * 8;
    return decodeL2(t.view.getUint32(at), t.view.getUint32(at + 4), this.s.header.clusterBits, this.v2);
  }

  /** The mapping of guest cluster `g`, loading its L2 table under the mutex if needed. */
  async lookup(g: number): Promise<L2Mapping> {
    return this.peek(g) ?? this.locked(() => this.lookupLocked(g));
  }

  /** lookup() for a caller that holds the mutex. */
  async lookupLocked(g: number): Promise<L2Mapping> {
    const cached = this.peek(g);
    if (cached !== undefined) return cached;
    await this.loadL2(this.l1Entry(Math.floor(g / this.l2Entries)));
    return this.peek(g)!;
  }

  /** Sets guest cluster `g`'s L2 entry (holding the mutex), allocating its L2 table if there is none. */
  async setEntry(g: number, entry: readonly [number, number]): Promise<void> {
    const l1i = Math.floor(g / this.l2Entries);
    let off = this.l1Entry(l1i);
    let t: CachedTable;
    if (off === 0) {
      await this.makeRoom();
      off = await this.refcounts!.allocate();
      t = cachedTable(off, new Uint8Array(this.clusterSize), true);
      this.l2.insert(t);
      const [hi, lo] = encodeL1(off);
      this.l1.setUint32(l1i * 8, hi);
      this.l1.setUint32(l1i * 8 + 4, lo);
      this.l1Dirty.add(l1i);
      this.l2Clusters.add(off / this.clusterSize);
      this.stats.l2Allocations++;
    } else {
      t = await this.loadL2(off);
    }
    // No await between getting the table and changing it: it cannot be evicted in between.
    const at = (g - l1i * this.l2Entries) * 8;
    t.view.setUint32(at, entry[0]);
    t.view.setUint32(at + 4, entry[1]);
    t.dirty = true;
  }

  /** Queues the decrements for the host clusters a mapping held (holding the mutex, after its entry changed). */
  freeMapping(m: L2Mapping): void {
    const rc = this.refcounts!;
    if (m.kind === 'data' || (m.kind === 'zero' && m.host !== 0)) rc.free(m.host / this.clusterSize);
    else if (m.kind === 'compressed') {
      const [first, count] = compressedClusters(m.host, m.length, this.clusterSize);
      for (let c = first; c < first + count; c++) rc.free(c);
    }
  }

  /** Writes all changed metadata in the crash-safe order of the DEVNOTE and syncs (holding the mutex). */
  async flushLocked(): Promise<void> {
    const rc = this.refcounts;
    if (rc === undefined) return;
    const file = this.s.file;
    // Every cluster a refcount counts exists in the file before the refcount is written.
    const end = rc.allocEnd * this.clusterSize;
    if (end > this.fileSize) {
      await file.truncate(end);
      this.fileSize = end;
    }
    await rc.writeDirty();
    const referenced: CachedTable[] = [];
    const fresh: CachedTable[] = [];
    for (const t of this.l2.dirty()) {
      if (!t.fresh) {
        referenced.push(t);
        continue;
      }
      await file.write(t.offset, t.data);
      t.dirty = false;
      fresh.push(t);
    }
    // Unconditional: refcount blocks evicted earlier and new data were written without a sync.
    if (referenced.length > 0 || this.l1Dirty.size > 0) await file.sync();
    for (const t of referenced) {
      await file.write(t.offset, t.data);
      t.dirty = false;
    }
    for (const i of [...this.l1Dirty].sort((a, b) => a - b)) {
      await file.write(this.s.header.l1TableOffset + i * 8, new Uint8Array(this.l1.buffer, i * 8, 8));
    }
    this.l1Dirty.clear();
    // Their L1 entries are written: from now on they are referenced tables.
    for (const t of fresh) t.fresh = false;
    await file.sync();
    if (rc.hasPendingFrees) await rc.applyPendingFrees();
    this.stats.metadataFlushes++;
  }

  /** flushLocked() plus writing the decrements it applied: after it, `qemu-img check` finds no leaks. */
  async closeLocked(): Promise<void> {
    await this.flushLocked();
    if (this.refcounts !== undefined && (await this.refcounts.writeDirty()) > 0) await this.s.file.sync();
  }

  /** Sets the header's corrupt bit so that no writer trusts the image again (best effort). */
  async markCorrupt(): Promise<void> {
    const bits = new Uint8Array(8);
    new DataView(bits.buffer).setBigUint64(0, this.s.header.incompatibleFeatures | INCOMPAT_CORRUPT);
    await this.s.file.write(H.incompatibleFeatures, bits);
    await this.s.file.sync();
  }

  /** The end of the space clusters may occupy: the file, or beyond it what was allocated since. */
  hostLimit(): number {
    return Math.max(this.fileSize, (this.refcounts?.allocEnd ?? 0) * this.clusterSize);
  }

  private l1Entry(l1i: number): number {
    return decodeL1(this.l1.getUint32(l1i * 8), this.l1.getUint32(l1i * 8 + 4), this.clusterSize, this.hostLimit());
  }

  private async loadL2(off: number): Promise<CachedTable> {
    const hit = this.l2.get(off);
    if (hit !== undefined) return hit;
    await this.makeRoom();
    const data = new Uint8Array(this.clusterSize);
    if ((await this.s.file.read(off, data)) < this.clusterSize) throw corrupt(`the L2 table at 0x${off.toString(16)} is truncated`);
    if (this.refcounts?.isRefcountMetadata(off / this.clusterSize)) throw corrupt(`the L2 table at 0x${off.toString(16)} overlaps refcount metadata`);
    const t = cachedTable(off, data);
    this.l2.insert(t);
    return t;
  }

  /** Evicts the least recently used L2 table if the cache is full, writing out changes first. */
  private async makeRoom(): Promise<void> {
    const victim = this.l2.victim();
    if (victim === undefined) return;
    // Writing one changed table safely means writing everything in order.
    if (victim.dirty) await this.flushLocked();
    this.l2.evict(victim.offset);
  }
}
