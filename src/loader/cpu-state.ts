/**
 * The CPU state a guest starts in, and the boot structures behind it:
 *
 * - 64-bit long mode (Linux's 64-bit boot protocol, and test guests): a GDT
 *   with flat 64-bit code and data segments, and identity-mapped page
 *   tables covering the first 1 GiB and the 3..4 GiB MMIO window with 2 MiB
 *   pages (the IOAPIC, LAPIC and PCI windows must be reachable).
 * - 32-bit protected mode with paging off (the PVH entry point).
 *
 * Structures live at the low addresses DESIGN.md reserves for them
 * (0x1000-0x9fff): GDT 0x1000, page tables 0x2000-0x5fff, PVH start info
 * 0x6000, zero page 0x7000, stack 0x8000-0x8fff; the command line has
 * 0x20000-0x2ffff.
 */
import type { Registers, Segment, SpecialRegisters } from '../hv/registers.js';
import { CR0, CR4, EFER, flatSegment, resetSpecialRegisters, zeroRegisters } from '../hv/registers.js';
import type { GuestMemory } from '../memory/guest-memory.js';

/** Where the boot GDT and page tables go. */
export const BOOT_GDT = 0x1000;
export const BOOT_PML4 = 0x2000;
export const BOOT_PDPT = 0x3000;
/** Page directory for 0..1 GiB. */
export const BOOT_PD_LOW = 0x4000;
/** Page directory for 3..4 GiB (MMIO). */
export const BOOT_PD_MMIO = 0x5000;
/** hvm_start_info and its memory map (PVH boot). */
export const BOOT_START_INFO = 0x6000;
/** The zero page (boot_params) of the Linux boot protocol. */
export const BOOT_ZERO_PAGE = 0x7000;
/** Initial stack pointer for guests that want one (0x8000-0x8fff). */
export const BOOT_STACK_TOP = 0x9000;
/** The kernel command line. */
export const BOOT_CMDLINE = 0x20000;
/** Bytes reserved for the command line at BOOT_CMDLINE, its NUL included. */
export const BOOT_CMDLINE_MAX = 0x10000;
/** One past the last address writeIdentityPageTables maps below the MMIO window. */
export const BOOT_IDENTITY_MAP_END = 0x4000_0000;

/** GDT selectors of the boot GDT. */
export const SEL_CODE64 = 0x08;
export const SEL_CODE32 = 0x10;
export const SEL_DATA = 0x18;
export const SEL_TSS = 0x20;

/** A complete initial CPU state. */
export interface EntryState {
  readonly regs: Registers;
  readonly sregs: SpecialRegisters;
}

// Access bytes and flags of the boot GDT descriptors.
const CODE_TYPE = 0xb; // execute/read, accessed
const DATA_TYPE = 0x3; // read/write, accessed
const TSS_TYPE = 0xb; // busy 32/64-bit TSS

function descriptor(seg: Segment): bigint {
  const base = Number(seg.base & 0xffffffffn);
  const limit = seg.g ? seg.limit >>> 12 : seg.limit;
  const access = seg.type | (seg.s ? 0x10 : 0) | (seg.dpl << 5) | (seg.present ? 0x80 : 0);
  const flags = (seg.avl ? 1 : 0) | (seg.l ? 2 : 0) | (seg.db ? 4 : 0) | (seg.g ? 8 : 0);
  return (
    BigInt(limit & 0xffff) |
    (BigInt(base & 0xffffff) << 16n) |
    (BigInt(access) << 40n) |
    (BigInt((limit >>> 16) & 0xf) << 48n) |
    (BigInt(flags) << 52n) |
    (BigInt((base >>> 24) & 0xff) << 56n)
  );
}

function bootSegments() {
  const code64 = flatSegment(SEL_CODE64, CODE_TYPE, { l: true, db: false });
  const code32 = flatSegment(SEL_CODE32, CODE_TYPE);
  const data = flatSegment(SEL_DATA, DATA_TYPE);
  // A TSS is never used by boot code but VMX-style entry checks want a usable TR.
  const tss: Segment = {
    base: 0n, limit: 0x67, selector: SEL_TSS, type: TSS_TYPE, present: true, dpl: 0,
    db: false, s: false, l: false, g: false, avl: false, unusable: false,
  };
  return { code64, code32, data, tss };
}

/** Writes the boot GDT (null, code64, code32, data, tss) and returns its limit. */
export function writeBootGdt(memory: GuestMemory): number {
  const { code64, code32, data, tss } = bootSegments();
  const entries = [0n, descriptor(code64), descriptor(code32), descriptor(data), descriptor(tss), 0n];
  entries.forEach((d, i) => memory.writeU64(BOOT_GDT + 8 * i, d));
  return entries.length * 8 - 1;
}

/** Writes identity-mapping page tables for 0..1 GiB and 3..4 GiB (2 MiB pages). */
export function writeIdentityPageTables(memory: GuestMemory): void {
  const P_RW = 0x3n;
  const PS = 0x80n;
  memory.fill(BOOT_PML4, 0x4000, 0);
  memory.writeU64(BOOT_PML4, BigInt(BOOT_PDPT) | P_RW);
  memory.writeU64(BOOT_PDPT + 0 * 8, BigInt(BOOT_PD_LOW) | P_RW);
  memory.writeU64(BOOT_PDPT + 3 * 8, BigInt(BOOT_PD_MMIO) | P_RW);
  for (let i = 0; i < 512; i++) {
    const two = BigInt(i) << 21n;
    memory.writeU64(BOOT_PD_LOW + 8 * i, two | P_RW | PS);
    // The MMIO window is uncached (PCD|PWT), as firmware would map it.
    memory.writeU64(BOOT_PD_MMIO + 8 * i, ((3n << 30n) + two) | P_RW | PS | 0x18n);
  }
}

/**
 * Long-mode entry at `rip` with paging on (identity map), interrupts off,
 * `rsi` for the boot protocol's pointer, and a stack.
 */
export function longModeEntry(memory: GuestMemory, rip: number | bigint, rsi: number | bigint = 0): EntryState {
  const gdtLimit = writeBootGdt(memory);
  writeIdentityPageTables(memory);
  const { code64, data, tss } = bootSegments();
  const sregs = resetSpecialRegisters();
  Object.assign(sregs, {
    cs: code64, ds: data, es: data, fs: data, gs: data, ss: data, tr: tss,
    gdt: { base: BigInt(BOOT_GDT), limit: gdtLimit },
    idt: { base: 0n, limit: 0 },
    cr0: BigInt(CR0.PE | CR0.MP | CR0.ET | CR0.NE | CR0.WP | CR0.AM | CR0.PG) & 0xffffffffn,
    cr3: BigInt(BOOT_PML4),
    cr4: BigInt(CR4.PAE | CR4.PGE | CR4.OSFXSR | CR4.OSXMMEXCPT),
    efer: BigInt(EFER.LME | EFER.LMA | EFER.SCE | EFER.NXE),
  });
  const regs = zeroRegisters();
  regs.rip = BigInt(rip);
  regs.rsi = BigInt(rsi);
  regs.rsp = BigInt(BOOT_STACK_TOP);
  return { regs, sregs };
}

/**
 * 32-bit protected-mode entry at `eip` with paging off and flat segments,
 * as the PVH boot ABI requires (`ebx` = hvm_start_info).
 */
export function protectedModeEntry(memory: GuestMemory, eip: number, ebx = 0): EntryState {
  const gdtLimit = writeBootGdt(memory);
  const { code32, data, tss } = bootSegments();
  const sregs = resetSpecialRegisters();
  Object.assign(sregs, {
    cs: code32, ds: data, es: data, fs: data, gs: data, ss: data,
    tr: { ...tss, type: TSS_TYPE },
    gdt: { base: BigInt(BOOT_GDT), limit: gdtLimit },
    idt: { base: 0n, limit: 0 },
    cr0: BigInt(CR0.PE | CR0.ET),
    cr3: 0n, cr4: 0n, efer: 0n,
  });
  const regs = zeroRegisters();
  regs.rip = BigInt(eip);
  regs.rbx = BigInt(ebx);
  regs.rsp = BigInt(BOOT_STACK_TOP);
  return { regs, sregs };
}
