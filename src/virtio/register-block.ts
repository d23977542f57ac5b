/**
 * A block of little-endian registers described as fields (offset, width,
 * getter, optional setter). Accesses that match a field exactly go
 * straight to it; any other width or alignment is carried out byte by
 * byte, a partial write merging into the field's current value. Bytes no
 * field covers read as zero and ignore writes. Transports describe their
 * register maps with this instead of hand-written switch statements.
 */
import type { AccessSize } from '../bus/device.js';

/** One register. */
export interface Field {
  readonly offset: number;
  /** Width in bytes: 1, 2 or 4. */
  readonly size: AccessSize;
  read(): number;
  /** Absent for read-only registers (writes are then counted and dropped). */
  write?(value: number): void;
}

/** Registers by offset. */
export class RegisterBlock {
  private readonly byOffset: (Field | undefined)[];
  /** Writes to read-only or unknown bytes. */
  ignoredWrites = 0;

  constructor(
    readonly size: number,
    fields: readonly Field[],
  ) {
    this.byOffset = new Array<Field | undefined>(size);
    for (const f of fields) {
      for (let i = 0; i < f.size; i++) {
        if (this.byOffset[f.offset + i]) throw new RangeError(`register fields overlap at 0x${(f.offset + i).toString(16)}`);
        this.byOffset[f.offset + i] = f;
      }
    }
  }

  /** Reads `size` bytes at `offset`. */
  read(offset: number, size: AccessSize): number {
    const f = this.byOffset[offset];
    if (f && f.offset === offset && f.size === size) return f.read() >>> 0;
    let v = 0;
    for (let i = 0; i < size; i++) {
      const g = this.byOffset[offset + i];
      const byte = g ? (g.read() >>> (8 * (offset + i - g.offset))) & 0xff : 0;
      v |= byte << (8 * i);
    }
    return v >>> 0;
  }

  /** Writes `size` bytes at `offset`. */
  write(offset: number, size: AccessSize, value: number): void {
    const f = this.byOffset[offset];
    if (f && f.offset === offset && f.size === size) {
      if (f.write) f.write(value >>> 0);
      else this.ignoredWrites++;
      return;
    }
    // Group the bytes by field, then write each field once with its other bytes unchanged.
    let i = 0;
    while (i < size) {
      const g = this.byOffset[offset + i];
      if (!g || !g.write) {
        this.ignoredWrites++;
        i++;
        continue;
      }
      let merged = g.read() >>> 0;
      while (i < size && this.byOffset[offset + i] === g) {
        const shift = 8 * (offset + i - g.offset);
        const byte = (value >>> (8 * i)) & 0xff;
        merged = ((merged & ~(0xff << shift)) | (byte << shift)) >>> 0;
        i++;
      }
      g.write(merged);
    }
  }
}
