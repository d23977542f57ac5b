/**
 * The Disk contract every storage backend implements (raw file, memory,
 * read-only wrapper, copy-on-write overlay, qcow2) and virtio-blk uses.
 *
 * DEVNOTE: byte offsets and lengths are numbers (a disk is far below 2^53
 * bytes) and every call is asynchronous: a device starts requests and
 * completes them by raising an interrupt when the promise settles. Several
 * requests may be in flight at once; a backend that needs ordering (qcow2
 * metadata) serialises internally.
 *
 * Ordering every backend here guarantees (request-order.ts): overlapping
 * requests take effect in the order they were called, as if run one at a
 * time, so a later write wins and a read sees every write called before it;
 * disjoint requests run in parallel. flush() covers every write called
 * before it, finished or not. A rejected request leaves its range unknown.
 */
import type { InspectNode } from '../bus/device.js';

/** Logical sector size every tsvmm disk presents. */
export const SECTOR_SIZE = 512;

/** A request the backend cannot carry out (I/O error, out of range, read-only). */
export class DiskError extends Error {
  constructor(
    /** "io" (host error), "range" (beyond the end), "readonly", "unsupported". */
    readonly kind: 'io' | 'range' | 'readonly' | 'unsupported',
    message: string,
  ) {
    super(message);
    this.name = 'DiskError';
  }
}

/** A block device backend. */
export interface Disk {
  /** Capacity in bytes (a multiple of SECTOR_SIZE). */
  readonly size: number;
  readonly readOnly: boolean;
  /** Up to 20 bytes the guest sees as the device serial (virtio-blk GET_ID). */
  readonly serial: string;
  /** Fills `into` from `offset`; rejects with DiskError. */
  read(offset: number, into: Uint8Array): Promise<void>;
  /** Writes `data` at `offset`. Not durable until flush() resolves. */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Makes every completed write durable (fsync) before resolving. */
  flush(): Promise<void>;
  /** The range's contents are no longer needed (may read back as anything, usually zeros). */
  discard(offset: number, length: number): Promise<void>;
  /** The range reads back as zeros afterwards; `unmap` allows deallocating it. */
  writeZeroes(offset: number, length: number, unmap: boolean): Promise<void>;
  /** Flushes and releases files and locks. */
  close(): Promise<void>;
  inspect(): InspectNode;
}
