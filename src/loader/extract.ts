/**
 * The vmlinux inside a bzImage. Booting it through PVH skips the guest's
 * own decompressor, which on the software CPU is most of the boot time.
 * Linux compresses the payload with one of seven methods; LZ4 (Debian's
 * choice) is decoded here, gzip by node:zlib, and an uncompressed payload
 * is used as is. The others are reported as unsupported so loadLinux can
 * fall back to letting the kernel decompress itself.
 */
import { gunzipSync } from 'node:zlib';
import { isElf } from './elf.js';
import { LoaderError } from './errors.js';
import { decompressLz4Legacy, isLz4Legacy } from './lz4.js';
import { bzImagePayload, parseSetupHeader } from './setup-header.js';

/** How a bzImage's payload is compressed. */
export type PayloadFormat = 'lz4' | 'gzip' | 'xz' | 'zstd' | 'bzip2' | 'lzma' | 'lzo' | 'none' | 'unknown';

/** Largest vmlinux we decompress; real ones are 20-100 MiB. */
export const MAX_VMLINUX = 2 ** 30;

const startsWith = (b: Uint8Array, ...m: number[]): boolean => b.length >= m.length && m.every((x, i) => b[i] === x);

/** Recognises the compression of a payload by its magic bytes. */
export function payloadFormat(payload: Uint8Array): PayloadFormat {
  if (isLz4Legacy(payload)) return 'lz4';
  if (startsWith(payload, 0x1f, 0x8b)) return 'gzip';
  if (startsWith(payload, 0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (startsWith(payload, 0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  if (startsWith(payload, 0x42, 0x5a, 0x68)) return 'bzip2';
  if (startsWith(payload, 0x5d, 0x00, 0x00)) return 'lzma';
  if (startsWith(payload, 0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a)) return 'lzo';
  if (isElf(payload)) return 'none';
  return 'unknown';
}

function gunzip(payload: Uint8Array, name: string, maxOutput: number): Uint8Array {
  try {
    const out = gunzipSync(payload, { maxOutputLength: maxOutput });
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new LoaderError('does-not-fit', `${name}: the gzip payload decompresses to more than ${maxOutput} bytes`);
    }
    throw new LoaderError('malformed', `${name}: corrupt gzip payload: ${(e as Error).message}`);
  }
}

/** Options for extractVmlinux. */
export interface ExtractOptions {
  /** The file's name in messages. */
  readonly name?: string;
  /** Refuse a vmlinux larger than this (default MAX_VMLINUX). */
  readonly maxOutput?: number;
}

/**
 * Decompresses the kernel inside `bzImage` and returns the vmlinux ELF.
 * LoaderError "unsupported" for compressions not handled here.
 */
export function extractVmlinux(bzImage: Uint8Array, options: ExtractOptions = {}): Uint8Array {
  const name = options.name ?? 'kernel';
  const maxOutput = options.maxOutput ?? MAX_VMLINUX;
  const hdr = parseSetupHeader(bzImage, name);
  const payload = bzImagePayload(bzImage, hdr);
  const format = payloadFormat(payload);
  let vmlinux: Uint8Array;
  switch (format) {
    case 'lz4':
      vmlinux = decompressLz4Legacy(payload, { name, maxOutput });
      break;
    case 'gzip':
      vmlinux = gunzip(payload, name, maxOutput);
      break;
    case 'none':
      vmlinux = payload;
      break;
    case 'unknown':
      throw new LoaderError('malformed', `${name}: the compressed kernel has no known compression magic`);
    default:
      throw new LoaderError(
        'unsupported',
        `${name}: the kernel is ${format}-compressed; only lz4 and gzip payloads can be extracted (the kernel can still decompress itself)`,
      );
  }
  if (!isElf(vmlinux)) throw new LoaderError('malformed', `${name}: the decompressed kernel is not an ELF file`);
  return vmlinux;
}
