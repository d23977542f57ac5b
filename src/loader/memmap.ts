/**
 * The guest's physical memory map, as both boot paths hand it over: the
 * e820 table in boot_params and hvm_start_info's memmap use the same
 * {addr, size, type} entries and type numbers.
 *
 * What is reserved, and why:
 * - 0x9fc00..0x100000: where a PC has its EBDA, the VGA window, option ROMs
 *   and the BIOS. Nothing of ours is RAM-like there, and our ACPI RSDP sits
 *   in 0xE0000..0xFFFFF, which Linux scans and must not hand out as RAM.
 * - Whatever the caller adds (e.g. the PCIe ECAM window, which Linux only
 *   trusts when the firmware map reserves it).
 * Everything else in the RAM regions is usable RAM, including the boot
 * structures below 0x9fc00: Linux copies boot_params, the command line and
 * hvm_start_info before it allocates, and reserves its image and the
 * initrd itself, as with Firecracker and Cloud Hypervisor.
 */
import type { RamRegion } from '../memory/layout.js';
import { LoaderError, hex } from './errors.js';

/** e820 / hvm_memmap_table_entry types (the same numbers in both ABIs). */
export const E820_RAM = 1;
/** Reserved: not RAM, do not touch. */
export const E820_RESERVED = 2;
/** ACPI tables the OS may reclaim after reading them. */
export const E820_ACPI = 3;
/** ACPI non-volatile storage. */
export const E820_NVS = 4;

/** A range of guest-physical addresses. */
export interface MemoryRange {
  readonly addr: number;
  readonly size: number;
}

/** One entry of the memory map. */
export interface MemoryMapEntry extends MemoryRange {
  readonly type: number;
}

/** Start of the PC's reserved low area (the EBDA's usual place). */
export const LOW_RESERVED_START = 0x9fc00;
/** End of the reserved low area: 1 MiB. */
export const LOW_RESERVED_END = 0x100000;

/** Ranges every machine reserves (see the module comment). */
export const FIRMWARE_RESERVED: readonly MemoryRange[] = [
  { addr: LOW_RESERVED_START, size: LOW_RESERVED_END - LOW_RESERVED_START },
];

function checkRange(r: MemoryRange): void {
  const ok = Number.isSafeInteger(r.addr) && Number.isSafeInteger(r.size) && r.addr >= 0 && r.size > 0
    && Number.isSafeInteger(r.addr + r.size);
  if (!ok) throw new LoaderError('bad-option', `reserved memory range ${r.addr} (+${r.size}) is not a valid address range`);
}

// Sorts ranges and merges those that overlap or touch.
function merge(ranges: readonly MemoryRange[]): MemoryRange[] {
  const sorted = [...ranges].sort((a, b) => a.addr - b.addr);
  const out: { addr: number; size: number }[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.addr <= last.addr + last.size) {
      last.size = Math.max(last.size, r.addr + r.size - last.addr);
    } else {
      out.push({ addr: r.addr, size: r.size });
    }
  }
  return out;
}

// `range` minus every range of `holes` (sorted, disjoint).
function subtract(range: MemoryRange, holes: readonly MemoryRange[]): MemoryRange[] {
  const out: MemoryRange[] = [];
  let start = range.addr;
  const end = range.addr + range.size;
  for (const h of holes) {
    const hEnd = h.addr + h.size;
    if (hEnd <= start || h.addr >= end) continue;
    if (h.addr > start) out.push({ addr: start, size: h.addr - start });
    start = Math.max(start, hEnd);
  }
  if (start < end) out.push({ addr: start, size: end - start });
  return out;
}

/**
 * The memory map of a machine with RAM `regions`: RAM minus the reserved
 * ranges as type 1, FIRMWARE_RESERVED plus `reserved` as type 2, sorted by
 * address, without overlaps.
 */
export function buildMemoryMap(regions: readonly RamRegion[], reserved: readonly MemoryRange[] = []): MemoryMapEntry[] {
  reserved.forEach(checkRange);
  const holes = merge([...FIRMWARE_RESERVED, ...reserved]);
  const entries: MemoryMapEntry[] = [];
  for (const region of regions) {
    for (const r of subtract({ addr: region.gpa, size: region.size }, holes)) entries.push({ ...r, type: E820_RAM });
  }
  for (const h of holes) entries.push({ ...h, type: E820_RESERVED });
  return entries.sort((a, b) => a.addr - b.addr);
}

/** Checks that `entries` fit a table of `max` entries, naming the table in the error. */
export function checkMapSize(entries: readonly MemoryMapEntry[], max: number, table: string): void {
  if (entries.length > max) {
    throw new LoaderError('does-not-fit', `the memory map has ${entries.length} entries but ${table} holds at most ${max}`);
  }
}

/** A one-line description of a map entry, for logs and inspect. */
export function describeEntry(e: MemoryMapEntry): string {
  const names: Record<number, string> = { 1: 'ram', 2: 'reserved', 3: 'acpi', 4: 'nvs' };
  return `${hex(e.addr)}-${hex(e.addr + e.size - 1)} ${names[e.type] ?? `type ${e.type}`}`;
}
