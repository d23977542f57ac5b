/**
 * Build-time BAR placement, as firmware does before the OS runs: 32-bit
 * memory BARs in the 32-bit PCI window (0xC000_0000-0xDFFF_FFFF), 64-bit
 * ones in the window above RAM, I/O BARs in the I/O window. Each BAR is
 * aligned to its size (a BAR decodes naturally aligned addresses) and
 * memory BARs to at least a page, so the guest can map them without
 * moving them. The guest may still move them later.
 */
import { hex } from '../bus/log.js';
import type { BarKind, PciFunction } from './function.js';

/** A range of addresses: [base, base + size). */
export interface Window {
  readonly base: number;
  readonly size: number;
}

/** The host bridge's windows (what its _CRS describes). */
export interface PciWindows {
  readonly mmio32: Window;
  /** Absent on machines without room above RAM; 64-bit BARs then go in mmio32. */
  readonly mmio64?: Window;
  readonly io?: Window;
}

/** The machine's 32-bit PCI MMIO window (DESIGN.md). */
export const MMIO32_WINDOW: Window = { base: 0xc000_0000, size: 0x2000_0000 };
/** The I/O port window for I/O BARs: above the legacy ISA/ACPI ports. */
export const IO_WINDOW: Window = { base: 0x1000, size: 0xf000 };
/** Alignment and default size of the 64-bit window (DESIGN.md: above RAM, 1 GiB aligned). */
export const MMIO64_ALIGN = 2 ** 30;
/** Size of the 64-bit window tsvmm describes. */
export const MMIO64_SIZE = 64 * 2 ** 30;
/** The highest guest-physical address + 1 the software CPU reports (CPUID 0x80000008: 40 bits). */
export const PHYS_ADDR_LIMIT = 2 ** 40;

/** The 64-bit window for a machine whose RAM ends at `ramEnd`: at or above 4 GiB, 1 GiB aligned. */
export function mmio64Window(ramEnd: number): Window {
  const base = Math.ceil(Math.max(ramEnd, 2 ** 32) / MMIO64_ALIGN) * MMIO64_ALIGN;
  return { base, size: Math.min(MMIO64_SIZE, PHYS_ADDR_LIMIT - base) };
}

/** Hands out BAR addresses from the windows, lowest first. */
export class BarAllocator {
  private readonly next = new Map<string, number>();

  constructor(readonly windows: PciWindows) {}

  private window(kind: BarKind): [string, Window] {
    if (kind === 'io') {
      if (!this.windows.io) throw new RangeError('no I/O window for an I/O BAR');
      return ['io', this.windows.io];
    }
    if (kind === 'mem64' && this.windows.mmio64) return ['mmio64', this.windows.mmio64];
    return ['mmio32', this.windows.mmio32];
  }

  /** Reserves `size` bytes for a BAR of `kind`; returns the address. */
  allocate(kind: BarKind, size: number): number {
    const [name, w] = this.window(kind);
    const align = kind === 'io' ? size : Math.max(size, 4096);
    const cur = this.next.get(name) ?? w.base;
    const addr = Math.ceil(cur / align) * align;
    if (addr + size > w.base + w.size) {
      throw new RangeError(`the ${name} PCI window (${hex(w.base)}, ${hex(w.size)} bytes) has no room for a ${size}-byte BAR`);
    }
    this.next.set(name, addr + size);
    return addr;
  }

  /** Places every BAR of `fn`, largest first (keeps alignment gaps small). */
  assign(fn: PciFunction): void {
    const defs = fn.barDefinitions().sort((a, b) => b.size - a.size);
    for (const d of defs) fn.assignBar(d.index, this.allocate(d.kind, d.size));
  }
}
