/**
 * Refcounts of a writable qcow2 image: the refcount table, a bounded cache
 * of refcount blocks, cluster allocation, and growth as the image grows.
 *
 * DEVNOTE (crash consistency): a refcount may be written out at any time as
 * long as it is never lower than the number of references on disk. So
 * increments (allocations) may reach the file before the data and the L2
 * entry that use them (a crash then only leaks the cluster), and decrements
 * are queued (free()) until the metadata owner has made the references'
 * removal durable, then applied (applyPendingFrees()). Structural changes
 * (a new refcount block, a bigger table) are written in place immediately,
 * each piece made durable before anything points at it.
 */
import { DiskError } from '../disk.js';
import type { ImageFile } from '../image-file.js';
import { ImageFormatError } from '../open-error.js';
import { H, MAX_REFTABLE_BYTES, writeU64 } from './format.js';
import { findFree, getRefcount, maxRefcount, setRefcount } from './refcount-codec.js';
import { TableCache, cachedTable, type CachedTable } from './table-cache.js';

/** What Refcounts.load needs to know about the image. */
export interface RefcountSetup {
  readonly file: ImageFile;
  readonly clusterBits: number;
  readonly refcountOrder: number;
  readonly tableOffset: number;
  readonly tableClusters: number;
  readonly fileSize: number;
  /** Refcount blocks kept in memory. */
  readonly cacheBlocks: number;
  /** True for clusters the image's other metadata occupies (header, L1, L2 tables). */
  readonly isOtherMetadata: (cluster: number) => boolean;
}

function corrupt(message: string): ImageFormatError {
  return new ImageFormatError('corrupt', message);
}

// Host offsets must stay exact doubles and fit an L2 entry's offset field.
const MAX_HOST_BYTES = 2 ** 53;

/** The refcount table and blocks of one image (use under the metadata mutex). */
export class Refcounts {
  readonly blocks: TableCache;
  private readonly cs: number;
  private readonly perBlock: number;
  private readonly order: number;
  private table: number[];
  private tableOffset: number;
  private tableClusters: number;
  private readonly blockClusters = new Set<number>();
  private freeHint = 0;
  /** One past the highest cluster allocated or present in the file. */
  allocEnd: number;
  private pending: number[] = [];
  /** Counters for inspect. */
  readonly stats = { allocations: 0, frees: 0, blocksCreated: 0, tableGrowths: 0 };

  private constructor(private readonly s: RefcountSetup, table: number[]) {
    this.cs = 2 ** s.clusterBits;
    this.order = s.refcountOrder;
    this.perBlock = (this.cs * 8) >> s.refcountOrder;
    this.table = table;
    this.tableOffset = s.tableOffset;
    this.tableClusters = s.tableClusters;
    this.blocks = new TableCache(s.cacheBlocks);
    this.allocEnd = Math.ceil(s.fileSize / this.cs);
    for (const off of table) if (off !== 0) this.blockClusters.add(off / this.cs);
  }

  /** Reads and checks the refcount table. */
  static async load(s: RefcountSetup): Promise<Refcounts> {
    const cs = 2 ** s.clusterBits;
    const bytes = new Uint8Array(s.tableClusters * cs);
    if ((await s.file.read(s.tableOffset, bytes)) < bytes.length) throw corrupt('the refcount table is truncated');
    const dv = new DataView(bytes.buffer);
    const table = new Array<number>(bytes.length / 8);
    for (let i = 0; i < table.length; i++) {
      const hi = dv.getUint32(i * 8);
      const lo = dv.getUint32(i * 8 + 4);
      const offset = hi * 0x1_0000_0000 + lo;
      if (offset !== 0 && (hi >= 0x20_0000 || offset % cs !== 0 || offset + cs > s.fileSize)) {
        throw corrupt(`refcount table entry ${i} (0x${offset.toString(16)}) is not a cluster inside the file`);
      }
      table[i] = offset;
    }
    return new Refcounts(s, table);
  }

  /** True for clusters holding the refcount table or a refcount block. */
  isRefcountMetadata(cluster: number): boolean {
    const first = this.tableOffset / this.cs;
    return (cluster >= first && cluster < first + this.tableClusters) || this.blockClusters.has(cluster);
  }

  /** The refcount of a host cluster (0 when no block covers it). */
  async get(cluster: number): Promise<number> {
    const i = Math.floor(cluster / this.perBlock);
    if (i >= this.table.length || this.table[i] === 0) return 0;
    return getRefcount(await this.block(i), cluster - i * this.perBlock, this.order);
  }

  /** Allocates one cluster (refcount 0 -> 1); resolves with its byte offset. */
  async allocate(): Promise<number> {
    for (let c = this.freeHint; ; ) {
      if ((c + 1) * this.cs > MAX_HOST_BYTES) throw new DiskError('io', `${this.s.file.name}: the image cannot grow past 8 PiB`);
      const i = Math.floor(c / this.perBlock);
      if (i >= this.table.length || this.table[i] === 0) {
        // The new block takes the first cluster of its own range, maybe c itself: look again.
        await this.createBlock(i);
        continue;
      }
      const t = await this.block(i);
      const j = findFree(t, c - i * this.perBlock, this.perBlock, this.order);
      if (j < 0) {
        c = (i + 1) * this.perBlock;
        continue;
      }
      c = i * this.perBlock + j;
      if (this.s.isOtherMetadata(c) || this.isRefcountMetadata(c)) throw corrupt(`cluster 0x${(c * this.cs).toString(16)} holds metadata but its refcount is 0`);
      setRefcount(t, j, this.order, 1);
      t.dirty = true;
      this.freeHint = c + 1;
      this.allocEnd = Math.max(this.allocEnd, c + 1);
      this.stats.allocations++;
      return c * this.cs;
    }
  }

  /** Queues a decrement, applied by applyPendingFrees() once no reference on disk remains. */
  free(cluster: number): void {
    this.pending.push(cluster);
  }

  /** Decrements now: for clusters nothing on disk references (an allocation whose write failed). */
  async release(cluster: number): Promise<void> {
    await this.update(cluster, -1);
  }

  /** True when decrements wait for the next barrier. */
  get hasPendingFrees(): boolean {
    return this.pending.length > 0;
  }

  /** Applies the queued decrements (the caller has made the references' removal durable). */
  async applyPendingFrees(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    for (const c of pending) await this.update(c, -1);
    this.stats.frees += pending.length;
  }

  /** Writes every changed block; returns how many. Always safe (see the DEVNOTE). */
  async writeDirty(): Promise<number> {
    const dirty = this.blocks.dirty();
    for (const t of dirty) {
      await this.s.file.write(t.offset, t.data);
      t.dirty = false;
    }
    return dirty.length;
  }

  private async update(cluster: number, delta: number): Promise<void> {
    const i = Math.floor(cluster / this.perBlock);
    if (i >= this.table.length || this.table[i] === 0) {
      throw corrupt(`cluster 0x${(cluster * this.cs).toString(16)} has no refcount block but is in use`);
    }
    const t = await this.block(i);
    const j = cluster - i * this.perBlock;
    const value = getRefcount(t, j, this.order) + delta;
    if (value < 0) throw corrupt(`cluster 0x${(cluster * this.cs).toString(16)} is freed more often than it is referenced`);
    if (value > maxRefcount(this.order)) throw new DiskError('unsupported', `${this.s.file.name}: refcount of cluster ${cluster} overflows`);
    setRefcount(t, j, this.order, value);
    t.dirty = true;
    if (value === 0 && cluster < this.freeHint) this.freeHint = cluster;
  }

  private async block(i: number): Promise<CachedTable> {
    const offset = this.table[i]!;
    const hit = this.blocks.get(offset);
    if (hit !== undefined) return hit;
    const victim = this.blocks.victim();
    if (victim !== undefined) {
      if (victim.dirty) await this.s.file.write(victim.offset, victim.data);
      victim.dirty = false;
      this.blocks.evict(victim.offset);
    }
    const data = new Uint8Array(this.cs);
    if ((await this.s.file.read(offset, data)) < this.cs) throw corrupt(`refcount block at 0x${offset.toString(16)} is truncated`);
    const t = cachedTable(offset, data);
    this.blocks.insert(t);
    return t;
  }

  /** Adds block `i`, covering clusters nobody uses yet, at the first of them (it counts itself). */
  private async createBlock(i: number): Promise<void> {
    if (i >= this.table.length) await this.growTable(i);
    if (this.table[i] !== 0) return;
    const c = i * this.perBlock;
    if (this.s.isOtherMetadata(c) || this.isRefcountMetadata(c)) throw corrupt(`cluster 0x${(c * this.cs).toString(16)} holds metadata but has no refcount block`);
    const t = cachedTable(c * this.cs, new Uint8Array(this.cs));
    setRefcount(t, 0, this.order, 1);
    // The block must be durable before the table points at it.
    await this.s.file.write(t.offset, t.data);
    await this.s.file.sync();
    await this.setTableEntry(i, t.offset);
    await this.makeRoom();
    this.blocks.insert(t);
    this.allocEnd = Math.max(this.allocEnd, c + 1);
    this.stats.blocksCreated++;
  }

  private async setTableEntry(i: number, offset: number): Promise<void> {
    const entry = new Uint8Array(8);
    writeU64(new DataView(entry.buffer), 0, offset);
    await this.s.file.write(this.tableOffset + i * 8, entry);
    this.table[i] = offset;
    this.blockClusters.add(offset / this.cs);
  }

  private async makeRoom(): Promise<void> {
    const victim = this.blocks.victim();
    if (victim === undefined) return;
    if (victim.dirty) await this.s.file.write(victim.offset, victim.data);
    victim.dirty = false;
    this.blocks.evict(victim.offset);
  }

  /**
   * Moves the refcount table to a bigger one at the end of the image, with
   * new blocks after it for the clusters it and they occupy. Written and
   * made durable before the header switches to it; the old table is freed
   * after.
   */
  private async growTable(need: number): Promise<void> {
    const perTableCluster = this.cs / 8;
    const start = this.allocEnd;
    let clusters = Math.max(Math.ceil((need + 1) / perTableCluster), Math.ceil((this.tableClusters * 3) / 2));
    let fresh: number[] = [];
    // Fixed point: the blocks covering [start, end) may themselves need covering.
    for (;;) {
      const end = start + clusters + fresh.length;
      const missing: number[] = [];
      for (let b = Math.floor(start / this.perBlock); b <= Math.floor((end - 1) / this.perBlock); b++) {
        if (b >= this.table.length || this.table[b] === 0) missing.push(b);
      }
      const highest = Math.max(need, ...missing);
      if (highest >= clusters * perTableCluster) {
        clusters = Math.ceil((highest + 1) / perTableCluster);
        continue;
      }
      if (missing.length === fresh.length) break;
      fresh = missing;
    }
    if (clusters * this.cs > MAX_REFTABLE_BYTES) throw new DiskError('io', `${this.s.file.name}: the refcount table would exceed ${MAX_REFTABLE_BYTES} bytes`);
    const end = start + clusters + fresh.length;
    const newBlocks = new Map<number, CachedTable>();
    fresh.forEach((b, k) => newBlocks.set(b, cachedTable((start + clusters + k) * this.cs, new Uint8Array(this.cs))));
    for (let c = start; c < end; c++) {
      const b = Math.floor(c / this.perBlock);
      const t = newBlocks.get(b);
      if (t !== undefined) setRefcount(t, c - b * this.perBlock, this.order, 1);
      else await this.update(c, +1);
    }
    const table = this.table.concat(new Array<number>(clusters * perTableCluster - this.table.length).fill(0));
    for (const [b, t] of newBlocks) table[b] = t.offset;
    const bytes = new Uint8Array(clusters * this.cs);
    const dv = new DataView(bytes.buffer);
    table.forEach((off, k) => writeU64(dv, k * 8, off));
    for (const t of newBlocks.values()) await this.s.file.write(t.offset, t.data);
    await this.writeDirty();
    await this.s.file.write(start * this.cs, bytes);
    await this.s.file.sync();
    const header = new Uint8Array(12);
    writeU64(new DataView(header.buffer), 0, start * this.cs);
    new DataView(header.buffer).setUint32(8, clusters);
    await this.s.file.write(H.refcountTableOffset, header);
    await this.s.file.sync();

    const oldFirst = this.tableOffset / this.cs;
    const oldCount = this.tableClusters;
    this.table = table;
    this.tableOffset = start * this.cs;
    this.tableClusters = clusters;
    for (const t of newBlocks.values()) this.blockClusters.add(t.offset / this.cs);
    this.allocEnd = Math.max(this.allocEnd, end);
    this.stats.tableGrowths++;
    // Nothing on disk points at the old table any more.
    for (let c = oldFirst; c < oldFirst + oldCount; c++) await this.update(c, -1);
  }
}
