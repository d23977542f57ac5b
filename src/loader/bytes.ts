/**
 * Bounds-checked little-endian reads of an untrusted image. Every read past
 * the end becomes a LoaderError naming the file, so parsers can read
 * freely without guarding each offset themselves.
 */
import { LoaderError, hex } from './errors.js';

/** A read-only view of an image with checked little-endian accessors. */
export class ImageReader {
  constructor(
    readonly bytes: Uint8Array,
    /** How the file is named in messages (e.g. "kernel.img"). */
    readonly name: string,
  ) {}

  /** Length of the image in bytes. */
  get length(): number {
    return this.bytes.length;
  }

  /** True when [off, off+len) lies inside the image. */
  has(off: number, len: number): boolean {
    return off >= 0 && len >= 0 && off <= this.bytes.length && len <= this.bytes.length - off;
  }

  /** Throws a "truncated" LoaderError unless [off, off+len) lies inside the image. */
  need(off: number, len: number, what: string): void {
    if (!this.has(off, len)) {
      throw new LoaderError(
        'malformed',
        `${this.name}: truncated: ${what} needs bytes ${hex(off)}..${hex(off + len)} but the file is ${this.bytes.length} bytes`,
      );
    }
  }

  /** Unsigned byte at `off`. */
  u8(off: number, what = 'a field'): number {
    this.need(off, 1, what);
    return this.bytes[off]!;
  }

  /** Unsigned 16-bit value at `off`. */
  u16(off: number, what = 'a field'): number {
    this.need(off, 2, what);
    const b = this.bytes;
    return b[off]! | (b[off + 1]! << 8);
  }

  /** Unsigned 32-bit value at `off`. */
  u32(off: number, what = 'a field'): number {
    this.need(off, 4, what);
    const b = this.bytes;
    return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
  }

  /**
   * Unsigned 64-bit value at `off` as a number. Values of 2^53 and above
   * lose precision but stay above every limit they are checked against,
   * which is all a loader needs of them.
   */
  u64(off: number, what = 'a field'): number {
    return this.u32(off, what) + this.u32(off + 4, what) * 2 ** 32;
  }

  /** A zero-copy slice [off, off+len), checked. */
  slice(off: number, len: number, what: string): Uint8Array {
    this.need(off, len, what);
    return this.bytes.subarray(off, off + len);
  }
}

/** Rounds `n` up to a multiple of `align` (a power of two, or any positive integer). */
export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/** Rounds `n` down to a multiple of `align`. */
export function alignDown(n: number, align: number): number {
  return Math.floor(n / align) * align;
}

/** Writes `n` (0 <= n < 2^64, exact below 2^53) as a little-endian u64 into `view`. */
export function setU64(view: DataView, off: number, n: number): void {
  view.setUint32(off, n % 2 ** 32, true);
  view.setUint32(off + 4, Math.floor(n / 2 ** 32), true);
}
