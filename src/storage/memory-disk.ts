/**
 * A disk in memory, for tests and scratch disks. Sparse: storage is taken
 * in 64 KiB chunks as they are written, so a large scratch disk costs only
 * what the guest writes.
 */
import { inspect, type InspectNode } from '../bus/device.js';
import { DiskError, SECTOR_SIZE, type Disk } from './disk.js';
import { checkRange } from './range.js';
import { DiskCounters } from './stats.js';

const CHUNK = 64 * 1024;

/** Options for MemoryDisk. */
export interface MemoryDiskOptions {
  /** Device serial the guest sees (default "tsvmm-memory"). */
  readonly serial?: string;
  /** Initial contents (copied), shorter than or equal to the size. */
  readonly contents?: Uint8Array;
}

/**
 * An in-memory Disk of `size` bytes (a multiple of SECTOR_SIZE). Every call
 * completes in the order made, so overlapping requests follow issue order.
 */
export class MemoryDisk implements Disk {
  readonly readOnly = false;
  readonly serial: string;
  private readonly chunks = new Map<number, Uint8Array>();
  private readonly counters = new DiskCounters();
  private closed = false;

  constructor(
    readonly size: number,
    opts: MemoryDiskOptions = {},
  ) {
    if (!Number.isSafeInteger(size) || size < 0 || size % SECTOR_SIZE !== 0) {
      throw new RangeError(`MemoryDisk: size ${size} is not a whole number of ${SECTOR_SIZE}-byte sectors`);
    }
    this.serial = opts.serial ?? 'tsvmm-memory';
    if (opts.contents !== undefined) {
      if (opts.contents.length > size) throw new RangeError(`MemoryDisk: ${opts.contents.length} bytes of contents exceed the size ${size}`);
      this.copyIn(0, opts.contents);
    }
  }

  /** Bytes of host memory the disk holds. */
  get allocated(): number {
    return this.chunks.size * CHUNK;
  }

  async read(offset: number, into: Uint8Array): Promise<void> {
    this.check('read', offset, into.length);
    this.counters.reads++;
    this.counters.bytesRead += into.length;
    for (let done = 0; done < into.length; ) {
      const pos = offset + done;
      const inChunk = pos % CHUNK;
      const n = Math.min(CHUNK - inChunk, into.length - done);
      const chunk = this.chunks.get(pos - inChunk);
      if (chunk === undefined) into.fill(0, done, done + n);
      else into.set(chunk.subarray(inChunk, inChunk + n), done);
      done += n;
    }
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.check('write', offset, data.length);
    this.counters.writes++;
    this.counters.bytesWritten += data.length;
    this.copyIn(offset, data);
  }

  async flush(): Promise<void> {
    this.check('flush', 0, 0);
    this.counters.flushes++;
  }

  async discard(offset: number, length: number): Promise<void> {
    this.check('discard', offset, length);
    this.counters.discards++;
    this.zero(offset, length);
  }

  async writeZeroes(offset: number, length: number, _unmap: boolean): Promise<void> {
    this.check('writeZeroes', offset, length);
    this.counters.writeZeroes++;
    this.zero(offset, length);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.chunks.clear();
  }

  inspect(): InspectNode {
    return inspect.tree({
      backend: 'memory',
      size: this.size,
      allocated: this.allocated,
      ...this.counters.inspect(),
    });
  }

  private check(what: string, offset: number, length: number): void {
    if (this.closed) throw new DiskError('io', `memory disk: ${what} after close`);
    checkRange(`memory disk: ${what}`, offset, length, this.size);
  }

  private copyIn(offset: number, data: Uint8Array): void {
    for (let done = 0; done < data.length; ) {
      const pos = offset + done;
      const inChunk = pos % CHUNK;
      const n = Math.min(CHUNK - inChunk, data.length - done);
      let chunk = this.chunks.get(pos - inChunk);
      if (chunk === undefined) {
        chunk = new Uint8Array(CHUNK);
        this.chunks.set(pos - inChunk, chunk);
      }
      chunk.set(data.subarray(done, done + n), inChunk);
      done += n;
    }
  }

  private zero(offset: number, length: number): void {
    for (let done = 0; done < length; ) {
      const pos = offset + done;
      const inChunk = pos % CHUNK;
      const n = Math.min(CHUNK - inChunk, length - done);
      const chunk = this.chunks.get(pos - inChunk);
      // Whole chunks are dropped (memory comes back); partial ones are zeroed.
      if (n === CHUNK) this.chunks.delete(pos);
      else chunk?.fill(0, inChunk, inChunk + n);
      done += n;
    }
  }
}
