/**
 * The Internet checksum (RFC 1071): a ones'-complement sum of 16-bit
 * big-endian words. Partial sums are plain numbers and are folded only at the
 * end: a 64 KiB buffer sums to under 2^32, far inside a double's exact range.
 */

/** Adds the 16-bit big-endian words of buf[start, end) to `sum` (an odd tail byte is padded with zero). */
export function sum16(buf: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i === last) sum += buf[i]! << 8;
  return sum;
}

/** Folds a partial sum to 16 bits and complements it: the value that goes in a header. */
export function finish(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** The partial sum of the IPv4 pseudo-header TCP and UDP checksums cover. */
export function pseudoSum(src: number, dst: number, proto: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + length;
}

/** The checksum of buf[start, end) on top of a partial sum; over data that includes a correct checksum it is 0. */
export function checksum(buf: Uint8Array, start: number, end: number, initial = 0): number {
  return finish(sum16(buf, start, end, initial));
}
