/**
 * Reads what a Linux kernel module (.ko, an ELF relocatable) says about
 * itself in its .modinfo section: NUL-separated "key=value" strings such as
 * name=virtio_blk and depends=virtio,virtio_ring. Debian's kernel package
 * ships no modules.dep (depmod makes it at install time), so this is where
 * the load order of the guest's modules comes from.
 */

import { GuestBuildError } from "./errors.js";

/** A kernel module found in the kernel package. */
export interface KernelModule {
  /** The module's name as the kernel knows it (underscores, no .ko). */
  readonly name: string;
  /** Names of the modules that must be loaded first (the depends= field). */
  readonly depends: readonly string[];
  /** Where the .ko lives, relative to / (e.g. lib/modules/REL/kernel/drivers/virtio/virtio.ko). */
  readonly path: string;
}

/** A .ko that is not a 64-bit little-endian ELF file, or whose section table is out of bounds. */
export class ModinfoError extends GuestBuildError {
  override name = "ModinfoError";
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const SECTION_HEADER_SIZE = 64;

function u64(view: DataView, at: number, what: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ModinfoError(`${what} is out of range`);
  return Number(v);
}

/** The raw bytes of the named section of an ELF64 little-endian file, or undefined if it has none. */
export function elfSection(elf: Uint8Array, wanted: string, label = "module"): Uint8Array | undefined {
  if (elf.length < 64 || ELF_MAGIC.some((b, i) => elf[i] !== b)) throw new ModinfoError(`${label}: not an ELF file`);
  if (elf[4] !== ELFCLASS64 || elf[5] !== ELFDATA2LSB) throw new ModinfoError(`${label}: not a 64-bit little-endian ELF file`);
  const view = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const shoff = u64(view, 0x28, `${label}: e_shoff`);
  const shentsize = view.getUint16(0x3a, true);
  const shnum = view.getUint16(0x3c, true);
  const shstrndx = view.getUint16(0x3e, true);
  if (shentsize < SECTION_HEADER_SIZE || shstrndx >= shnum || shoff + shnum * shentsize > elf.length) {
    throw new ModinfoError(`${label}: section header table is out of bounds`);
  }
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    const offset = u64(view, at + 0x18, `${label}: sh_offset`);
    const size = u64(view, at + 0x20, `${label}: sh_size`);
    if (offset + size > elf.length) throw new ModinfoError(`${label}: section ${i} is out of bounds`);
    return { nameAt: view.getUint32(at, true), bytes: elf.subarray(offset, offset + size) };
  };
  const names = section(shstrndx).bytes;
  const target = new TextEncoder().encode(`${wanted}\0`);
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    const candidate = names.subarray(s.nameAt, s.nameAt + target.length);
    if (candidate.length === target.length && candidate.every((b, j) => b === target[j])) return s.bytes;
  }
  return undefined;
}

/** Parses .modinfo bytes into key -> values (keys such as alias= repeat). */
export function parseModinfo(bytes: Uint8Array): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  // Entries are NUL-terminated and may be separated by extra NUL padding.
  for (const entry of new TextDecoder().decode(bytes).split("\0")) {
    const eq = entry.indexOf("=");
    if (eq <= 0) continue;
    const key = entry.slice(0, eq);
    const values = fields.get(key) ?? [];
    values.push(entry.slice(eq + 1));
    fields.set(key, values);
  }
  return fields;
}

/** The name the kernel gives a module file: basename without .ko, dashes as underscores. */
export function moduleNameFromPath(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1).replace(/\.ko$/, "");
  return base.replace(/-/g, "_");
}

/** Reads a .ko's name and dependencies; the name falls back to the file name for modules without name=. */
export function readKernelModule(path: string, ko: Uint8Array): KernelModule {
  const section = elfSection(ko, ".modinfo", path);
  if (section === undefined) throw new ModinfoError(`${path}: has no .modinfo section`);
  const fields = parseModinfo(section);
  const name = fields.get("name")?.[0] ?? moduleNameFromPath(path);
  const depends = (fields.get("depends")?.[0] ?? "")
    .split(",")
    .map((d) => d.trim().replace(/-/g, "_"))
    .filter((d) => d !== "");
  return { name, depends, path };
}
