/**
 * The bytes a TCP connection has taken from its host socket and not yet
 * seen acknowledged by the guest: appended in chunks as the socket reads,
 * sliced for (re)transmission, consumed from the front as ACKs arrive.
 * Slices inside one chunk are views, so the common segment costs one copy
 * (into the frame).
 */

/** A FIFO of bytes kept as the chunks they arrived in. */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private first = 0; // index of the first live chunk
  private skip = 0; // bytes of chunks[first] already consumed
  private total = 0;

  /** Bytes held. */
  get length(): number {
    return this.total;
  }

  /** Appends a chunk (kept by reference: the caller must not reuse it). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Drops n bytes from the front (n is clamped to the length). */
  consume(n: number): void {
    n = Math.min(n, this.total);
    this.total -= n;
    while (n > 0) {
      const c = this.chunks[this.first]!;
      const left = c.length - this.skip;
      if (n < left) {
        this.skip += n;
        break;
      }
      n -= left;
      this.chunks[this.first] = EMPTY; // let it be collected
      this.first++;
      this.skip = 0;
    }
    if (this.first > 32 && this.first * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }

  /** `len` bytes starting `offset` bytes from the front: a view when they lie in one chunk, else a copy. */
  slice(offset: number, len: number): Uint8Array {
    if (offset < 0 || len < 0 || offset + len > this.total) throw new RangeError(`slice(${offset}, ${len}) of ${this.total}`);
    // An empty slice, even at the very end of an empty queue, touches no chunk.
    if (len === 0) return new Uint8Array(0);
    let i = this.first;
    let pos = offset + this.skip;
    while (pos >= this.chunks[i]!.length) {
      pos -= this.chunks[i]!.length;
      i++;
    }
    const c = this.chunks[i]!;
    if (pos + len <= c.length) return c.subarray(pos, pos + len);
    const out = new Uint8Array(len);
    let filled = 0;
    while (filled < len) {
      const src = this.chunks[i]!;
      const n = Math.min(len - filled, src.length - pos);
      out.set(src.subarray(pos, pos + n), filled);
      filled += n;
      pos = 0;
      i++;
    }
    return out;
  }

  /** Drops everything. */
  clear(): void {
    this.chunks = [];
    this.first = 0;
    this.skip = 0;
    this.total = 0;
  }
}

const EMPTY = new Uint8Array(0);
