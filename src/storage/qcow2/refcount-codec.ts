/**
 * Reading and writing one refcount inside a refcount block, for every
 * refcount_order (1 to 64 bits). Entries of 8 bits and wider are big-endian;
 * narrower ones are packed from the least significant bit of each byte, as
 * QEMU stores them.
 */
import type { CachedTable } from './table-cache.js';

/** The largest refcount an entry of `order` can hold. */
export function maxRefcount(order: number): number {
  return order >= 6 ? Number.MAX_SAFE_INTEGER : 2 ** (1 << order) - 1;
}

/** The refcount at index `j` of a block. */
export function getRefcount(t: CachedTable, j: number, order: number): number {
  switch (order) {
    case 4:
      return t.view.getUint16(j * 2);
    case 3:
      return t.data[j]!;
    case 5:
      return t.view.getUint32(j * 4);
    case 6:
      return t.view.getUint32(j * 8) * 0x1_0000_0000 + t.view.getUint32(j * 8 + 4);
    default: {
      const bits = 1 << order;
      const bit = j * bits;
      return (t.data[bit >> 3]! >> (bit & 7)) & ((1 << bits) - 1);
    }
  }
}

/** Sets the refcount at index `j` of a block (the caller marks it dirty). */
export function setRefcount(t: CachedTable, j: number, order: number, value: number): void {
  switch (order) {
    case 4:
      t.view.setUint16(j * 2, value);
      return;
    case 3:
      t.data[j] = value;
      return;
    case 5:
      t.view.setUint32(j * 4, value);
      return;
    case 6:
      t.view.setUint32(j * 8, Math.floor(value / 0x1_0000_0000));
      t.view.setUint32(j * 8 + 4, value >>> 0);
      return;
    default: {
      const bits = 1 << order;
      const bit = j * bits;
      const mask = ((1 << bits) - 1) << (bit & 7);
      t.data[bit >> 3] = (t.data[bit >> 3]! & ~mask) | ((value << (bit & 7)) & mask);
    }
  }
}

/** Index of the first zero refcount at or after `from` in a block of `count` entries, or -1. */
export function findFree(t: CachedTable, from: number, count: number, order: number): number {
  if (order === 4) {
    // The default width gets a tight loop: this scan runs on every allocation.
    for (let j = from; j < count; j++) if (t.view.getUint16(j * 2) === 0) return j;
    return -1;
  }
  for (let j = from; j < count; j++) if (getRefcount(t, j, order) === 0) return j;
  return -1;
}
