/**
 * L1 and L2 table entries: 64-bit big-endian words, read as two 32-bit
 * halves so the hot path needs no BigInt.
 *
 * L1: bits 9-55 the L2 table's offset, bit 63 "copied" (refcount is 1).
 * L2, standard cluster: bit 0 reads-as-zero, bits 9-55 host offset, bit 63
 * copied. L2, compressed (bit 62): the low x = 62 - (cluster_bits - 8) bits
 * are the byte offset of the deflate stream, bits x..61 the number of
 * 512-byte sectors it spans beyond the first.
 */
import { ImageFormatError } from '../open-error.js';

const TWO32 = 0x1_0000_0000;
const COPIED = 0x8000_0000;
const COMPRESSED = 0x4000_0000;

/** What one L2 entry says about its guest cluster. */
export type L2Mapping =
  /** Not allocated here: read from the backing file (or zeros without one). */
  | { readonly kind: 'unallocated' }
  /** Reads as zeros; `host` is a preallocated cluster kept for later writes, or 0. */
  | { readonly kind: 'zero'; readonly host: number; readonly copied: boolean }
  /** Data at `host` (cluster-aligned); `copied` means this is the only reference. */
  | { readonly kind: 'data'; readonly host: number; readonly copied: boolean }
  /** A deflate stream of `length` bytes at `host` (any byte offset). */
  | { readonly kind: 'compressed'; readonly host: number; readonly length: number };

/** The shared "unallocated" mapping (no allocation per lookup). */
export const UNALLOCATED: L2Mapping = { kind: 'unallocated' };

function corrupt(message: string): ImageFormatError {
  return new ImageFormatError('corrupt', message);
}

/** The standard offset field (bits 9-55) of an entry's halves; throws past 2^53. */
function standardOffset(hi: number, lo: number, what: string): number {
  const high = hi & 0x00ff_ffff;
  if (high >= 0x20_0000) throw corrupt(`${what} offset is beyond 8 PiB`);
  return high * TWO32 + ((lo & 0xffff_fe00) >>> 0);
}

/** Decodes an L1 entry: the L2 table's offset (0 = no table), checked against the cluster size and file. */
export function decodeL1(hi: number, lo: number, clusterSize: number, fileLimit: number): number {
  const offset = standardOffset(hi, lo, 'L1 entry');
  if (offset === 0) return 0;
  if (offset % clusterSize !== 0) throw corrupt(`L2 table offset 0x${offset.toString(16)} is not cluster-aligned`);
  if (offset + clusterSize > fileLimit) throw corrupt(`L2 table at 0x${offset.toString(16)} lies past the end of the file`);
  return offset;
}

/** Encodes an L1 entry pointing at an L2 table with refcount 1. */
export function encodeL1(offset: number): [number, number] {
  return offset === 0 ? [0, 0] : [(COPIED | Math.floor(offset / TWO32)) >>> 0, offset >>> 0];
}

/** Decodes an L2 entry of an image with `clusterBits`; `v2` images have no zero flag. */
export function decodeL2(hi: number, lo: number, clusterBits: number, v2: boolean): L2Mapping {
  if (hi === 0 && lo === 0) return UNALLOCATED;
  if (hi & COMPRESSED) return decodeCompressed(hi, lo, clusterBits);
  const copied = (hi & COPIED) !== 0;
  const host = standardOffset(hi, lo, 'L2 entry');
  if (host % 2 ** clusterBits !== 0) throw corrupt(`data cluster offset 0x${host.toString(16)} is not cluster-aligned`);
  if (!v2 && lo & 1) return { kind: 'zero', host, copied };
  return host === 0 ? UNALLOCATED : { kind: 'data', host, copied };
}

function decodeCompressed(hi: number, lo: number, clusterBits: number): L2Mapping {
  // Cold path (a decompression follows): BigInt keeps the variable split exact.
  const value = (BigInt(hi & 0x3fff_ffff) << 32n) | BigInt(lo);
  const x = BigInt(62 - (clusterBits - 8));
  const host = value & ((1n << x) - 1n);
  const sectors = Number(value >> x) + 1;
  if (host >= 1n << 53n) throw corrupt('compressed cluster offset is beyond 8 PiB');
  const start = Number(host);
  return { kind: 'compressed', host: start, length: sectors * 512 - (start % 512) };
}

/** Encodes an L2 entry for a data cluster this image alone references. */
export function encodeData(host: number): [number, number] {
  return [(COPIED | Math.floor(host / TWO32)) >>> 0, host >>> 0];
}

/** Encodes a reads-as-zero L2 entry, keeping a preallocated cluster when `host` is not 0. */
export function encodeZero(host: number): [number, number] {
  if (host === 0) return [0, 1];
  return [(COPIED | Math.floor(host / TWO32)) >>> 0, (host | 1) >>> 0];
}

/** The host clusters a compressed stream occupies (each holds a reference): first and count. */
export function compressedClusters(host: number, length: number, clusterSize: number): [number, number] {
  // Refcounts cover whole 512-byte sectors from the sector holding the start.
  const start = host - (host % 512);
  const end = start + Math.ceil((host % 512 + length) / 512) * 512;
  const first = Math.floor(start / clusterSize);
  return [first, Math.ceil(end / clusterSize) - first];
}

/** Whether a cluster reads as zeros (a zero cluster, or unallocated with no backing file to read). */
export function readsAsZero(m: L2Mapping, hasBacking: boolean): boolean {
  return m.kind === 'zero' || (m.kind === 'unallocated' && !hasBacking);
}

/**
 * The L2 entry a whole cluster gets from a discard ("discard") or a
 * write-zeroes that may deallocate ("unmap") or keeps space ("keep"); undefined
 * when its entry already fits.
 */
export function zeroEntry(m: L2Mapping, mode: 'discard' | 'unmap' | 'keep', hasBacking: boolean): [number, number] | undefined {
  if (readsAsZero(m, hasBacking) && (mode === 'keep' || m.kind === 'unallocated' || (m.kind === 'zero' && m.host === 0))) return undefined;
  if (mode === 'keep' && m.kind === 'data' && m.copied) return encodeZero(m.host);
  // Without a backing file an unallocated cluster reads as zeros and holds nothing.
  return hasBacking ? encodeZero(0) : [0, 0];
}
