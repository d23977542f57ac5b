/**
 * The one place koffi is loaded.
 *
 * koffi is required lazily (not imported) so that modules of sys/ can be
 * imported where its native addon cannot load (another OS, a bundle for the
 * browser): the emulator backend still runs there, and callers such as
 * memory/ fall back when the first call throws.
 */
import { createRequire } from 'node:module';
import type KoffiDefault from 'koffi';
import type { LibraryHandle, TypeObject } from 'koffi';

/** The koffi module object (its default export). */
export type Koffi = typeof KoffiDefault;
/** A koffi type object (struct, union, array or primitive). */
export type KType = TypeObject;
/** A loaded shared library. */
export type KLibrary = LibraryHandle;

let mod: Koffi | undefined;

/** Returns koffi, loading it on first use. */
export function koffi(): Koffi {
  if (mod === undefined) mod = createRequire(import.meta.url)('koffi') as Koffi;
  return mod;
}

/** True once koffi has been loaded (so errno can be asked of it). */
export function koffiLoaded(): boolean {
  return mod !== undefined;
}
