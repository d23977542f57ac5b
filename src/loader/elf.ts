/**
 * Just enough ELF to boot a vmlinux: the program headers (PT_LOAD segments
 * at their physical addresses) and the PVH entry point from the Xen notes.
 * Section headers are never read; a stripped image boots the same.
 */
import { ImageReader } from './bytes.js';
import { LoaderError, hex } from './errors.js';

/** ELF identification: "\x7fELF". */
export const ELF_MAGIC = 0x464c457f;
/** Program header types used here. */
export const PT_LOAD = 1;
/** A segment of notes. */
export const PT_NOTE = 4;
/** Xen's ELF note carrying the 32-bit PVH entry point (a physical address). */
export const XEN_ELFNOTE_PHYS32_ENTRY = 18;
const EM_386 = 3;
const EM_X86_64 = 62;
const ET_EXEC = 2;
const PN_XNUM = 0xffff;

/** A PT_LOAD segment. */
export interface ElfSegment {
  /** Where its bytes are in the file. */
  readonly offset: number;
  /** Guest-physical address (p_paddr). */
  readonly paddr: number;
  readonly filesz: number;
  /** filesz plus the zeroed tail (bss). */
  readonly memsz: number;
}

/** What a PVH loader needs of an ELF image. */
export interface ElfImage {
  readonly bits: 32 | 64;
  readonly entry: number;
  readonly segments: readonly ElfSegment[];
  /** XEN_ELFNOTE_PHYS32_ENTRY, when present. */
  readonly pvhEntry?: number;
}

/** True when `bytes` starts with the ELF magic. */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

// Layout differences between ELF32 and ELF64.
const LAYOUT = {
  32: { ehsize: 52, entry: 24, phoff: 28, phentsize: 42, phnum: 44, phsize: 32 },
  64: { ehsize: 64, entry: 24, phoff: 32, phentsize: 54, phnum: 56, phsize: 56 },
} as const;

interface RawPhdr {
  type: number;
  offset: number;
  paddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

function readPhdr(r: ImageReader, bits: 32 | 64, off: number): RawPhdr {
  const what = 'a program header';
  if (bits === 64) {
    return {
      type: r.u32(off, what), offset: r.u64(off + 8, what), paddr: r.u64(off + 24, what),
      filesz: r.u64(off + 32, what), memsz: r.u64(off + 40, what), align: r.u64(off + 48, what),
    };
  }
  return {
    type: r.u32(off, what), offset: r.u32(off + 4, what), paddr: r.u32(off + 12, what),
    filesz: r.u32(off + 16, what), memsz: r.u32(off + 20, what), align: r.u32(off + 28, what),
  };
}

const pad = (n: number, align: number): number => Math.ceil(n / align) * align;

// The PVH entry from one PT_NOTE segment's notes, if it has one.
function findPvhNote(r: ImageReader, start: number, size: number, noteAlign: number): number | undefined {
  const end = start + size;
  let pos = start;
  // Fewer bytes than a note header at the end are padding.
  while (end - pos >= 12) {
    const namesz = r.u32(pos);
    const descsz = r.u32(pos + 4);
    const type = r.u32(pos + 8);
    const name = pos + 12;
    const desc = name + pad(namesz, noteAlign);
    const next = desc + pad(descsz, noteAlign);
    if (desc + descsz > end) {
      throw new LoaderError('malformed', `${r.name}: an ELF note at ${hex(pos)} runs past the end of its PT_NOTE segment`);
    }
    const isXen = (namesz === 4 || namesz === 3) && r.bytes[name] === 0x58 && r.bytes[name + 1] === 0x65
      && r.bytes[name + 2] === 0x6e && (namesz === 3 || r.bytes[name + 3] === 0);
    if (isXen && type === XEN_ELFNOTE_PHYS32_ENTRY) {
      // Linux writes it with _ASM_PTR: 8 bytes on x86-64, 4 on i386.
      if (descsz === 4) return r.u32(desc);
      if (descsz === 8) {
        if (r.u32(desc + 4) !== 0) {
          throw new LoaderError('malformed', `${r.name}: the PVH entry point note gives an address above 4 GiB`);
        }
        return r.u32(desc);
      }
      throw new LoaderError('malformed', `${r.name}: the PVH entry point note has ${descsz} bytes of data (expected 4 or 8)`);
    }
    pos = next;
  }
  return undefined;
}

/** Parses the program headers and PVH note of an x86 ELF executable. */
export function parseElf(bytes: Uint8Array, name: string): ElfImage {
  const r = new ImageReader(bytes, name);
  if (!isElf(bytes)) throw new LoaderError('not-a-kernel', `${name}: not an ELF file`);
  const cls = r.u8(4, 'the ELF identification');
  if (cls !== 1 && cls !== 2) throw new LoaderError('malformed', `${name}: unknown ELF class ${cls}`);
  const bits = cls === 1 ? 32 : 64;
  const l = LAYOUT[bits];
  r.need(0, l.ehsize, 'the ELF header');
  if (r.u8(5) !== 1) throw new LoaderError('unsupported', `${name}: a big-endian ELF cannot be an x86 kernel`);
  const machine = r.u16(18);
  if (machine !== (bits === 64 ? EM_X86_64 : EM_386)) {
    throw new LoaderError('unsupported', `${name}: ELF${bits} for machine ${machine} is not an x86 kernel`);
  }
  if (r.u16(16) !== ET_EXEC) throw new LoaderError('unsupported', `${name}: not an executable ELF (e_type ${r.u16(16)})`);
  const entry = bits === 64 ? r.u64(l.entry) : r.u32(l.entry);
  const phoff = bits === 64 ? r.u64(l.phoff) : r.u32(l.phoff);
  const phentsize = r.u16(l.phentsize);
  const phnum = r.u16(l.phnum);
  if (phnum === 0) throw new LoaderError('malformed', `${name}: the ELF has no program headers`);
  if (phnum === PN_XNUM) throw new LoaderError('unsupported', `${name}: more than 65534 program headers`);
  if (phentsize < l.phsize) {
    throw new LoaderError('malformed', `${name}: ELF program headers of ${phentsize} bytes are too small (need ${l.phsize})`);
  }
  r.need(phoff, phnum * phentsize, 'the program header table');

  const segments: ElfSegment[] = [];
  let pvhEntry: number | undefined;
  for (let i = 0; i < phnum; i++) {
    const ph = readPhdr(r, bits, phoff + i * phentsize);
    if (ph.type !== PT_LOAD && ph.type !== PT_NOTE) continue;
    r.need(ph.offset, ph.filesz, `segment ${i}`);
    if (ph.type === PT_NOTE) {
      pvhEntry ??= findPvhNote(r, ph.offset, ph.filesz, ph.align === 8 ? 8 : 4);
      continue;
    }
    if (ph.memsz < ph.filesz) {
      throw new LoaderError('malformed', `${name}: segment ${i} has memsz ${hex(ph.memsz)} below its filesz ${hex(ph.filesz)}`);
    }
    if (ph.memsz > 0) segments.push({ offset: ph.offset, paddr: ph.paddr, filesz: ph.filesz, memsz: ph.memsz });
  }
  if (segments.length === 0) throw new LoaderError('malformed', `${name}: the ELF has no PT_LOAD segment to load`);
  return pvhEntry === undefined ? { bits, entry, segments } : { bits, entry, segments, pvhEntry };
}
