/**
 * loader/: puts a Linux kernel, initrd and command line into guest memory
 * and returns the CPU state to start in (64-bit boot protocol or PVH).
 */
export { LoaderError, type LoaderErrorCode } from './errors.js';
export { loadLinux, type LoadKind, type LoadLinuxOptions, type LoadLinuxResult } from './linux.js';
export { MAX_VMLINUX, extractVmlinux, payloadFormat, type ExtractOptions, type PayloadFormat } from './extract.js';
export { decompressLz4Legacy } from './lz4.js';
export {
  E820_ACPI, E820_NVS, E820_RAM, E820_RESERVED, FIRMWARE_RESERVED, buildMemoryMap,
  type MemoryMapEntry, type MemoryRange,
} from './memmap.js';
export { type InitrdPlacement } from './boot-data.js';
export * from './cpu-state.js';
