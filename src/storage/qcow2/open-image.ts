/**
 * Opening a qcow2 image: header, tables, features a writer must honour,
 * backing file. Every problem becomes one DiskOpenError naming the file.
 */
import { DiskError, type Disk } from '../disk.js';
import type { ImageFile } from '../image-file.js';
import { DiskOpenError, ImageFormatError } from '../open-error.js';
import { describeError } from '../range.js';
import { H, INCOMPAT_CORRUPT, INCOMPAT_DIRTY, MAX_CLUSTER_BITS, MIN_CLUSTER_BITS, QCOW2_MAGIC, parseHeader, type Qcow2Header } from './format.js';
import { Qcow2Metadata } from './metadata.js';
import { Qcow2Disk } from './qcow2-disk.js';

/** Formats a backing file may have. */
export type BackingFormat = 'raw' | 'qcow2';

/** Options for openQcow2. */
export interface OpenQcow2Options {
  /** Open for writing (the file must be open read-write). */
  readonly writable: boolean;
  /** Device serial the guest sees (default "tsvmm-qcow2"). */
  readonly serial?: string;
  /** Bytes of L2 tables kept in memory (default: enough for the whole disk, at most 8 MiB). */
  readonly l2CacheBytes?: number;
  /** Bytes of refcount blocks kept in memory (default 1 MiB). */
  readonly refcountCacheBytes?: number;
  /**
   * Opens the backing file the header names (read-only); the format is the
   * header's, or undefined to probe. Without it, images with a backing file
   * fail to open.
   */
  readonly openBacking?: (name: string, format: BackingFormat | undefined) => Promise<Disk>;
  /** Runs after the image is closed (e.g. releases its lock). */
  readonly onClose?: () => Promise<void>;
}

const DEFAULT_L2_CACHE_MAX = 8 * 1024 * 1024;
const DEFAULT_REFCOUNT_CACHE = 1024 * 1024;

/** Reads the header cluster of `file` and parses it (throws ImageFormatError). */
export async function readHeader(file: ImageFile): Promise<{ header: Qcow2Header; fileSize: number }> {
  const fileSize = await file.size();
  const head = new Uint8Array(Math.min(512, fileSize));
  await file.read(0, head);
  let first = head;
  if (head.length >= 24) {
    const dv = new DataView(head.buffer);
    const bits = dv.getUint32(H.clusterBits);
    // Only a sane cluster size is worth reading; parseHeader names anything else.
    if (dv.getUint32(H.magic) === QCOW2_MAGIC && bits >= MIN_CLUSTER_BITS && bits <= MAX_CLUSTER_BITS) {
      first = new Uint8Array(Math.min(2 ** bits, fileSize));
      await file.read(0, first);
    }
  }
  return { header: parseHeader(first, fileSize), fileSize };
}

/** Opens a qcow2 image on an open file; rejects with DiskOpenError. */
export async function openQcow2(file: ImageFile, opts: OpenQcow2Options): Promise<Qcow2Disk> {
  const name = file.name;
  let backing: Disk | undefined;
  try {
    const { header, fileSize } = await readHeader(file);
    if (opts.writable) checkWritable(header);
    const cs = 2 ** header.clusterBits;
    const l2Bytes = opts.l2CacheBytes ?? Math.min(DEFAULT_L2_CACHE_MAX, header.l1Size * cs);
    const meta = await Qcow2Metadata.open({
      file,
      header,
      writable: opts.writable,
      fileSize,
      l2CacheTables: Math.max(4, Math.floor(l2Bytes / cs)),
      refcountCacheBlocks: Math.max(4, Math.floor((opts.refcountCacheBytes ?? DEFAULT_REFCOUNT_CACHE) / cs)),
    });
    // Autoclear bits describe extensions (bitmaps) this writer will not keep up to date.
    if (opts.writable && header.autoclearFeatures !== 0n) {
      await file.write(H.autoclearFeatures, new Uint8Array(8));
      await file.sync();
    }
    if (header.backingFile !== undefined) backing = await openBackingFile(name, header, opts);
    return new Qcow2Disk({
      file,
      header,
      meta,
      writable: opts.writable,
      serial: opts.serial ?? 'tsvmm-qcow2',
      ...(backing !== undefined ? { backing } : {}),
      ...(opts.onClose !== undefined ? { onClose: opts.onClose } : {}),
    });
  } catch (err) {
    await backing?.close().catch(() => {});
    throw toOpenError(name, err);
  }
}

function checkWritable(h: Qcow2Header): void {
  const unsupported = (what: string) => new ImageFormatError('unsupported', `${what}; attach it read-only`);
  if (h.version === 2) throw unsupported('writing version 2 images (`qemu-img amend -o compat=1.1` upgrades them)');
  if (h.incompatibleFeatures & INCOMPAT_CORRUPT) throw new ImageFormatError('corrupt', 'the image is marked corrupt; repair it with `qemu-img check -r all`');
  if (h.incompatibleFeatures & INCOMPAT_DIRTY) {
    throw new ImageFormatError('corrupt', 'the image was not closed cleanly (dirty bit, lazy refcounts); repair it with `qemu-img check -r all`');
  }
  if (h.nbSnapshots > 0) throw unsupported('writing to images with internal snapshots');
}

async function openBackingFile(name: string, h: Qcow2Header, opts: OpenQcow2Options): Promise<Disk> {
  if (opts.openBacking === undefined) throw new ImageFormatError('unsupported', `a backing file (${h.backingFile}) with no way to open it`);
  const format = h.backingFormat;
  if (format !== undefined && format !== 'raw' && format !== 'qcow2') {
    throw new ImageFormatError('unsupported', `backing file format "${format}" (tsvmm reads raw and qcow2)`);
  }
  try {
    return await opts.openBacking(h.backingFile!, format);
  } catch (err) {
    // Name the image that was opened and the file deepest in the chain that failed.
    if (err instanceof DiskOpenError) {
      const inner = err.reason.startsWith('backing file ') ? err.reason : `backing file ${err.message}`;
      throw new DiskOpenError(err.kind, name, inner, { cause: err });
    }
    throw err;
  }
}

function toOpenError(name: string, err: unknown): DiskOpenError {
  if (err instanceof DiskOpenError) return err;
  if (err instanceof ImageFormatError) {
    return new DiskOpenError(err.kind, name, `${err.kind === 'corrupt' ? 'corrupt' : 'unsupported'} qcow2 image: ${err.message}`, { cause: err });
  }
  if (err instanceof DiskError) return new DiskOpenError('io', name, err.message.startsWith(`${name}: `) ? err.message.slice(name.length + 2) : err.message, { cause: err });
  return new DiskOpenError('io', name, describeError(err), { cause: err });
}
