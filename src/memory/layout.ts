/**
 * Where RAM goes in the guest-physical address space (DESIGN.md, "The
 * machine"): the first 3 GiB at 0, the rest from 4 GiB up, leaving
 * 3..4 GiB for PCI windows, ECAM and the interrupt controllers.
 */

/** 1 KiB, 1 MiB, 1 GiB as numbers. */
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Guest pages are 4 KiB. */
export const PAGE_SIZE = 4096;

/** Top of the low RAM region: the 32-bit MMIO hole starts here. */
export const LOW_RAM_TOP = 3 * GiB;
/** Where RAM beyond LOW_RAM_TOP continues. */
export const HIGH_RAM_BASE = 4 * GiB;

/** One contiguous piece of guest RAM. */
export interface RamRegion {
  /** Guest-physical address of the first byte. */
  readonly gpa: number;
  /** Length in bytes (a multiple of PAGE_SIZE). */
  readonly size: number;
  /** Byte offset of this region in the backing store (the memfd or buffer). */
  readonly offset: number;
}

/** Splits `size` bytes of RAM into the machine's regions. */
export function ramLayout(size: number): RamRegion[] {
  if (!Number.isSafeInteger(size) || size <= 0 || size % PAGE_SIZE !== 0) {
    throw new RangeError(`RAM size must be a positive multiple of ${PAGE_SIZE} bytes, got ${size}`);
  }
  const low = Math.min(size, LOW_RAM_TOP);
  const regions: RamRegion[] = [{ gpa: 0, size: low, offset: 0 }];
  if (size > low) regions.push({ gpa: HIGH_RAM_BASE, size: size - low, offset: low });
  return regions;
}

/** One past the highest guest-physical RAM address of a layout. */
export function ramEnd(regions: readonly RamRegion[]): number {
  const last = regions[regions.length - 1];
  return last ? last.gpa + last.size : 0;
}
