/**
 * Synthetic kernels for the loader's tests: a minimal bzImage (setup header
 * plus payload), a minimal ELF with PT_LOADs and notes, and a small LZ4
 * encoder producing the legacy frames Linux uses. Test-only: nothing in the
 * loader imports this.
 */
import { gzipSync } from 'node:zlib';

/** Fields of a synthetic bzImage; everything has a bootable default. */
export interface BzImageSpec {
  setupSects?: number;
  version?: number;
  xloadflags?: number;
  loadflags?: number;
  prefAddress?: number;
  initSize?: number;
  kernelAlignment?: number;
  relocatable?: boolean;
  cmdlineSize?: number;
  initrdAddrMax?: number;
  /** Byte at 0x201: the setup header ends at 0x202 plus this. */
  headerLength?: number;
  /** The compressed kernel; placed at payloadOffset into the protected-mode part. */
  payload?: Uint8Array;
  payloadOffset?: number;
  /** Extra protected-mode bytes after the payload. */
  tail?: number;
}

/** Builds a bzImage with a setup header as Linux 6.x writes it. */
export function buildBzImage(spec: BzImageSpec = {}): Uint8Array {
  const sects = spec.setupSects ?? 4;
  const setupSize = ((sects || 4) + 1) * 512;
  const payload = spec.payload ?? new Uint8Array([0xde, 0xad, 0xbe, 0xef]);
  const payloadOffset = spec.payloadOffset ?? 0x100;
  const pmSize = Math.ceil((payloadOffset + payload.length + (spec.tail ?? 0)) / 16) * 16;
  const img = new Uint8Array(setupSize + pmSize);
  const dv = new DataView(img.buffer);
  img[0x1f1] = sects;
  dv.setUint32(0x1f4, pmSize / 16, true); // syssize
  dv.setUint16(0x1fe, 0xaa55, true);
  img[0x200] = 0xeb;
  img[0x201] = spec.headerLength ?? 0x6a;
  dv.setUint32(0x202, 0x53726448, true); // "HdrS"
  dv.setUint16(0x206, spec.version ?? 0x020f, true);
  img[0x211] = spec.loadflags ?? 0x01;
  dv.setUint32(0x214, 0x100000, true); // code32_start
  dv.setUint32(0x22c, spec.initrdAddrMax ?? 0x7fffffff, true);
  dv.setUint32(0x230, spec.kernelAlignment ?? 0x200000, true);
  img[0x234] = spec.relocatable === false ? 0 : 1;
  img[0x235] = 21; // min_alignment
  dv.setUint16(0x236, spec.xloadflags ?? 0x7f, true);
  dv.setUint32(0x238, spec.cmdlineSize ?? 0x7ff, true);
  dv.setUint32(0x248, payloadOffset, true);
  dv.setUint32(0x24c, payload.length, true);
  const pref = spec.prefAddress ?? 0x200000;
  dv.setUint32(0x258, pref % 2 ** 32, true);
  dv.setUint32(0x25c, Math.floor(pref / 2 ** 32), true);
  dv.setUint32(0x260, spec.initSize ?? 0x400000, true);
  // Make the protected-mode part recognisable in guest memory.
  img.fill(0xcc, setupSize, setupSize + payloadOffset);
  img.set(payload, setupSize + payloadOffset);
  return img;
}

/** One PT_LOAD of a synthetic ELF. */
export interface ElfSegmentSpec {
  paddr: number;
  data: Uint8Array;
  /** Defaults to data.length; more gives a zeroed tail. */
  memsz?: number;
}

/** One ELF note. */
export interface ElfNoteSpec {
  name: string;
  type: number;
  desc: Uint8Array;
}

/** A synthetic ELF executable. */
export interface ElfSpec {
  bits?: 32 | 64;
  segments: ElfSegmentSpec[];
  notes?: ElfNoteSpec[];
  entry?: number;
  machine?: number;
}

/** The PVH entry note Linux emits (an 8-byte value on x86-64). */
export function pvhNote(entry: number, size: 4 | 8 = 8): ElfNoteSpec {
  const desc = new Uint8Array(size);
  new DataView(desc.buffer).setUint32(0, entry, true);
  return { name: 'Xen', type: 18, desc };
}

function encodeNotes(notes: ElfNoteSpec[]): Uint8Array {
  const parts: number[] = [];
  const pad = (): void => { while (parts.length % 4) parts.push(0); };
  for (const n of notes) {
    const name = [...new TextEncoder().encode(n.name), 0];
    const hdr = new Uint8Array(12);
    const dv = new DataView(hdr.buffer);
    dv.setUint32(0, name.length, true);
    dv.setUint32(4, n.desc.length, true);
    dv.setUint32(8, n.type, true);
    parts.push(...hdr, ...name);
    pad();
    parts.push(...n.desc);
    pad();
  }
  return new Uint8Array(parts);
}

/** Builds an ELF with one PT_LOAD per segment and, if there are notes, a PT_NOTE. */
export function buildElf(spec: ElfSpec): Uint8Array {
  const bits = spec.bits ?? 64;
  const ehsize = bits === 64 ? 64 : 52;
  const phsize = bits === 64 ? 56 : 32;
  const notes = spec.notes && spec.notes.length ? encodeNotes(spec.notes) : undefined;
  const phnum = spec.segments.length + (notes ? 1 : 0);
  let off = ehsize + phnum * phsize;
  const placed = spec.segments.map((s) => {
    const at = off;
    off += s.data.length;
    return at;
  });
  const notesAt = off;
  off += notes ? notes.length : 0;
  const img = new Uint8Array(off);
  const dv = new DataView(img.buffer);
  img.set([0x7f, 0x45, 0x4c, 0x46, bits === 64 ? 2 : 1, 1, 1]);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, spec.machine ?? (bits === 64 ? 62 : 3), true);
  dv.setUint32(20, 1, true);
  const entry = spec.entry ?? spec.segments[0]?.paddr ?? 0;
  const ph = (i: number, type: number, offset: number, paddr: number, filesz: number, memsz: number, align: number): void => {
    const p = ehsize + i * phsize;
    if (bits === 64) {
      dv.setUint32(p, type, true);
      dv.setUint32(p + 4, 7, true);
      dv.setBigUint64(p + 8, BigInt(offset), true);
      dv.setBigUint64(p + 16, BigInt(paddr) + 0xffffffff80000000n, true);
      dv.setBigUint64(p + 24, BigInt(paddr), true);
      dv.setBigUint64(p + 32, BigInt(filesz), true);
      dv.setBigUint64(p + 40, BigInt(memsz), true);
      dv.setBigUint64(p + 48, BigInt(align), true);
    } else {
      dv.setUint32(p, type, true);
      dv.setUint32(p + 4, offset, true);
      dv.setUint32(p + 8, paddr, true);
      dv.setUint32(p + 12, paddr, true);
      dv.setUint32(p + 16, filesz, true);
      dv.setUint32(p + 20, memsz, true);
      dv.setUint32(p + 24, 7, true);
      dv.setUint32(p + 28, align, true);
    }
  };
  if (bits === 64) {
    dv.setBigUint64(24, BigInt(entry), true);
    dv.setBigUint64(32, BigInt(ehsize), true);
    dv.setUint16(52, ehsize, true);
    dv.setUint16(54, phsize, true);
    dv.setUint16(56, phnum, true);
  } else {
    dv.setUint32(24, entry, true);
    dv.setUint32(28, ehsize, true);
    dv.setUint16(40, ehsize, true);
    dv.setUint16(42, phsize, true);
    dv.setUint16(44, phnum, true);
  }
  spec.segments.forEach((s, i) => {
    ph(i, 1, placed[i]!, s.paddr, s.data.length, s.memsz ?? s.data.length, 0x1000);
    img.set(s.data, placed[i]!);
  });
  if (notes) {
    ph(spec.segments.length, 4, notesAt, 0, notes.length, notes.length, 4);
    img.set(notes, notesAt);
  }
  return img;
}

/**
 * Encodes one LZ4 block with a greedy single-probe matcher, keeping the
 * format's end rules (last 5 bytes literal, no match starting in the last 12).
 */
export function lz4EncodeBlock(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  const n = src.length;
  const table = new Map<number, number>();
  const read32 = (i: number): number => src[i]! | (src[i + 1]! << 8) | (src[i + 2]! << 16) | (src[i + 3]! << 24);
  const length = (v: number): void => {
    for (; v >= 255; v -= 255) out.push(255);
    out.push(v);
  };
  const emit = (anchor: number, end: number, match?: { offset: number; len: number }): void => {
    const lit = end - anchor;
    const ml = match ? match.len - 4 : 0;
    out.push((Math.min(lit, 15) << 4) | Math.min(ml, 15));
    if (lit >= 15) length(lit - 15);
    for (let i = anchor; i < end; i++) out.push(src[i]!);
    if (!match) return;
    out.push(match.offset & 0xff, match.offset >> 8);
    if (ml >= 15) length(ml - 15);
  };
  let anchor = 0;
  let i = 0;
  while (i < n - 12) {
    const seq = read32(i);
    const cand = table.get(seq);
    table.set(seq, i);
    if (cand !== undefined && i - cand <= 0xffff) {
      let len = 4;
      while (i + len < n - 5 && src[cand + len] === src[i + len]) len++;
      emit(anchor, i, { offset: i - cand, len });
      i += len;
      anchor = i;
    } else {
      i++;
    }
  }
  emit(anchor, n);
  return new Uint8Array(out);
}

/** Options for lz4LegacyEncode. */
export interface Lz4LegacySpec {
  /** Uncompressed bytes per block (at most 8 MiB). */
  blockSize?: number;
  /** Append the uncompressed size as the kernel build does. */
  appendSize?: boolean;
}

/** A legacy LZ4 frame (magic, then size-prefixed blocks). */
export function lz4LegacyEncode(data: Uint8Array, spec: Lz4LegacySpec = {}): Uint8Array {
  const blockSize = spec.blockSize ?? 8 << 20;
  const parts: Uint8Array[] = [new Uint8Array([0x02, 0x21, 0x4c, 0x18])];
  for (let off = 0; off < data.length; off += blockSize) {
    const block = lz4EncodeBlock(data.subarray(off, off + blockSize));
    const size = new Uint8Array(4);
    new DataView(size.buffer).setUint32(0, block.length, true);
    parts.push(size, block);
  }
  if (spec.appendSize) {
    const size = new Uint8Array(4);
    new DataView(size.buffer).setUint32(0, data.length, true);
    parts.push(size);
  }
  return concat(parts);
}

/** A gzip payload as the kernel build makes it (gzip's own trailer carries the size). */
export function gzipPayload(data: Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(data));
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A small vmlinux-like ELF: code at `paddr` with the PVH entry 0x50 into it, and a bss. */
export function sampleVmlinux(paddr = 0x1000000, codeSize = 0x3000, bss = 0x2000): Uint8Array {
  const code = new Uint8Array(codeSize);
  for (let i = 0; i < code.length; i++) code[i] = (i * 7 + 3) & 0xff;
  return buildElf({
    segments: [{ paddr, data: code, memsz: codeSize + bss }],
    notes: [{ name: 'GNU', type: 3, desc: new Uint8Array(20) }, pvhNote(paddr + 0x50)],
    entry: paddr,
  });
}
