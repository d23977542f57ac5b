/**
 * Compressed clusters (read-only): a raw deflate stream (no zlib header)
 * that inflates to one cluster. Inflating runs on libuv's pool; a few
 * recent clusters are kept because guests read a cluster in several
 * requests.
 */
import { constants, inflateRaw, type InputType, type ZlibOptions } from 'node:zlib';
import type { ImageFile } from '../image-file.js';
import { ImageFormatError } from '../open-error.js';
import { describeError } from '../range.js';

function inflate(data: InputType, opts: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => inflateRaw(data, opts, (err, out) => (err ? reject(err) : resolve(out))));
}

/** Reads and inflates compressed clusters of one image, with a small cache. */
export class CompressedReader {
  private readonly cache = new Map<number, Uint8Array>();
  /** Counters for inspect. */
  readonly stats = { inflated: 0, cacheHits: 0 };

  constructor(
    private readonly file: ImageFile,
    private readonly clusterSize: number,
    private readonly capacity = 8,
  ) {}

  /** The cluster a stream of `length` bytes at `host` inflates to (shared: do not modify). */
  async cluster(host: number, length: number): Promise<Uint8Array> {
    const hit = this.cache.get(host);
    if (hit !== undefined) {
      this.stats.cacheHits++;
      this.cache.delete(host);
      this.cache.set(host, hit);
      return hit;
    }
    const raw = new Uint8Array(length);
    const n = await this.file.read(host, raw);
    let out: Buffer;
    try {
      // SYNC_FLUSH tolerates a stream QEMU ended without a final block; the
      // output limit stops a stream that claims more than a cluster.
      out = await inflate(raw.subarray(0, n), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: this.clusterSize });
    } catch (err) {
      throw new ImageFormatError('corrupt', `the compressed cluster at 0x${host.toString(16)} does not inflate to one cluster: ${describeError(err)}`);
    }
    if (out.length < this.clusterSize) {
      throw new ImageFormatError('corrupt', `the compressed cluster at 0x${host.toString(16)} inflates to ${out.length} bytes, not ${this.clusterSize}`);
    }
    const cluster = new Uint8Array(out.buffer, out.byteOffset, this.clusterSize);
    this.stats.inflated++;
    this.cache.set(host, cluster);
    if (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value!);
    return cluster;
  }
}
