/**
 * A bounded, least-recently-used cache of metadata clusters (L2 tables,
 * refcount blocks), keyed by their offset in the image file. It only holds
 * entries: writing dirty ones out before eviction, in the right order, is
 * the owner's job (metadata.ts, refcounts.ts).
 */

/** One cached cluster of metadata. */
export interface CachedTable {
  /** Where it lives in the image file. */
  readonly offset: number;
  readonly data: Uint8Array;
  readonly view: DataView;
  /** Changed since it was last written. */
  dirty: boolean;
  /** Newly allocated and not yet referenced from disk: safe to write before any barrier. */
  fresh: boolean;
}

/** Builds a cache entry over `data`. */
export function cachedTable(offset: number, data: Uint8Array, fresh = false): CachedTable {
  return { offset, data, view: new DataView(data.buffer, data.byteOffset, data.byteLength), dirty: fresh, fresh };
}

/** An LRU map of CachedTable with a fixed capacity. */
export class TableCache {
  // Map iteration order is insertion order: re-inserting on use keeps the
  // least recently used entry first.
  private readonly map = new Map<number, CachedTable>();
  hits = 0;
  misses = 0;

  constructor(readonly capacity: number) {
    if (capacity < 2) throw new RangeError(`TableCache: capacity ${capacity} is below 2`);
  }

  /** The entry at `offset`, marked most recently used; counts a hit or a miss. */
  get(offset: number): CachedTable | undefined {
    const t = this.map.get(offset);
    if (t === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(offset);
    this.map.set(offset, t);
    return t;
  }

  /** Like get() without touching the order or the counters. */
  peek(offset: number): CachedTable | undefined {
    return this.map.get(offset);
  }

  /** Adds an entry; the caller has made room (see victim()). */
  insert(t: CachedTable): void {
    this.map.delete(t.offset);
    this.map.set(t.offset, t);
  }

  /** The entry to evict before inserting, or undefined while there is room. */
  victim(): CachedTable | undefined {
    if (this.map.size < this.capacity) return undefined;
    return this.map.values().next().value;
  }

  /** Drops an entry (after it was written, if dirty). */
  evict(offset: number): void {
    this.map.delete(offset);
  }

  /** Entries that need writing, in no particular order. */
  dirty(): CachedTable[] {
    const out: CachedTable[] = [];
    for (const t of this.map.values()) if (t.dirty) out.push(t);
    return out;
  }

  /** Number of entries held. */
  get size(): number {
    return this.map.size;
  }
}
