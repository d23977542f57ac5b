/**
 * Guest-memory checks for the loader's tests: which bytes a load wrote.
 * Test-only.
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import type { MemoryRange } from './memmap.js';

const ZEROS = new Uint8Array(1 << 20);

/** True when [addr, addr+size) of guest RAM is all zero. */
export function isZero(memory: GuestMemory, addr: number, size: number): boolean {
  for (let off = 0; off < size; off += ZEROS.length) {
    const n = Math.min(ZEROS.length, size - off);
    if (Buffer.compare(memory.view(addr + off, n), ZEROS.subarray(0, n)) !== 0) return false;
  }
  return true;
}

/** The first nonzero byte of low RAM outside `allowed`, or -1. */
export function firstWriteOutside(memory: GuestMemory, allowed: readonly MemoryRange[]): number {
  const low = memory.regions[0]!;
  const sorted = [...allowed].sort((a, b) => a.addr - b.addr);
  let at = 0;
  const check = (end: number): number => {
    if (end <= at) return -1;
    if (isZero(memory, at, end - at)) return -1;
    for (let a = at; a < end; a++) if (memory.readU8(a) !== 0) return a;
    return -1;
  };
  for (const r of sorted) {
    const hit = check(Math.min(r.addr, low.size));
    if (hit >= 0) return hit;
    at = Math.max(at, r.addr + r.size);
  }
  return check(low.size);
}

/** Sets all of low RAM back to zero. */
export function clearLowRam(memory: GuestMemory): void {
  memory.fill(0, memory.regions[0]!.size, 0);
}

/** The boot structures every load writes: GDT, page tables, start info, zero page. */
export const BOOT_AREA: MemoryRange = { addr: 0x1000, size: 0x8000 };
