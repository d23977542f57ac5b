/**
 * The bytes of one PCI function's configuration space, with per-byte
 * write masks: a bit the mask leaves out is read-only to the guest, a bit
 * in the RW1C mask is cleared by writing one. BAR sizing falls out of the
 * masks: a BAR's low address bits are read-only zeros, so writing all-ones
 * reads back the size mask (PCI 3.0 6.2.5.1).
 *
 * DEVNOTE: accesses need not be aligned: the guest decides, so an access
 * that crosses a dword is carried out byte by byte; offsets beyond the
 * space read as all-ones and drop writes, never throw.
 */
import type { AccessSize } from '../bus/device.js';
import { CAPABILITY_LIST, HEADER_END, STATUS, STATUS_CAP_LIST } from './regs.js';

/** Bytes and write masks of one function's configuration space. */
export class ConfigSpace {
  /** The current contents. Device code may read and set these directly. */
  readonly bytes: Uint8Array;
  private readonly writable: Uint8Array;
  private readonly rw1c: Uint8Array;
  private lastCap = 0;
  private nextCapOffset = HEADER_END;

  /** A zeroed space of `size` bytes (256 or 4096) with nothing writable. */
  constructor(readonly size: number) {
    this.bytes = new Uint8Array(size);
    this.writable = new Uint8Array(size);
    this.rw1c = new Uint8Array(size);
  }

  /** Reads `size` bytes little-endian at `offset`; all-ones past the end. */
  read(offset: number, size: AccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      const b = o >= 0 && o < this.size ? this.bytes[o]! : 0xff;
      v |= b << (8 * i);
    }
    return v >>> 0;
  }

  /** A guest write: only writable bits change, RW1C bits clear where a one is written. */
  write(offset: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      if (o < 0 || o >= this.size) continue;
      const b = (value >>> (8 * i)) & 0xff;
      const w = this.writable[o]!;
      let cur = this.bytes[o]!;
      cur = (cur & ~w) | (b & w);
      cur &= ~(b & this.rw1c[o]!);
      this.bytes[o] = cur;
    }
  }

  /** Device-side: stores `value` (1, 2 or 4 bytes) regardless of masks. */
  set(offset: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) this.bytes[offset + i] = (value >>> (8 * i)) & 0xff;
  }

  /** Device-side: reads like read() but for in-range offsets only. */
  get(offset: number, size: AccessSize): number {
    return this.read(offset, size);
  }

  /** Sets the guest-writable bits of `size` bytes at `offset`. */
  setWritable(offset: number, size: AccessSize, mask: number): void {
    for (let i = 0; i < size; i++) this.writable[offset + i] = (mask >>> (8 * i)) & 0xff;
  }

  /** Sets the write-one-to-clear bits of `size` bytes at `offset`. */
  setRw1c(offset: number, size: AccessSize, mask: number): void {
    for (let i = 0; i < size; i++) this.rw1c[offset + i] = (mask >>> (8 * i)) & 0xff;
  }

  /**
   * Appends a capability of `length` bytes (ID and next pointer included)
   * to the list, sets the status bit, and returns its offset. Capabilities
   * are dword-aligned and must fit below 256 (conventional space).
   */
  addCapability(id: number, length: number): number {
    const offset = this.nextCapOffset;
    if (length < 2 || offset + length > 256) {
      throw new RangeError(`capability 0x${id.toString(16)} of ${length} bytes does not fit at 0x${offset.toString(16)}`);
    }
    this.bytes[offset] = id;
    this.bytes[offset + 1] = 0;
    if (this.lastCap === 0) this.bytes[CAPABILITY_LIST] = offset;
    else this.bytes[this.lastCap + 1] = offset;
    this.bytes[STATUS] = this.bytes[STATUS]! | STATUS_CAP_LIST;
    this.lastCap = offset;
    this.nextCapOffset = (offset + length + 3) & ~3;
    return offset;
  }

  /** The bytes as a hex string (for saved state); trailing zero bytes are left out. */
  toHex(): string {
    let end = this.size;
    while (end > 0 && this.bytes[end - 1] === 0) end--;
    return Buffer.from(this.bytes.subarray(0, end)).toString('hex');
  }

  /** Replaces the bytes from toHex() output (missing bytes are zero); false if it does not fit. */
  fromHex(hex: unknown): boolean {
    if (typeof hex !== 'string' || hex.length > this.size * 2 || hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) return false;
    this.bytes.fill(0);
    this.bytes.set(Buffer.from(hex, 'hex'));
    return true;
  }
}
