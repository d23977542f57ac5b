/**
 * loadLinux: picks the boot path for a kernel image and loads it.
 *
 * - an ELF vmlinux boots through PVH;
 * - a bzImage with prefer "pvh" is decompressed here and its vmlinux boots
 *   through PVH, unless its compression is one we cannot undo or it has no
 *   PVH note: then it boots through the 64-bit protocol and says why;
 * - any other bzImage boots through the 64-bit protocol.
 */
import { GuestMemoryError, type GuestMemory } from '../memory/guest-memory.js';
import type { InitrdPlacement } from './boot-data.js';
import { loadBzImage } from './bzimage.js';
import type { EntryState } from './cpu-state.js';
import { isElf } from './elf.js';
import { LoaderError } from './errors.js';
import { extractVmlinux } from './extract.js';
import type { MemoryRange } from './memmap.js';
import { loadPvh } from './pvh.js';
import { isBzImage } from './setup-header.js';

/** What to load and how. */
export interface LoadLinuxOptions {
  /** A bzImage or an ELF vmlinux. */
  readonly kernel: Uint8Array;
  readonly initrd?: Uint8Array | undefined;
  readonly cmdline: string;
  /** Guest-physical address of the ACPI RSDP, passed on to the kernel. */
  readonly rsdp?: number | undefined;
  /** For a bzImage: boot it through PVH (decompressed here) or the 64-bit protocol. */
  readonly prefer: 'bzimage' | 'pvh';
  /** Extra ranges to mark reserved in the memory map (e.g. the PCIe ECAM window). */
  readonly reserved?: readonly MemoryRange[] | undefined;
  /** How to name the kernel and initrd in messages (e.g. their file names). */
  readonly kernelName?: string | undefined;
  readonly initrdName?: string | undefined;
}

/** Which boot path a load took. */
export type LoadKind = 'bzimage' | 'pvh-elf' | 'pvh-from-bzimage';

/** The CPU state to start in, and where things went. */
export interface LoadLinuxResult {
  readonly entry: EntryState;
  readonly kind: LoadKind;
  /** One past the last byte the kernel may use while it boots. */
  readonly kernelEnd: number;
  readonly initrd?: InitrdPlacement;
  /** Why a bzImage asked to boot through PVH took the 64-bit protocol instead. */
  readonly fallbackReason?: string;
}

function tryPvhFromBzImage(memory: GuestMemory, opts: LoadLinuxOptions, name: string, initrdName: string): LoadLinuxResult | string {
  let vmlinux: Uint8Array;
  try {
    vmlinux = extractVmlinux(opts.kernel, { name });
    const r = loadPvh(memory, { ...opts, kernel: vmlinux, name: `${name} (decompressed)`, initrdName });
    return { entry: r.entry, kind: 'pvh-from-bzimage', kernelEnd: r.kernelEnd, ...(r.initrd ? { initrd: r.initrd } : {}) };
  } catch (e) {
    if (e instanceof LoaderError && (e.code === 'unsupported' || e.code === 'no-pvh-note')) return e.message;
    throw e;
  }
}

function load(memory: GuestMemory, opts: LoadLinuxOptions): LoadLinuxResult {
  const name = opts.kernelName ?? 'kernel';
  const initrdName = opts.initrdName ?? 'initrd';
  const { kernel } = opts;
  if (isElf(kernel)) {
    const r = loadPvh(memory, { ...opts, name, initrdName });
    return { entry: r.entry, kind: 'pvh-elf', kernelEnd: r.kernelEnd, ...(r.initrd ? { initrd: r.initrd } : {}) };
  }
  if (!isBzImage(kernel)) {
    throw new LoaderError(
      'not-a-kernel',
      `${name}: not a Linux kernel (no bzImage header magic "HdrS" and no ELF header)`,
    );
  }
  let fallbackReason: string | undefined;
  if (opts.prefer === 'pvh') {
    const pvh = tryPvhFromBzImage(memory, opts, name, initrdName);
    if (typeof pvh !== 'string') return pvh;
    fallbackReason = pvh;
  }
  const r = loadBzImage(memory, { ...opts, name, initrdName });
  return {
    entry: r.entry, kind: 'bzimage', kernelEnd: r.kernelEnd,
    ...(r.initrd ? { initrd: r.initrd } : {}), ...(fallbackReason ? { fallbackReason } : {}),
  };
}

/**
 * Loads a Linux kernel, initrd and command line into `memory` and returns
 * the CPU state to start in. Every problem with the inputs is a LoaderError
 * and leaves guest memory untouched.
 */
export function loadLinux(memory: GuestMemory, opts: LoadLinuxOptions): LoadLinuxResult {
  try {
    return load(memory, opts);
  } catch (e) {
    // The loaders check every placement first; this is a last line of defence.
    if (e instanceof GuestMemoryError) throw new LoaderError('does-not-fit', `the kernel does not fit in guest RAM: ${e.message}`);
    throw e;
  }
}
