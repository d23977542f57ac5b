/**
 * LZ4 "legacy" frames, as Linux compresses its kernel (lz4 -l) and reads it
 * back in lib/decompress_unlz4.c: the magic 0x184C2102, then blocks of
 * (u32 compressed size, LZ4 block) that each expand to at most 8 MiB, and
 * in a bzImage the uncompressed size appended as a last u32.
 *
 * The input is untrusted: every length is checked before it is used, every
 * match must point inside the block's own output, and output never grows
 * beyond the caller's cap.
 */
import { LoaderError } from './errors.js';

/** First four bytes of a legacy frame (little-endian). */
export const LZ4_LEGACY_MAGIC = 0x184c2102;
/** Largest output of one legacy block. */
export const LZ4_LEGACY_BLOCK = 8 << 20;
// LZ4_compressBound(8 MiB): the largest a block can be compressed.
const MAX_CHUNK = LZ4_LEGACY_BLOCK + Math.floor(LZ4_LEGACY_BLOCK / 255) + 16;
// Shorter copies go byte by byte: cheaper than a call to copyWithin/set
// (measured on the Debian kernel: 16 is the sweet spot, 8 and 32 are slower).
const SHORT_COPY = 16;

/** Options for decompressLz4Legacy. */
export interface Lz4Options {
  /** Refuse output larger than this many bytes (default 1 GiB). */
  readonly maxOutput?: number;
  /** The file's name in messages. */
  readonly name?: string;
}

function u32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

/** True when `bytes` starts with the legacy frame magic. */
export function isLz4Legacy(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && u32(bytes, 0) === LZ4_LEGACY_MAGIC;
}

// Thrown inside decodeBlock; the caller adds the file name.
class BlockError extends Error {}

/**
 * Decodes one LZ4 block src[sp..sEnd) into dst from dp, writing nothing at
 * or beyond dEnd. Returns the new output end, or -1 when the output would
 * not fit below dEnd.
 */
function decodeBlock(src: Uint8Array, sp: number, sEnd: number, dst: Uint8Array, dp: number, dEnd: number): number {
  const dStart = dp;
  for (;;) {
    if (sp >= sEnd) throw new BlockError('a block ends where a sequence should start');
    const token = src[sp++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (sp >= sEnd) throw new BlockError('a literal length runs past the end of its block');
        b = src[sp++]!;
        lit += b;
      } while (b === 255);
    }
    if (lit > sEnd - sp) throw new BlockError('literals run past the end of their block');
    if (lit > dEnd - dp) return -1;
    if (lit < SHORT_COPY) {
      for (const end = sp + lit; sp < end; ) dst[dp++] = src[sp++]!;
    } else {
      dst.set(src.subarray(sp, sp + lit), dp);
      sp += lit;
      dp += lit;
    }
    // The last sequence of a block is literals only.
    if (sp === sEnd) return dp;
    if (sEnd - sp < 2) throw new BlockError('a match offset is cut off by the end of its block');
    const offset = src[sp]! | (src[sp + 1]! << 8);
    sp += 2;
    if (offset === 0 || offset > dp - dStart) throw new BlockError('a match points before the start of its block');
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        if (sp >= sEnd) throw new BlockError('a match length runs past the end of its block');
        b = src[sp++]!;
        len += b;
      } while (b === 255);
    }
    len += 4;
    if (len > dEnd - dp) return -1;
    let from = dp - offset;
    if (len < SHORT_COPY) {
      for (const end = dp + len; dp < end; ) dst[dp++] = dst[from++]!;
    } else if (offset >= len) {
      dst.copyWithin(dp, from, from + len);
      dp += len;
    } else {
      // An overlapping match repeats the last `offset` bytes (runs of zeros
      // in a kernel image). What is already copied repeats with that period
      // too, so each copyWithin can take all of it: the run doubles per call.
      for (const end = dp + len; dp < end; ) {
        const n = Math.min(end - dp, dp - from);
        dst.copyWithin(dp, from, from + n);
        dp += n;
      }
    }
  }
}

/** Decompresses a legacy LZ4 frame (several may be concatenated, as the kernel allows). */
export function decompressLz4Legacy(input: Uint8Array, options: Lz4Options = {}): Uint8Array {
  const name = options.name ?? 'input';
  const maxOutput = options.maxOutput ?? 2 ** 30;
  const fail = (why: string): never => {
    throw new LoaderError('malformed', `${name}: corrupt LZ4 data: ${why}`);
  };
  const n = input.length;
  if (!isLz4Legacy(input)) fail('no legacy frame magic 0x184C2102');
  // An appended size (bzImage) is a good first guess; it is only a hint, and
  // a block expands at most 255-fold, which bounds a lying one.
  const hint = n >= 8 ? u32(input, n - 4) : 0;
  let out = new Uint8Array(Math.min(hint, maxOutput, n * 255 + 64) + 64);
  let pos = 0;
  let sp = 4;
  while (n - sp >= 4) {
    const word = u32(input, sp);
    if (word === LZ4_LEGACY_MAGIC) {
      sp += 4;
      continue;
    }
    if (n - sp === 4) {
      // The last four bytes are the size the kernel build appends.
      if (word !== pos) fail(`the appended size ${word} differs from the ${pos} bytes decompressed`);
      break;
    }
    sp += 4;
    if (word === 0 || word > MAX_CHUNK) fail(`a block claims ${word} compressed bytes`);
    if (word > n - sp) fail(`a block of ${word} bytes runs past the end of the data (${n - sp} left)`);
    for (;;) {
      const blockEnd = Math.min(pos + LZ4_LEGACY_BLOCK, maxOutput, out.length);
      let end: number;
      try {
        end = decodeBlock(input, sp, sp + word, out, pos, blockEnd);
      } catch (e) {
        if (e instanceof BlockError) fail(e.message);
        throw e;
      }
      if (end >= 0) {
        pos = end;
        break;
      }
      // Out of room: a block over 8 MiB or the cap is an error; a small buffer just grows.
      if (blockEnd === pos + LZ4_LEGACY_BLOCK) fail('a block expands to more than 8 MiB');
      if (blockEnd === maxOutput) {
        throw new LoaderError('does-not-fit', `${name}: decompresses to more than ${maxOutput} bytes`);
      }
      const grown = new Uint8Array(Math.min(maxOutput, Math.max(out.length * 2, pos + LZ4_LEGACY_BLOCK)));
      grown.set(out.subarray(0, pos));
      out = grown;
    }
    sp += word;
  }
  // Don't hold on to a large unused tail.
  return out.length - pos > 1 << 20 ? out.slice(0, pos) : out.subarray(0, pos);
}
