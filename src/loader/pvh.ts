/**
 * The PVH boot ABI (Xen's docs/misc/pvh.pandoc): the ELF's PT_LOAD segments
 * at their physical addresses, hvm_start_info (version 1, with a memory
 * map and the initrd as module 0), and a 32-bit protected-mode entry at the
 * XEN_ELFNOTE_PHYS32_ENTRY address with EBX = hvm_start_info.
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import { LOW_RAM_TOP, MiB } from '../memory/layout.js';
import { setU64 } from './bytes.js';
import { type InitrdPlacement, checkRsdp, encodeCmdline, lowRamEnd, placeInitrd } from './boot-data.js';
import { BOOT_CMDLINE, BOOT_CMDLINE_MAX, BOOT_START_INFO, type EntryState, protectedModeEntry } from './cpu-state.js';
import { type ElfImage, parseElf } from './elf.js';
import { LoaderError, hex } from './errors.js';
import { type MemoryMapEntry, type MemoryRange, buildMemoryMap, checkMapSize } from './memmap.js';

/** hvm_start_info.magic. */
export const HVM_START_MAGIC = 0x336ec578;
/** The start info version we write (1 adds the memory map). */
export const HVM_START_VERSION = 1;
/** Offsets in hvm_start_info (start_info.h). */
export const SI = {
  magic: 0x00,
  version: 0x04,
  flags: 0x08,
  nrModules: 0x0c,
  modlistPaddr: 0x10,
  cmdlinePaddr: 0x18,
  rsdpPaddr: 0x20,
  memmapPaddr: 0x28,
  memmapEntries: 0x30,
  reserved: 0x34,
} as const;
/** sizeof(struct hvm_start_info). */
export const START_INFO_SIZE = 0x38;
/** sizeof(struct hvm_memmap_table_entry): addr, size, type, reserved. */
export const MEMMAP_ENTRY_SIZE = 24;
/** sizeof(struct hvm_modlist_entry): paddr, size, cmdline_paddr, reserved. */
export const MODLIST_ENTRY_SIZE = 32;
// hvm_start_info, its memmap and the module list share one page at BOOT_START_INFO.
const START_INFO_AREA = 0x1000;
// Below 1 MiB live our boot structures, the EBDA, VGA and the ACPI RSDP.
const MIN_SEGMENT_ADDRESS = 1 * MiB;

/** Inputs of a PVH load. */
export interface PvhLoad {
  readonly kernel: Uint8Array;
  readonly initrd?: Uint8Array | undefined;
  readonly cmdline: string;
  readonly rsdp?: number | undefined;
  readonly reserved?: readonly MemoryRange[] | undefined;
  readonly name: string;
  readonly initrdName: string;
}

/** Where a PVH load put things. */
export interface PvhResult {
  readonly entry: EntryState;
  /** The PVH entry point (EIP). */
  readonly entryPoint: number;
  /** One past the highest byte of any segment. */
  readonly kernelEnd: number;
  readonly initrd?: InitrdPlacement;
}

/**
 * The page at BOOT_START_INFO: hvm_start_info, then the memory map, then
 * the module list (one entry, the initrd, when there is one).
 */
export function buildStartInfo(at: {
  cmdline: number;
  rsdp: number;
  memmap: readonly MemoryMapEntry[];
  initrd?: InitrdPlacement | undefined;
}): Uint8Array {
  const memmapOff = START_INFO_SIZE;
  const modlistOff = memmapOff + at.memmap.length * MEMMAP_ENTRY_SIZE;
  const maxEntries = Math.floor((START_INFO_AREA - START_INFO_SIZE - MODLIST_ENTRY_SIZE) / MEMMAP_ENTRY_SIZE);
  checkMapSize(at.memmap, maxEntries, 'the hvm_start_info page');
  const page = new Uint8Array(modlistOff + (at.initrd ? MODLIST_ENTRY_SIZE : 0));
  const dv = new DataView(page.buffer);
  dv.setUint32(SI.magic, HVM_START_MAGIC, true);
  dv.setUint32(SI.version, HVM_START_VERSION, true);
  dv.setUint32(SI.flags, 0, true);
  setU64(dv, SI.cmdlinePaddr, at.cmdline);
  setU64(dv, SI.rsdpPaddr, at.rsdp);
  setU64(dv, SI.memmapPaddr, BOOT_START_INFO + memmapOff);
  dv.setUint32(SI.memmapEntries, at.memmap.length, true);
  at.memmap.forEach((e, i) => {
    const off = memmapOff + i * MEMMAP_ENTRY_SIZE;
    setU64(dv, off, e.addr);
    setU64(dv, off + 8, e.size);
    dv.setUint32(off + 16, e.type, true);
  });
  if (at.initrd) {
    dv.setUint32(SI.nrModules, 1, true);
    setU64(dv, SI.modlistPaddr, BOOT_START_INFO + modlistOff);
    setU64(dv, modlistOff, at.initrd.addr);
    setU64(dv, modlistOff + 8, at.initrd.size);
  }
  return page;
}

// Checks that every segment lands in low RAM above the boot area, and returns the end of the highest.
function checkSegments(elf: ElfImage, ramEnd: number, name: string): number {
  let end = 0;
  for (const s of elf.segments) {
    if (s.paddr < MIN_SEGMENT_ADDRESS || s.paddr + s.memsz > ramEnd) {
      throw new LoaderError(
        'does-not-fit',
        `${name}: a segment needs ${hex(s.paddr)}..${hex(s.paddr + s.memsz)} but guest RAM for the kernel is ${hex(MIN_SEGMENT_ADDRESS)}..${hex(ramEnd)}`,
      );
    }
    end = Math.max(end, s.paddr + s.memsz);
  }
  return end;
}

/** Loads an ELF kernel through the PVH ABI; throws LoaderError before writing anything if it cannot. */
export function loadPvh(memory: GuestMemory, req: PvhLoad): PvhResult {
  const { kernel, name } = req;
  const elf = parseElf(kernel, name);
  if (elf.pvhEntry === undefined) {
    throw new LoaderError(
      'no-pvh-note',
      `${name}: the ELF kernel has no PVH entry point (no XEN_ELFNOTE_PHYS32_ENTRY note; build it with CONFIG_PVH=y)`,
    );
  }
  const entryPoint = elf.pvhEntry;
  const ramEnd = lowRamEnd(memory);
  const kernelEnd = checkSegments(elf, ramEnd, name);
  if (!elf.segments.some((s) => entryPoint >= s.paddr && entryPoint < s.paddr + s.filesz)) {
    throw new LoaderError('malformed', `${name}: the PVH entry point ${hex(entryPoint)} is not inside a loaded segment`);
  }
  const cmdline = encodeCmdline(req.cmdline, BOOT_CMDLINE_MAX - 1, 'the command line area');
  let initrd: InitrdPlacement | undefined;
  if (req.initrd) {
    initrd = placeInitrd(req.initrd.length, kernelEnd, Math.min(ramEnd, LOW_RAM_TOP), req.initrdName, 'the end of low RAM');
  }
  const startInfo = buildStartInfo({
    cmdline: BOOT_CMDLINE, rsdp: checkRsdp(req.rsdp), memmap: buildMemoryMap(memory.regions, req.reserved), initrd,
  });

  for (const s of elf.segments) {
    memory.write(s.paddr, kernel.subarray(s.offset, s.offset + s.filesz));
    if (s.memsz > s.filesz) memory.fill(s.paddr + s.filesz, s.memsz - s.filesz, 0);
  }
  memory.fill(BOOT_START_INFO, START_INFO_AREA, 0);
  memory.write(BOOT_START_INFO, startInfo);
  memory.write(BOOT_CMDLINE, cmdline);
  if (initrd && req.initrd) memory.write(initrd.addr, req.initrd);
  const entry = protectedModeEntry(memory, entryPoint, BOOT_START_INFO);
  return initrd ? { entry, entryPoint, kernelEnd, initrd } : { entry, entryPoint, kernelEnd };
}
