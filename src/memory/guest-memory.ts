/**
 * Guest RAM: one backing store (a memfd mapping, or a SharedArrayBuffer
 * where there is no mmap) cut into the regions of the machine layout.
 *
 * Every guest-physical address and length that reaches this module comes
 * from the guest and is untrusted: an access outside RAM, or one that runs
 * from one region into the hole after it, is a GuestMemoryError the caller
 * turns into a device error. Nothing here can fault the VMM.
 */
import { type Backing, type BackingDescriptor, attachBacking, createBacking, type BackingKind } from './backing.js';
import { DirtyLog } from './dirty-log.js';
import { type RamRegion, PAGE_SIZE, ramLayout } from './layout.js';

/** An access the guest asked for that does not lie within one RAM region. */
export class GuestMemoryError extends Error {
  constructor(
    readonly gpa: number,
    readonly length: number,
    reason: string,
  ) {
    super(`guest memory access at 0x${gpa.toString(16)} (+${length}) ${reason}`);
    this.name = 'GuestMemoryError';
  }
}

/** What a worker thread needs to map the same guest RAM. */
export interface GuestMemoryDescriptor {
  readonly regions: readonly RamRegion[];
  readonly backing: BackingDescriptor;
}

/** Options for GuestMemory.create. */
export interface GuestMemoryOptions {
  /** "memfd" (shared with workers and KVM), "shared" (SharedArrayBuffer) or "auto". */
  readonly backing?: BackingKind | 'auto';
}

// Typed arrays are capped at 2^32 elements, so RAM is viewed in chunks; an
// access crossing a chunk edge gets a fresh view of just that range.
const CHUNK = 2 ** 30;
// Typed arrays and koffi views stop at 4 GiB; below that one flat view is possible.
const FLAT_LIMIT = 2 ** 32 - PAGE_SIZE;

/** Guest-physical RAM. */
export class GuestMemory {
  /** Total RAM in bytes. */
  readonly size: number;
  private readonly chunks: Uint8Array[] = [];
  private dirty: DirtyLog | null = null;
  private readonly dirtySyncs: Array<(log: DirtyLog) => void> = [];
  private writeObservers: Array<(gpa: number, length: number) => void> = [];
  private closed = false;
  private flatView: Uint8Array | null = null;

  private constructor(
    readonly regions: readonly RamRegion[],
    readonly backing: Backing,
  ) {
    this.size = regions.reduce((n, r) => n + r.size, 0);
    for (let off = 0; off < backing.size; off += CHUNK) {
      this.chunks.push(backing.bytes(off, Math.min(CHUNK, backing.size - off)));
    }
  }

  /** Allocates `size` bytes of zeroed RAM laid out per the machine map. */
  static create(size: number, options: GuestMemoryOptions = {}): GuestMemory {
    const regions = ramLayout(size);
    return new GuestMemory(regions, createBacking(size, options.backing ?? 'auto'));
  }

  /** Maps RAM another thread created (its `describe()`), sharing the pages. */
  static attach(desc: GuestMemoryDescriptor): GuestMemory {
    return new GuestMemory(desc.regions, attachBacking(desc.backing));
  }

  /** What a worker passes to attach(); structured-clonable. */
  describe(): GuestMemoryDescriptor {
    return { regions: this.regions, backing: this.backing.describe() };
  }

  /**
   * Offset in the backing store of [gpa, gpa+length), which must lie in one
   * region. Throws GuestMemoryError otherwise.
   */
  translate(gpa: number, length: number): number {
    if (!(gpa >= 0 && length >= 0 && Number.isSafeInteger(gpa) && Number.isSafeInteger(length))) {
      throw new GuestMemoryError(gpa, length, 'has an invalid address or length');
    }
    for (const r of this.regions) {
      if (gpa >= r.gpa && gpa < r.gpa + r.size) {
        if (gpa + length > r.gpa + r.size) throw new GuestMemoryError(gpa, length, 'runs past the end of RAM region');
        return r.offset + (gpa - r.gpa);
      }
    }
    if (length === 0 && this.regions.some((r) => gpa === r.gpa + r.size)) {
      return this.translate(gpa - 1, 1) + 1;
    }
    throw new GuestMemoryError(gpa, length, 'is outside guest RAM');
  }

  /** True when [gpa, gpa+length) is RAM (in one region). */
  isRam(gpa: number, length = 1): boolean {
    for (const r of this.regions) {
      if (gpa >= r.gpa && gpa + length <= r.gpa + r.size) return true;
    }
    return false;
  }

  /**
   * A zero-copy view of guest RAM. A device that writes through it calls
   * markDirty() for the range (or uses write()).
   */
  view(gpa: number, length: number): Uint8Array {
    this.checkOpen();
    const off = this.translate(gpa, length);
    const c = Math.floor(off / CHUNK);
    const inChunk = off - c * CHUNK;
    if (inChunk + length <= CHUNK) return this.chunks[c]!.subarray(inChunk, inChunk + length);
    return this.backing.bytes(off, length);
  }

  /** A copy of `length` bytes at `gpa`. */
  read(gpa: number, length: number): Uint8Array {
    return this.view(gpa, length).slice();
  }

  /** Copies guest bytes into `dst`. */
  readInto(gpa: number, dst: Uint8Array): void {
    dst.set(this.view(gpa, dst.length));
  }

  /** Copies `src` into guest RAM at `gpa`. */
  write(gpa: number, src: Uint8Array): void {
    this.view(gpa, src.length).set(src);
    this.wrote(gpa, src.length);
  }

  /** Sets `length` bytes at `gpa` to `value`. */
  fill(gpa: number, length: number, value = 0): void {
    this.view(gpa, length).fill(value);
    this.wrote(gpa, length);
  }

  /** Little-endian reads and writes of 1, 2, 4 and 8 bytes. */
  readU8(gpa: number): number {
    return this.view(gpa, 1)[0]!;
  }
  readU16(gpa: number): number {
    const b = this.view(gpa, 2);
    return b[0]! | (b[1]! << 8);
  }
  readU32(gpa: number): number {
    const b = this.view(gpa, 4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }
  readU64(gpa: number): bigint {
    const lo = this.readU32(gpa);
    const hi = this.readU32(gpa + 4);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  writeU8(gpa: number, v: number): void {
    this.view(gpa, 1)[0] = v;
    this.wrote(gpa, 1);
  }
  writeU16(gpa: number, v: number): void {
    const b = this.view(gpa, 2);
    b[0] = v;
    b[1] = v >>> 8;
    this.wrote(gpa, 2);
  }
  writeU32(gpa: number, v: number): void {
    const b = this.view(gpa, 4);
    b[0] = v;
    b[1] = v >>> 8;
    b[2] = v >>> 16;
    b[3] = v >>> 24;
    this.wrote(gpa, 4);
  }
  writeU64(gpa: number, v: bigint): void {
    this.writeU32(gpa, Number(v & 0xffffffffn));
    this.writeU32(gpa + 4, Number((v >> 32n) & 0xffffffffn));
  }

  /**
   * The whole backing store as one byte array, for the software CPU's fast
   * path. Offsets are backing offsets (see translate), not GPAs.
   */
  flat(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0]!;
    if (this.backing.size > FLAT_LIMIT) {
      throw new RangeError(`guest RAM of ${this.backing.size} bytes is too large for a single flat view (at most ${FLAT_LIMIT})`);
    }
    this.flatView ??= this.backing.bytes(0, this.backing.size);
    return this.flatView;
  }

  /** Starts recording which pages are written (for snapshots and migration). */
  startDirtyLog(): DirtyLog {
    this.dirty ??= new DirtyLog(this.regions);
    return this.dirty;
  }

  /** Stops recording. */
  stopDirtyLog(): void {
    this.dirty = null;
  }

  /** The running dirty log, or null. Writers outside this class mark it. */
  get dirtyLog(): DirtyLog | null {
    return this.dirty;
  }

  /**
   * Registers a source of dirty pages this object cannot see (KVM's own
   * dirty log, the emulator's TLB); it is called before the log is read.
   */
  addDirtySync(sync: (log: DirtyLog) => void): void {
    this.dirtySyncs.push(sync);
  }

  /**
   * Reports a write made through a view(): devices that DMA into guest
   * memory through views must call this (the dirty log and the software
   * CPU's decoded-code cache depend on it).
   */
  markDirty(gpa: number, length: number): void {
    this.wrote(gpa, length);
  }

  /**
   * Registers a callback for every write made through this object (not the
   * CPU's own stores): the software CPU drops decoded code a device
   * overwrote. Returns a function that unregisters it.
   */
  observeWrites(observer: (gpa: number, length: number) => void): () => void {
    this.writeObservers = [...this.writeObservers, observer];
    return () => {
      this.writeObservers = this.writeObservers.filter((o) => o !== observer);
    };
  }

  private wrote(gpa: number, length: number): void {
    if (this.dirty) this.dirty.mark(gpa, length);
    for (const o of this.writeObservers) o(gpa, length);
  }

  /** Pulls from every dirty source, then returns and clears the dirty page GPAs. */
  takeDirtyPages(): number[] {
    const log = this.dirty;
    if (!log) throw new Error('dirty logging is not running');
    for (const sync of this.dirtySyncs) sync(log);
    return log.take();
  }

  /**
   * Gives pages back to the host (they read as zero afterwards), e.g. on
   * reset or balloon inflation. Only whole pages inside RAM.
   */
  discard(gpa: number, length: number): void {
    if (gpa % PAGE_SIZE !== 0 || length % PAGE_SIZE !== 0) {
      throw new GuestMemoryError(gpa, length, 'is not page-aligned');
    }
    const off = this.translate(gpa, length);
    this.backing.discard(off, length);
  }

  /** Unmaps the RAM. Views taken earlier must not be used afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.chunks.length = 0;
    this.flatView = null;
    this.backing.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('guest memory is closed');
  }
}
