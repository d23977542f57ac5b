/**
 * What both boot paths place beside the kernel: the command line and the
 * initrd. Both are checked against every limit before anything is written,
 * so a load that fails leaves guest memory as it was.
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import { LOW_RAM_TOP, PAGE_SIZE } from '../memory/layout.js';
import { alignDown, alignUp } from './bytes.js';
import { LoaderError, hex } from './errors.js';

/** Where the initrd goes. */
export interface InitrdPlacement {
  readonly addr: number;
  readonly size: number;
}

/** One past the last byte of the RAM region that starts at address 0 (at most 3 GiB). */
export function lowRamEnd(memory: GuestMemory): number {
  const low = memory.regions.find((r) => r.gpa === 0);
  return low ? Math.min(low.size, LOW_RAM_TOP) : 0;
}

/**
 * The command line as the guest reads it: UTF-8, NUL-terminated, at most
 * `maxLength` bytes before the NUL. A longer line is an error rather than
 * silently cut, since the lost tail (init=, root=) changes what boots.
 */
export function encodeCmdline(cmdline: string, maxLength: number, limitSource: string): Uint8Array {
  const text = new TextEncoder().encode(cmdline);
  if (text.includes(0)) throw new LoaderError('bad-option', 'the kernel command line contains a NUL character');
  if (text.length > maxLength) {
    throw new LoaderError(
      'bad-option',
      `the kernel command line is ${text.length} bytes but ${limitSource} accepts at most ${maxLength}`,
    );
  }
  const out = new Uint8Array(text.length + 1);
  out.set(text);
  return out;
}

/**
 * Places an initrd of `size` bytes as high as possible, page aligned, in
 * [low, high): `low` is the end of everything the kernel occupies, `high`
 * the first byte it may not use.
 */
export function placeInitrd(size: number, low: number, high: number, name: string, limitSource: string): InitrdPlacement {
  if (size === 0) throw new LoaderError('bad-option', `${name}: the initrd is empty`);
  const floor = alignUp(low, PAGE_SIZE);
  const addr = alignDown(high - size, PAGE_SIZE);
  if (high - size < 0 || addr < floor) {
    const room = Math.max(0, alignDown(high, PAGE_SIZE) - floor);
    throw new LoaderError(
      'does-not-fit',
      `${name}: the initrd is ${size} bytes but only ${room} bytes are free between the kernel's end ${hex(floor)} and ${hex(high)} (${limitSource})`,
    );
  }
  return { addr, size };
}

/** Checks an optional RSDP address the caller passes on to the guest. */
export function checkRsdp(rsdp: number | undefined): number {
  if (rsdp === undefined) return 0;
  if (!Number.isSafeInteger(rsdp) || rsdp <= 0 || rsdp >= 2 ** 32) {
    throw new LoaderError('bad-option', `the ACPI RSDP address ${rsdp} is not a 32-bit guest-physical address`);
  }
  return rsdp;
}
