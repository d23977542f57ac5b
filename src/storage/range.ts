/**
 * Request checks every backend shares, so each reports a bad offset the
 * same way (DiskError "range", one line naming the request and the size).
 */
import { DiskError } from './disk.js';

/** Throws DiskError("range") unless [offset, offset+length) lies inside a disk of `size` bytes. */
export function checkRange(what: string, offset: number, length: number, size: number): void {
  // Non-integers and negatives come from buggy callers, not guests, but a
  // clear error beats a silent short read.
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new DiskError('range', `${what}: offset ${offset} length ${length} is not a non-negative integer range`);
  }
  if (offset + length > size) {
    throw new DiskError('range', `${what}: bytes ${offset}..${offset + length} run past the end of the disk (${size} bytes)`);
  }
}

/** Rounds `n` up to a multiple of `align` (a power of two or any positive integer). */
export function roundUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/** A one-line description of any thrown value, for messages that wrap a cause. */
export function describeError(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, ' ');
}
