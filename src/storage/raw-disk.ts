/**
 * A raw image: guest byte N is file byte N. Requests go straight to
 * positioned reads and writes on libuv's thread pool, many in flight.
 *
 * DEVNOTE: discard punches a hole when the host has fallocate (host-ops.ts);
 * without it discard does nothing rather than write zeros, because a guest's
 * fstrim would otherwise write the whole free space and un-sparse the file.
 * writeZeroes always leaves zeros (a hole, or written zeros).
 */
import { inspect, type InspectNode } from '../bus/device.js';
import { DiskError, SECTOR_SIZE, type Disk } from './disk.js';
import type { ImageFile } from './image-file.js';
import { checkRange, roundUp } from './range.js';
import { RequestOrder } from './request-order.js';
import { DiskCounters } from './stats.js';

/** Zeros written per request by writeZeroes when no hole can be punched. */
const ZERO_CHUNK = 1024 * 1024;
let zeroChunk: Uint8Array | undefined;

/** Options for RawDisk.open. */
export interface RawDiskOptions {
  /** Refuse writes (the file should then be open read-only). */
  readonly readOnly?: boolean;
  /** Device serial the guest sees. */
  readonly serial?: string;
  /** Called when the host releases the file (close). */
  readonly onClose?: () => Promise<void>;
}

/** A Disk over a raw image file. */
export class RawDisk implements Disk {
  readonly readOnly: boolean;
  readonly serial: string;
  private readonly order = new RequestOrder();
  private readonly counters = new DiskCounters();
  private punched = 0;
  private closed = false;

  private constructor(
    private readonly file: ImageFile,
    readonly size: number,
    /** The file's length when opened; reads beyond it (the padding to a sector) are zeros. */
    private fileLength: number,
    private readonly opts: RawDiskOptions,
  ) {
    this.readOnly = opts.readOnly ?? false;
    this.serial = opts.serial ?? 'tsvmm-raw';
  }

  /** A RawDisk over an open file; its size is the file's, rounded up to a whole sector. */
  static async open(file: ImageFile, opts: RawDiskOptions = {}): Promise<RawDisk> {
    const length = await file.size();
    return new RawDisk(file, roundUp(length, SECTOR_SIZE), length, opts);
  }

  // Methods are async so a bad request rejects rather than throws; everything
  // before the first await (the checks and order.run) still happens at the call.
  async read(offset: number, into: Uint8Array): Promise<void> {
    this.check('read', offset, into.length, false);
    this.counters.reads++;
    this.counters.bytesRead += into.length;
    return this.counters.track(
      this.order.run(offset, into.length, false, async () => {
        const n = await this.file.read(offset, into);
        // Only the padding of a file whose length is not a whole sector reads short.
        if (n < into.length) into.fill(0, n);
      }),
    );
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.check('write', offset, data.length, true);
    this.counters.writes++;
    this.counters.bytesWritten += data.length;
    return this.counters.track(this.order.run(offset, data.length, true, () => this.writeAt(offset, data)));
  }

  async flush(): Promise<void> {
    this.check('flush', 0, 0, false);
    this.counters.flushes++;
    if (this.readOnly) return;
    return this.counters.track(this.order.writesSettled().then(() => this.file.sync()));
  }

  async discard(offset: number, length: number): Promise<void> {
    this.check('discard', offset, length, true);
    this.counters.discards++;
    return this.counters.track(
      this.order.run(offset, length, true, async () => {
        if (await this.punch(offset, length)) this.punched += length;
      }),
    );
  }

  async writeZeroes(offset: number, length: number, unmap: boolean): Promise<void> {
    this.check('writeZeroes', offset, length, true);
    this.counters.writeZeroes++;
    return this.counters.track(
      this.order.run(offset, length, true, async () => {
        if (unmap && (await this.punch(offset, length))) {
          this.punched += length;
          return;
        }
        zeroChunk ??= new Uint8Array(ZERO_CHUNK);
        for (let done = 0; done < length; done += ZERO_CHUNK) {
          await this.writeAt(offset + done, zeroChunk.subarray(0, Math.min(ZERO_CHUNK, length - done)));
        }
      }),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.order.idle();
      if (!this.readOnly) await this.file.sync();
    } finally {
      await this.file.close();
      await this.opts.onClose?.();
    }
  }

  inspect(): InspectNode {
    return inspect.tree({
      backend: 'raw',
      file: this.file.name,
      size: this.size,
      readOnly: this.readOnly,
      inFlight: this.order.pending,
      punchedBytes: inspect.counter(this.punched),
      ...this.counters.inspect(),
    });
  }

  private async writeAt(offset: number, data: Uint8Array): Promise<void> {
    await this.file.write(offset, data);
    this.fileLength = Math.max(this.fileLength, offset + data.length);
  }

  /** Punches a hole over the part of the range inside the file; false when the host cannot. */
  private punch(offset: number, length: number): Promise<boolean> {
    const end = Math.min(offset + length, this.fileLength);
    return end <= offset ? Promise.resolve(true) : this.file.punchHole(offset, end - offset);
  }

  private check(what: string, offset: number, length: number, write: boolean): void {
    if (this.closed) throw new DiskError('io', `${this.file.name}: ${what} after close`);
    if (write && this.readOnly) throw new DiskError('readonly', `${this.file.name}: ${what}: the disk is read-only`);
    checkRange(`${this.file.name}: ${what}`, offset, length, this.size);
  }
}
