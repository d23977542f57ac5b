/**
 * Linux's 64-bit boot protocol: the protected-mode kernel at its preferred
 * address, boot_params (the zero page) built from the image's setup header,
 * and a long-mode entry at load address + 0x200 with RSI = boot_params.
 * The kernel then decompresses itself inside its init_size window.
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import { LOW_RAM_TOP, MiB } from '../memory/layout.js';
import { alignUp, setU64 } from './bytes.js';
import { type InitrdPlacement, checkRsdp, encodeCmdline, lowRamEnd, placeInitrd } from './boot-data.js';
import { BOOT_CMDLINE, BOOT_CMDLINE_MAX, BOOT_IDENTITY_MAP_END, BOOT_ZERO_PAGE, type EntryState, longModeEntry } from './cpu-state.js';
import { LoaderError, hex } from './errors.js';
import { type MemoryMapEntry, type MemoryRange, buildMemoryMap, checkMapSize } from './memmap.js';
import { CAN_USE_HEAP, HDR, LOADED_HIGH, type SetupHeader, parseSetupHeader } from './setup-header.js';

/** Offsets in boot_params outside the setup header. */
export const BP = {
  acpiRsdpAddr: 0x070,
  extRamdiskImage: 0x0c0,
  extRamdiskSize: 0x0c4,
  extCmdLinePtr: 0x0c8,
  e820Entries: 0x1e8,
  sentinel: 0x1ef,
  e820Table: 0x2d0,
} as const;
/** Size of boot_params. */
export const ZERO_PAGE_SIZE = 0x1000;
/** boot_params holds at most this many e820 entries. */
export const E820_MAX_ZEROPAGE = 128;
/** type_of_loader for a loader without an assigned ID. */
export const LOADER_TYPE_UNDEFINED = 0xff;
/** heap_end_ptr: the end of the setup heap (0x10000 - 0x200), as boot.rst suggests. */
const HEAP_END_PTR = 0xfe00;
/** The 64-bit entry point sits this far into the protected-mode kernel. */
export const ENTRY_64_OFFSET = 0x200;
// Below 1 MiB live our boot structures, the EBDA, VGA and the ACPI RSDP.
const MIN_LOAD_ADDRESS = 1 * MiB;

/** Inputs of a 64-bit boot protocol load. */
export interface BzImageLoad {
  readonly kernel: Uint8Array;
  readonly initrd?: Uint8Array | undefined;
  readonly cmdline: string;
  readonly rsdp?: number | undefined;
  readonly reserved?: readonly MemoryRange[] | undefined;
  readonly name: string;
  readonly initrdName: string;
}

/** Where a 64-bit boot protocol load put things. */
export interface BzImageResult {
  readonly entry: EntryState;
  readonly loadAddress: number;
  /** One past the kernel's init_size window. */
  readonly kernelEnd: number;
  readonly initrd?: InitrdPlacement;
}

/** Where a relocatable kernel goes: its preferred address, aligned as it asks. */
export function loadAddress(hdr: SetupHeader): number {
  const pref = hdr.prefAddress || MIN_LOAD_ADDRESS;
  const align = hdr.kernelAlignment;
  // A non-power-of-two alignment is nonsense; the kernel moves itself if needed.
  if (hdr.relocatable && align > 0 && (align & (align - 1)) === 0) return alignUp(pref, align);
  return pref;
}

/** The boot_params page for `kernel` (a parsed bzImage) with the given placements. */
export function buildZeroPage(
  kernel: Uint8Array,
  hdr: SetupHeader,
  at: { loadAddress: number; cmdline: number; initrd?: InitrdPlacement | undefined; rsdp: number; e820: readonly MemoryMapEntry[] },
): Uint8Array {
  const zp = new Uint8Array(ZERO_PAGE_SIZE);
  const dv = new DataView(zp.buffer);
  // boot.rst: copy the setup header from the image into boot_params; the
  // sentinel before it stays 0, so the kernel trusts the zeroed fields.
  zp.set(kernel.subarray(HDR.setupSects, hdr.headerEnd), HDR.setupSects);
  dv.setUint16(HDR.vidMode, 0xffff, true); // "normal"
  zp[HDR.typeOfLoader] = LOADER_TYPE_UNDEFINED;
  zp[HDR.extLoaderVer] = 0;
  zp[HDR.extLoaderType] = 0;
  // KEEP_SEGMENTS is obsolete and only ever mattered for the 32-bit entry;
  // QUIET_FLAG is the user's to ask for on the command line.
  zp[HDR.loadflags] = (hdr.loadflags & LOADED_HIGH) | CAN_USE_HEAP;
  dv.setUint16(HDR.heapEndPtr, HEAP_END_PTR, true);
  dv.setUint32(HDR.code32Start, at.loadAddress % 2 ** 32, true);
  dv.setUint32(HDR.cmdLinePtr, at.cmdline, true);
  dv.setUint32(BP.extCmdLinePtr, 0, true);
  const rd = at.initrd ?? { addr: 0, size: 0 };
  dv.setUint32(HDR.ramdiskImage, rd.addr % 2 ** 32, true);
  dv.setUint32(HDR.ramdiskSize, rd.size % 2 ** 32, true);
  dv.setUint32(BP.extRamdiskImage, Math.floor(rd.addr / 2 ** 32), true);
  dv.setUint32(BP.extRamdiskSize, Math.floor(rd.size / 2 ** 32), true);
  // Fields a hostile image could preset to steer the kernel elsewhere.
  dv.setUint32(HDR.hardwareSubarch, 0, true);
  setU64(dv, HDR.hardwareSubarchData, 0);
  setU64(dv, HDR.setupData, 0);
  setU64(dv, BP.acpiRsdpAddr, at.rsdp);
  checkMapSize(at.e820, E820_MAX_ZEROPAGE, 'boot_params');
  zp[BP.e820Entries] = at.e820.length;
  at.e820.forEach((e, i) => {
    const off = BP.e820Table + 20 * i;
    setU64(dv, off, e.addr);
    setU64(dv, off + 8, e.size);
    dv.setUint32(off + 16, e.type, true);
  });
  return zp;
}

/** Loads a bzImage for the 64-bit boot protocol; throws LoaderError before writing anything if it cannot. */
export function loadBzImage(memory: GuestMemory, req: BzImageLoad): BzImageResult {
  const { kernel, name } = req;
  const hdr = parseSetupHeader(kernel, name);
  const load = loadAddress(hdr);
  const image = kernel.subarray(hdr.setupSize);
  const kernelEnd = load + Math.max(hdr.initSize, image.length);
  const ramEnd = lowRamEnd(memory);
  // The boot page tables map only the first GiB, and the protocol wants the
  // whole init_size window identity-mapped.
  const limit = Math.min(ramEnd, BOOT_IDENTITY_MAP_END);
  if (load < MIN_LOAD_ADDRESS || kernelEnd > limit) {
    throw new LoaderError(
      'does-not-fit',
      `${name}: the kernel needs ${hex(load)}..${hex(kernelEnd)} (init_size ${hex(hdr.initSize)} at its preferred address) but guest RAM for it is ${hex(MIN_LOAD_ADDRESS)}..${hex(limit)}`,
    );
  }
  const cmdline = hdr.cmdlineSize < BOOT_CMDLINE_MAX
    ? encodeCmdline(req.cmdline, hdr.cmdlineSize, `${name} (cmdline_size)`)
    : encodeCmdline(req.cmdline, BOOT_CMDLINE_MAX - 1, 'the command line area');
  let initrd: InitrdPlacement | undefined;
  if (req.initrd) {
    const maxEnd = Math.min(hdr.initrdAddrMax + 1, ramEnd, LOW_RAM_TOP);
    const why = maxEnd === hdr.initrdAddrMax + 1 ? `the kernel's initrd_addr_max ${hex(hdr.initrdAddrMax)}` : 'the end of low RAM';
    initrd = placeInitrd(req.initrd.length, kernelEnd, maxEnd, req.initrdName, why);
  }
  const e820 = buildMemoryMap(memory.regions, req.reserved);
  const zeroPage = buildZeroPage(kernel, hdr, {
    loadAddress: load, cmdline: BOOT_CMDLINE, initrd, rsdp: checkRsdp(req.rsdp), e820,
  });

  memory.write(load, image);
  memory.write(BOOT_ZERO_PAGE, zeroPage);
  memory.write(BOOT_CMDLINE, cmdline);
  if (initrd && req.initrd) memory.write(initrd.addr, req.initrd);
  const entry = longModeEntry(memory, load + ENTRY_64_OFFSET, BOOT_ZERO_PAGE);
  return initrd ? { entry, loadAddress: load, kernelEnd, initrd } : { entry, loadAddress: load, kernelEnd };
}
