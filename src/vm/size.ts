/**
 * Sizes as people write them (DESIGN.md "Conventions"): a number with an
 * optional binary suffix, `512M`, `1G`, `1.5G`; a bare number is MiB.
 * The CLI wraps this with its flag messages, the library with ConfigError.
 */

const SIZE_UNITS: Record<string, bigint> = { b: 1n, k: 1n << 10n, m: 1n << 20n, g: 1n << 30n, t: 1n << 40n };
const SIZE_RE = /^(\d+)(?:\.(\d+))?([kmgt](?:ib|b)?|b)?$/i;
const SIZE_HINT = 'expected a positive size such as 512M or 2G';

/** A parsed size in bytes, or what is wrong with the text (a phrase such as "is too large (...)"). */
export type SizeParse = { readonly ok: true; readonly bytes: number } | { readonly ok: false; readonly problem: string };

/**
 * Parses a size with an optional binary suffix (K, M, G, T, optionally
 * followed by B or iB; B alone means bytes; case-insensitive). A bare
 * number is MiB. The result is a whole, positive, safe-integer number of
 * bytes; otherwise `problem` completes the sentence "TEXT ..." for the
 * caller's message.
 */
export function parseSizeText(text: string): SizeParse {
  const m = SIZE_RE.exec(text);
  if (m === null) return { ok: false, problem: `is not a valid size (${SIZE_HINT})` };
  const [, whole, frac = '', suffix = 'm'] = m;
  // BigInt keeps "1.5G" exact and detects overflow instead of rounding.
  const scaled = BigInt(whole! + frac) * SIZE_UNITS[suffix[0]!.toLowerCase()]!;
  const divisor = 10n ** BigInt(frac.length);
  if (scaled % divisor !== 0n) return { ok: false, problem: `is not a whole number of bytes (${SIZE_HINT})` };
  const bytes = scaled / divisor;
  if (bytes === 0n) return { ok: false, problem: `is not a valid size (${SIZE_HINT})` };
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    return { ok: false, problem: `is too large (expected at most ${Number.MAX_SAFE_INTEGER} bytes)` };
  }
  return { ok: true, bytes: Number(bytes) };
}
