/**
 * The qcow2 header: constants, parsing with every field checked, and
 * encoding for new images. Names follow QEMU's docs/interop/qcow2.txt.
 *
 * The header is untrusted input: parseHeader() either returns values that
 * are safe to use (aligned, inside the file, bounded sizes) or throws an
 * ImageFormatError naming the field. Table contents are checked where they
 * are used (entries.ts, metadata.ts).
 */
import { ImageFormatError } from '../open-error.js';

/** "QFI\xfb" */
export const QCOW2_MAGIC = 0x514649fb;
/** Smallest and largest cluster_bits QEMU accepts (512 B .. 2 MiB). */
export const MIN_CLUSTER_BITS = 9;
/** Largest cluster_bits. */
export const MAX_CLUSTER_BITS = 21;
/** The cluster size `tsvmm disk create` uses, as QEMU's default. */
export const DEFAULT_CLUSTER_BITS = 16;
/** Bytes of a version 2 header; a version 3 header is at least V3_HEADER_MIN. */
export const V2_HEADER_LENGTH = 72;
/** Smallest valid version 3 header_length. */
export const V3_HEADER_MIN = 104;
/** The header length new images get (104 + compression_type byte, padded to 8). */
export const V3_HEADER_LENGTH = 112;
/** QEMU's limits on table sizes (bytes), which bound what opening an image may allocate. */
export const MAX_L1_BYTES = 32 * 1024 * 1024;
/** Largest refcount table QEMU writes. */
export const MAX_REFTABLE_BYTES = 8 * 1024 * 1024;
/** Largest snapshot count QEMU accepts. */
export const MAX_SNAPSHOTS = 65536;
/** Longest backing file name QEMU accepts. */
export const MAX_BACKING_NAME = 1023;

/** Incompatible feature bits. */
export const INCOMPAT_DIRTY = 1n << 0n;
/** The image was marked corrupt by a writer that found an inconsistency. */
export const INCOMPAT_CORRUPT = 1n << 1n;
/** Guest data lives in a separate file. */
export const INCOMPAT_DATA_FILE = 1n << 2n;
/** compression_type is meaningful. */
export const INCOMPAT_COMPRESSION = 1n << 3n;
/** L2 entries are 128 bits with subcluster bitmaps. */
export const INCOMPAT_EXTL2 = 1n << 4n;
const INCOMPAT_KNOWN = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE | INCOMPAT_COMPRESSION | INCOMPAT_EXTL2;

/** Header extension types. */
export const EXT_END = 0;
/** Backing file format name (e.g. "raw"). */
export const EXT_BACKING_FORMAT = 0xe2792aca;
/** Names for feature bits, shown when an unknown one is set. */
export const EXT_FEATURE_TABLE = 0x6803f857;

/** Header field offsets (bytes). */
export const H = {
  magic: 0,
  version: 4,
  backingFileOffset: 8,
  backingFileSize: 16,
  clusterBits: 20,
  size: 24,
  cryptMethod: 32,
  l1Size: 36,
  l1TableOffset: 40,
  refcountTableOffset: 48,
  refcountTableClusters: 56,
  nbSnapshots: 60,
  snapshotsOffset: 64,
  incompatibleFeatures: 72,
  compatibleFeatures: 80,
  autoclearFeatures: 88,
  refcountOrder: 96,
  headerLength: 100,
  compressionType: 104,
} as const;

/** A parsed, validated header (version 2 images get version 3 defaults). */
export interface Qcow2Header {
  readonly version: 2 | 3;
  readonly clusterBits: number;
  /** Virtual size in bytes, as stored (not rounded). */
  readonly size: number;
  readonly l1Size: number;
  readonly l1TableOffset: number;
  readonly refcountTableOffset: number;
  readonly refcountTableClusters: number;
  readonly nbSnapshots: number;
  readonly snapshotsOffset: number;
  readonly incompatibleFeatures: bigint;
  readonly compatibleFeatures: bigint;
  readonly autoclearFeatures: bigint;
  readonly refcountOrder: number;
  readonly headerLength: number;
  readonly compressionType: number;
  /** The backing file name as stored, if any. */
  readonly backingFile?: string;
  /** The backing file's format from the header extension, if given. */
  readonly backingFormat?: string;
}

/** Bytes of virtual disk one L2 table maps. */
export function l2Coverage(clusterBits: number): number {
  return 2 ** (2 * clusterBits - 3);
}

/** L1 entries needed for a virtual size. */
export function l1EntriesFor(size: number, clusterBits: number): number {
  return Math.ceil(size / l2Coverage(clusterBits));
}

function corrupt(message: string): ImageFormatError {
  return new ImageFormatError('corrupt', message);
}

/** Reads a big-endian u64 that must be a safe integer (every offset and size tsvmm can use is). */
export function readU64(dv: DataView, at: number, what: string): number {
  const hi = dv.getUint32(at);
  const lo = dv.getUint32(at + 4);
  if (hi >= 0x200000) throw corrupt(`${what} 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} is too large`);
  return hi * 0x1_0000_0000 + lo;
}

/** Writes a big-endian u64 from a safe integer. */
export function writeU64(dv: DataView, at: number, value: number): void {
  dv.setUint32(at, Math.floor(value / 0x1_0000_0000));
  dv.setUint32(at + 4, value >>> 0);
}

/**
 * Parses and checks the header. `first` holds the start of the file, at
 * least the whole first cluster when the file is that long; `fileSize` is
 * the file's length (tables must lie inside it).
 */
export function parseHeader(first: Uint8Array, fileSize: number): Qcow2Header {
  if (first.length < V2_HEADER_LENGTH) throw corrupt(`the file is too short for a qcow2 header (${first.length} bytes)`);
  const dv = new DataView(first.buffer, first.byteOffset, first.byteLength);
  if (dv.getUint32(H.magic) !== QCOW2_MAGIC) throw corrupt('no qcow2 magic (QFI\\xfb) at the start of the file');
  const version = dv.getUint32(H.version);
  if (version !== 2 && version !== 3) throw new ImageFormatError('unsupported', `qcow2 version ${version} (tsvmm reads versions 2 and 3)`);
  const clusterBits = dv.getUint32(H.clusterBits);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw corrupt(`cluster_bits ${clusterBits} is outside ${MIN_CLUSTER_BITS}..${MAX_CLUSTER_BITS}`);
  }
  const cs = 2 ** clusterBits;
  let headerLength = V2_HEADER_LENGTH;
  let incompatibleFeatures = 0n;
  let compatibleFeatures = 0n;
  let autoclearFeatures = 0n;
  let refcountOrder = 4;
  let compressionType = 0;
  if (version === 3) {
    if (first.length < V3_HEADER_MIN) throw corrupt(`the file is too short for a version 3 header (${first.length} bytes)`);
    headerLength = dv.getUint32(H.headerLength);
    if (headerLength < V3_HEADER_MIN || headerLength > cs) throw corrupt(`header_length ${headerLength} is outside ${V3_HEADER_MIN}..${cs}`);
    if (headerLength > first.length) throw corrupt(`header_length ${headerLength} runs past the end of the file`);
    incompatibleFeatures = dv.getBigUint64(H.incompatibleFeatures);
    compatibleFeatures = dv.getBigUint64(H.compatibleFeatures);
    autoclearFeatures = dv.getBigUint64(H.autoclearFeatures);
    refcountOrder = dv.getUint32(H.refcountOrder);
    if (refcountOrder > 6) throw corrupt(`refcount_order ${refcountOrder} is larger than 6`);
    if (headerLength > H.compressionType) compressionType = dv.getUint8(H.compressionType);
  }
  const cryptMethod = dv.getUint32(H.cryptMethod);
  if (cryptMethod !== 0) throw new ImageFormatError('unsupported', `encrypted images (crypt_method ${cryptMethod})`);

  const size = readU64(dv, H.size, 'size');
  const l1Size = dv.getUint32(H.l1Size);
  if (l1Size * 8 > MAX_L1_BYTES) throw corrupt(`l1_size ${l1Size} is larger than QEMU's limit of ${MAX_L1_BYTES / 8} entries`);
  if (l1Size < l1EntriesFor(size, clusterBits)) throw corrupt(`l1_size ${l1Size} is too small for a virtual size of ${size} bytes`);
  const l1TableOffset = readU64(dv, H.l1TableOffset, 'l1_table_offset');
  if (l1Size > 0) checkTable('L1 table', l1TableOffset, l1Size * 8, cs, fileSize);

  const refcountTableOffset = readU64(dv, H.refcountTableOffset, 'refcount_table_offset');
  const refcountTableClusters = dv.getUint32(H.refcountTableClusters);
  if (refcountTableClusters === 0 || refcountTableClusters * cs > MAX_REFTABLE_BYTES) {
    throw corrupt(`refcount_table_clusters ${refcountTableClusters} is outside 1..${MAX_REFTABLE_BYTES / cs}`);
  }
  checkTable('refcount table', refcountTableOffset, refcountTableClusters * cs, cs, fileSize);

  const nbSnapshots = dv.getUint32(H.nbSnapshots);
  const snapshotsOffset = readU64(dv, H.snapshotsOffset, 'snapshots_offset');
  if (nbSnapshots > MAX_SNAPSHOTS) throw corrupt(`nb_snapshots ${nbSnapshots} is larger than ${MAX_SNAPSHOTS}`);
  if (nbSnapshots > 0 && snapshotsOffset % cs !== 0) throw corrupt(`snapshots_offset 0x${snapshotsOffset.toString(16)} is not cluster-aligned`);

  const backingOffset = readU64(dv, H.backingFileOffset, 'backing_file_offset');
  const backingSize = dv.getUint32(H.backingFileSize);
  const headerEnd = Math.min(first.length, cs);
  let backingFile: string | undefined;
  if (backingOffset !== 0) {
    if (backingSize === 0 || backingSize > MAX_BACKING_NAME) throw corrupt(`backing_file_size ${backingSize} is outside 1..${MAX_BACKING_NAME}`);
    if (backingOffset < headerLength || backingOffset + backingSize > headerEnd) {
      throw corrupt(`the backing file name (${backingSize} bytes at ${backingOffset}) is not inside the first cluster after the header`);
    }
    backingFile = new TextDecoder().decode(first.subarray(backingOffset, backingOffset + backingSize));
    if (backingFile.includes('\0')) throw corrupt('the backing file name contains a NUL byte');
  }

  const ext = parseExtensions(first, headerLength, backingOffset !== 0 ? backingOffset : headerEnd);
  checkFeatures(incompatibleFeatures, ext.featureNames, compressionType);
  return {
    version,
    clusterBits,
    size,
    l1Size,
    l1TableOffset,
    refcountTableOffset,
    refcountTableClusters,
    nbSnapshots,
    snapshotsOffset,
    incompatibleFeatures,
    compatibleFeatures,
    autoclearFeatures,
    refcountOrder,
    headerLength,
    compressionType,
    ...(backingFile !== undefined ? { backingFile } : {}),
    ...(ext.backingFormat !== undefined ? { backingFormat: ext.backingFormat } : {}),
  };
}

function checkTable(what: string, offset: number, bytes: number, cs: number, fileSize: number): void {
  if (offset === 0 || offset % cs !== 0) throw corrupt(`${what} offset 0x${offset.toString(16)} is not a cluster-aligned offset after the header`);
  if (offset + bytes > fileSize) throw corrupt(`${what} (${bytes} bytes at 0x${offset.toString(16)}) runs past the end of the file (${fileSize} bytes)`);
}

interface Extensions {
  backingFormat?: string;
  featureNames: Map<string, string>;
}

function parseExtensions(first: Uint8Array, start: number, end: number): Extensions {
  const dv = new DataView(first.buffer, first.byteOffset, first.byteLength);
  const out: Extensions = { featureNames: new Map() };
  // Each extension advances by at least 8 bytes, so the loop is bounded by the cluster.
  for (let at = start; at + 8 <= end; ) {
    const type = dv.getUint32(at);
    const length = dv.getUint32(at + 4);
    if (type === EXT_END) break;
    const data = at + 8;
    if (data + length > end) throw corrupt(`header extension 0x${type.toString(16)} (${length} bytes at ${at}) runs past the header area`);
    if (type === EXT_BACKING_FORMAT) {
      out.backingFormat = new TextDecoder().decode(first.subarray(data, data + length));
    } else if (type === EXT_FEATURE_TABLE) {
      for (let e = data; e + 48 <= data + length; e += 48) {
        const raw = first.subarray(e + 2, e + 48);
        const nul = raw.indexOf(0);
        out.featureNames.set(`${first[e]}:${first[e + 1]}`, new TextDecoder().decode(nul < 0 ? raw : raw.subarray(0, nul)));
      }
    }
    at = data + Math.ceil(length / 8) * 8;
  }
  return out;
}

function checkFeatures(incompatible: bigint, names: Map<string, string>, compressionType: number): void {
  const unknown = incompatible & ~INCOMPAT_KNOWN;
  if (unknown !== 0n) {
    const bits: string[] = [];
    for (let b = 0; b < 64; b++) {
      if ((unknown >> BigInt(b)) & 1n) bits.push(names.get(`0:${b}`) ?? `bit ${b}`);
    }
    throw new ImageFormatError('unsupported', `unknown incompatible features: ${bits.join(', ')}`);
  }
  if (incompatible & INCOMPAT_DATA_FILE) throw new ImageFormatError('unsupported', 'images with an external data file');
  if (incompatible & INCOMPAT_EXTL2) throw new ImageFormatError('unsupported', 'extended L2 entries (subclusters)');
  if (compressionType === 1) throw new ImageFormatError('unsupported', 'zstd-compressed images (tsvmm reads deflate)');
  if (compressionType !== 0) throw corrupt(`unknown compression_type ${compressionType}`);
}

/** What a new image's header holds. */
export interface NewHeader {
  readonly clusterBits: number;
  readonly size: number;
  readonly l1Size: number;
  readonly l1TableOffset: number;
  readonly refcountTableOffset: number;
  readonly refcountTableClusters: number;
  readonly backingFile?: string;
  readonly backingFormat?: string;
}

/** Encodes a version 3 header with its extensions and backing name, as the first cluster's bytes. */
export function encodeHeader(h: NewHeader): Uint8Array {
  const cs = 2 ** h.clusterBits;
  const out = new Uint8Array(cs);
  const dv = new DataView(out.buffer);
  dv.setUint32(H.magic, QCOW2_MAGIC);
  dv.setUint32(H.version, 3);
  dv.setUint32(H.clusterBits, h.clusterBits);
  writeU64(dv, H.size, h.size);
  dv.setUint32(H.l1Size, h.l1Size);
  writeU64(dv, H.l1TableOffset, h.l1TableOffset);
  writeU64(dv, H.refcountTableOffset, h.refcountTableOffset);
  dv.setUint32(H.refcountTableClusters, h.refcountTableClusters);
  dv.setUint32(H.refcountOrder, 4);
  dv.setUint32(H.headerLength, V3_HEADER_LENGTH);
  let at = V3_HEADER_LENGTH;
  const enc = new TextEncoder();
  if (h.backingFormat !== undefined) {
    const name = enc.encode(h.backingFormat);
    dv.setUint32(at, EXT_BACKING_FORMAT);
    dv.setUint32(at + 4, name.length);
    out.set(name, at + 8);
    at += 8 + Math.ceil(name.length / 8) * 8;
  }
  at += 8; // the end-of-extensions marker: type 0, length 0
  if (h.backingFile !== undefined) {
    const name = enc.encode(h.backingFile);
    if (name.length > MAX_BACKING_NAME || at + name.length > cs) throw new RangeError(`backing file name of ${name.length} bytes is too long`);
    writeU64(dv, H.backingFileOffset, at);
    dv.setUint32(H.backingFileSize, name.length);
    out.set(name, at);
  }
  return out;
}
