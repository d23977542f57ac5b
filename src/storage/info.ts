/**
 * What `tsvmm disk info` shows: the format, sizes and, for qcow2, the
 * header's settings and flags. Reads the header only; takes no lock.
 */
import { stat } from 'node:fs/promises';
import { NodeImageFile } from './image-file.js';
import { DiskOpenError, ImageFormatError, openErrorFromFs } from './open-error.js';
import { INCOMPAT_CORRUPT, INCOMPAT_DIRTY, QCOW2_MAGIC, type Qcow2Header } from './qcow2/format.js';
import { readHeader } from './qcow2/open-image.js';
import { describeError } from './range.js';
import { DiskError } from './disk.js';

/** A summary of one image file. */
export interface ImageInfo {
  readonly path: string;
  readonly format: 'raw' | 'qcow2';
  /** Bytes the guest sees. */
  readonly virtualSize: number;
  /** The file's length. */
  readonly fileSize: number;
  /** Bytes the file occupies on the host (sparse files use less than their length). */
  readonly diskUsage: number;
  /** qcow2 only. */
  readonly qcow2?: {
    readonly version: 2 | 3;
    readonly clusterSize: number;
    readonly refcountBits: number;
    readonly backingFile?: string;
    readonly backingFormat?: string;
    /** Not closed cleanly by a writer using lazy refcounts. */
    readonly dirty: boolean;
    /** Marked corrupt by a writer that found an inconsistency. */
    readonly corrupt: boolean;
    readonly snapshots: number;
  };
}

/** Reads an image's header; rejects with DiskOpenError (missing, unreadable, corrupt). */
export async function readImageInfo(path: string): Promise<ImageInfo> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw openErrorFromFs(path, err);
  }
  if (!st.isFile()) throw new DiskOpenError('unsupported', path, 'is not a regular file');
  let file: NodeImageFile;
  try {
    file = await NodeImageFile.open(path, false);
  } catch (err) {
    throw openErrorFromFs(path, err);
  }
  const base = { path, fileSize: st.size, diskUsage: st.blocks * 512 };
  try {
    const head = new Uint8Array(4);
    const isQcow2 = (await file.read(0, head)) === 4 && new DataView(head.buffer).getUint32(0) === QCOW2_MAGIC;
    if (!isQcow2) return { ...base, format: 'raw', virtualSize: st.size };
    const { header } = await readHeader(file);
    return { ...base, format: 'qcow2', virtualSize: header.size, qcow2: summary(header) };
  } catch (err) {
    if (err instanceof ImageFormatError) throw new DiskOpenError(err.kind, path, `${err.kind === 'corrupt' ? 'corrupt' : 'unsupported'} qcow2 image: ${err.message}`);
    if (err instanceof DiskError) throw new DiskOpenError('io', path, describeError(err));
    throw err;
  } finally {
    await file.close();
  }
}

function summary(h: Qcow2Header): NonNullable<ImageInfo['qcow2']> {
  return {
    version: h.version,
    clusterSize: 2 ** h.clusterBits,
    refcountBits: 1 << h.refcountOrder,
    ...(h.backingFile !== undefined ? { backingFile: h.backingFile } : {}),
    ...(h.backingFormat !== undefined ? { backingFormat: h.backingFormat } : {}),
    dirty: (h.incompatibleFeatures & INCOMPAT_DIRTY) !== 0n,
    corrupt: (h.incompatibleFeatures & INCOMPAT_CORRUPT) !== 0n,
    snapshots: h.nbSnapshots,
  };
}
