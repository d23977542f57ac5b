/**
 * A fixed-capacity byte queue (the UART's receive FIFO and its host-side
 * input backlog), plus base64 helpers so saved states stay compact JSON.
 */

/** A bounded FIFO of bytes over one preallocated buffer. */
export class ByteRing {
  private readonly buf: Uint8Array;
  private head = 0;
  /** Bytes queued. */
  count = 0;

  constructor(readonly capacity: number) {
    this.buf = new Uint8Array(capacity);
  }

  /** Appends `b`; returns false (and drops it) when full. */
  push(b: number): boolean {
    if (this.count === this.capacity) return false;
    this.buf[(this.head + this.count) % this.capacity] = b;
    this.count++;
    return true;
  }

  /** Appends as many of `bytes` as fit; returns how many did. */
  pushMany(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, this.capacity - this.count);
    for (let i = 0; i < n; i++) this.buf[(this.head + this.count + i) % this.capacity] = bytes[i]!;
    this.count += n;
    return n;
  }

  /** Removes and returns the oldest byte, or -1 when empty. */
  shift(): number {
    if (this.count === 0) return -1;
    const b = this.buf[this.head]!;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return b;
  }

  /** Drops everything. */
  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  /** A copy of the queued bytes, oldest first. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.buf[(this.head + i) % this.capacity]!;
    return out;
  }
}

/** Encodes bytes as base64 (btoa works in Node and browsers alike). */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x2000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x2000));
  }
  return btoa(s);
}

/** Decodes base64; anything that is not a valid base64 string gives no bytes. */
export function fromBase64(text: unknown): Uint8Array {
  if (typeof text !== 'string') return new Uint8Array(0);
  let s: string;
  try {
    s = atob(text);
  } catch {
    return new Uint8Array(0);
  }
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
