/**
 * Guest RAM in a snapshot: a sparse file of the pages that are not zero.
 *
 *   [page data: the non-zero pages, in backing order]
 *   [index: one (first page, page count) pair of u32 per run]
 *   [trailer, 32 bytes: "tsvmmmem", version u32, page size u32,
 *    run count u32, page count u32, RAM bytes u64]      (little-endian)
 *
 * Pages are numbered by their offset in the backing store (not by GPA),
 * which the RAM layout derives from the configured size. The index comes
 * after the data so the file is written in one pass; the manifest keeps
 * the file's size and CRC-32 (in file order) to detect damage (a CRC, as
 * Firecracker's snapshot files: SHA-256 took 3 x as long, measured).
 *
 * DEVNOTE: with a memfd backing the pages are read with pread on the fd,
 * never through the mapping: reading an untouched page of a shared shmem
 * mapping allocates it, so scanning the mapping would make all of guest
 * RAM resident. A pread of a hole copies the shared zero page instead.
 * Restore copies the pages into the new machine's RAM through a small
 * bounce buffer and pwrite() on the memfd: the kernel allocates the pages
 * without a page fault each (measured: 46 ms against 219 ms for reading
 * straight into the mapping, 66 MB, on a nested-virtualised host where
 * every fault is expensive). Node offers no way to map them lazily.
 */
import { closeSync, constants, fdatasyncSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { crc32 } from './snapshot-crc32.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { PAGE_SIZE } from '../memory/layout.js';
import { SnapshotError } from './snapshot-format.js';

const MAGIC = 'tsvmmmem';
const VERSION = 1;
const TRAILER = 32;
// Scan and copy unit: large enough for few syscalls, small enough to stay in cache.
const CHUNK = 1 << 20;
const ZERO_CHUNK = Buffer.alloc(CHUNK);
const ZERO_PAGE = ZERO_CHUNK.subarray(0, PAGE_SIZE);
// Restore's bounce buffer: touched once, then every copy stays in cache.
const PIECE = 4 << 20;

/** What writing the memory file found and cost. */
export interface MemoryFileInfo {
  /** Guest RAM size. */
  readonly bytes: number;
  /** Non-zero pages stored. */
  readonly pages: number;
  /** Runs of consecutive stored pages. */
  readonly runs: number;
  readonly fileBytes: number;
  /** "crc32:<8 hex digits>" of the whole file. */
  readonly checksum: string;
  /** Time to scan RAM and write the file (ms), and of that the fdatasync. */
  readonly ms: number;
  readonly syncMs: number;
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function readFull(fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n <= 0) throw new SnapshotError('the memory file is corrupt (shorter than its index says)');
    done += n;
  }
}

function writeFull(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done);
}

function pwriteFull(fd: number, data: Uint8Array, position: number): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done, position + done);
}

/**
 * Writes guest RAM's non-zero pages to `path` (created or replaced). Runs
 * synchronously: the caller captures device state and memory in one step,
 * so no device completion can land between the two.
 */
export function writeMemoryFile(path: string, memory: GuestMemory): MemoryFileInfo {
  const t0 = performance.now();
  const backing = memory.backing;
  const size = backing.size;
  const scratch = backing.fd >= 0 ? Buffer.allocUnsafe(CHUNK) : null;
  let crc = 0;
  const runs: number[] = [];
  let pages = 0;
  const out = openSync(path, 'w', 0o600);
  let syncMs = 0;
  try {
    for (let off = 0; off < size; off += CHUNK) {
      const len = Math.min(CHUNK, size - off);
      let chunk: Buffer;
      if (scratch) {
        chunk = scratch.subarray(0, len);
        readFull(backing.fd, chunk, off);
      } else {
        chunk = asBuffer(backing.bytes(off, len));
      }
      // Most of a fresh guest's RAM is untouched: one memcmp skips a whole chunk.
      if (len === CHUNK && chunk.equals(ZERO_CHUNK)) continue;
      let runStart = -1;
      for (let p = 0; p <= len; p += PAGE_SIZE) {
        const nonZero = p < len && !chunk.subarray(p, p + PAGE_SIZE).equals(ZERO_PAGE);
        if (nonZero && runStart < 0) runStart = p;
        if (!nonZero && runStart >= 0) {
          const data = chunk.subarray(runStart, p);
          writeFull(out, data);
          crc = crc32(data, crc);
          const first = (off + runStart) / PAGE_SIZE;
          const count = (p - runStart) / PAGE_SIZE;
          const last = runs.length - 2;
          // A run that continues the previous one (across a chunk edge) extends it.
          if (last >= 0 && runs[last]! + runs[last + 1]! === first) runs[last + 1]! += count;
          else runs.push(first, count);
          pages += count;
          runStart = -1;
        }
      }
    }
    const index = Buffer.alloc(runs.length * 4);
    runs.forEach((v, i) => index.writeUInt32LE(v, i * 4));
    const trailer = Buffer.alloc(TRAILER);
    trailer.write(MAGIC, 0, 'latin1');
    trailer.writeUInt32LE(VERSION, 8);
    trailer.writeUInt32LE(PAGE_SIZE, 12);
    trailer.writeUInt32LE(runs.length / 2, 16);
    trailer.writeUInt32LE(pages, 20);
    trailer.writeBigUInt64LE(BigInt(size), 24);
    writeFull(out, index);
    writeFull(out, trailer);
    crc = crc32(trailer, crc32(index, crc));
    const s0 = performance.now();
    fdatasyncSync(out);
    syncMs = performance.now() - s0;
  } finally {
    closeSync(out);
  }
  return {
    bytes: size,
    pages,
    runs: runs.length / 2,
    fileBytes: pages * PAGE_SIZE + runs.length * 4 + TRAILER,
    checksum: checksumText(crc),
    ms: performance.now() - t0,
    syncMs,
  };
}

function checksumText(crc: number): string {
  return `crc32:${(crc >>> 0).toString(16).padStart(8, '0')}`;
}

/** What the manifest says about the memory file. */
export interface ExpectedMemory {
  readonly bytes: number;
  readonly pages: number;
  readonly fileBytes: number;
  readonly checksum: string;
}

/** What loading the memory file cost. */
export interface MemoryLoadInfo {
  readonly pages: number;
  readonly ms: number;
}

/** A memory file opened and its trailer and index checked. */
interface Layout {
  readonly fd: number;
  readonly trailer: Buffer;
  readonly index: Buffer;
  /** (first page, page count) per run, in order, inside RAM. */
  readonly runs: ReadonlyArray<readonly [number, number]>;
  readonly pages: number;
}

/** A system error reading the file as a SnapshotError; anything else (a bug) as it is. */
function ioError(name: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (e instanceof SnapshotError || typeof code !== 'string') return e;
  return new SnapshotError(code === 'ENOENT' ? `the memory file ${name} is missing` : `the memory file ${name} cannot be read: ${(e as Error).message}`);
}

/**
 * Opens the memory file and checks everything but the page data against
 * the manifest: size, trailer, and that the runs are in order, inside RAM
 * and add up. Returns the open fd (the caller closes it).
 */
function openLayout(path: string, name: string, expect: ExpectedMemory): Layout {
  const corrupt = (why: string) => new SnapshotError(`the memory file ${name} is corrupt (${why})`);
  // Non-blocking, so a FIFO put in its place cannot hang the open; a regular file reads as ever.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SnapshotError(`the memory file ${name} is not a regular file`);
    const size = st.size;
    if (size !== expect.fileBytes) throw corrupt(`${size} bytes, the manifest says ${expect.fileBytes}: truncated or replaced`);
    if (size < TRAILER) throw corrupt('too short');
    const trailer = Buffer.alloc(TRAILER);
    readFull(fd, trailer, size - TRAILER);
    if (trailer.toString('latin1', 0, 8) !== MAGIC) throw corrupt('no trailer magic');
    const version = trailer.readUInt32LE(8);
    if (version !== VERSION) throw new SnapshotError(`the memory file ${name} has format version ${version}; this tsvmm reads ${VERSION}`);
    if (trailer.readUInt32LE(12) !== PAGE_SIZE) throw corrupt('page size');
    const runCount = trailer.readUInt32LE(16);
    const pages = trailer.readUInt32LE(20);
    const ramBytes = Number(trailer.readBigUInt64LE(24));
    if (ramBytes !== expect.bytes) throw corrupt(`it holds ${ramBytes} bytes of RAM, the manifest says ${expect.bytes}`);
    const totalPages = Math.floor(ramBytes / PAGE_SIZE);
    // Runs are disjoint and non-empty: never more runs than pages, nor pages than RAM (checked before allocating the index).
    if (pages !== expect.pages || pages > totalPages || runCount > pages || pages * PAGE_SIZE + runCount * 8 + TRAILER !== size) {
      throw corrupt('page count and size disagree');
    }
    const index = Buffer.alloc(runCount * 8);
    readFull(fd, index, pages * PAGE_SIZE);
    let next = 0;
    let sum = 0;
    const runs: Array<[number, number]> = [];
    for (let i = 0; i < runCount; i++) {
      const first = index.readUInt32LE(i * 8);
      const count = index.readUInt32LE(i * 8 + 4);
      if (first < next || count === 0 || first + count > totalPages) throw corrupt(`run ${i} is out of order or outside RAM`);
      next = first + count;
      sum += count;
      runs.push([first, count]);
    }
    if (sum !== pages) throw corrupt('the runs do not add up to the page count');
    return { fd, trailer, index, runs, pages };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * Checks that the memory file exists, has the size the manifest gives and
 * a well-formed trailer and index (cheap, before building anything; the
 * page data's CRC is checked as it is loaded).
 */
export function checkMemoryFile(path: string, name: string, expect: ExpectedMemory): void {
  try {
    closeSync(openLayout(path, name, expect).fd);
  } catch (e) {
    throw ioError(name, e);
  }
}

/**
 * Copies the stored pages into `memory` (fresh, all zero) and checks the
 * file's CRC against the manifest; throws SnapshotError when the file is
 * missing, malformed or damaged.
 */
export function readMemoryFile(path: string, name: string, memory: GuestMemory, expect: ExpectedMemory): MemoryLoadInfo {
  const t0 = performance.now();
  const backing = memory.backing;
  if (backing.size !== expect.bytes) {
    throw new SnapshotError(`the memory file ${name} holds ${expect.bytes} bytes of RAM, the machine has ${backing.size}`);
  }
  let layout: Layout;
  try {
    // Checked again: the file may have changed since the snapshot was opened.
    layout = openLayout(path, name, expect);
  } catch (e) {
    throw ioError(name, e);
  }
  const { fd, trailer, index, runs, pages } = layout;
  try {
    const bounce = Buffer.allocUnsafe(PIECE);
    let crc = 0;
    let pos = 0;
    for (const [first, count] of runs) {
      const bytes = count * PAGE_SIZE;
      for (let k = 0; k < bytes; k += PIECE) {
        const len = Math.min(PIECE, bytes - k);
        const piece = bounce.subarray(0, len);
        readFull(fd, piece, pos);
        crc = crc32(piece, crc);
        const at = first * PAGE_SIZE + k;
        try {
          if (backing.fd >= 0) pwriteFull(backing.fd, piece, at);
          else backing.bytes(at, len).set(piece);
        } catch (e) {
          // Not the file's fault (ENOSPC or ENOMEM filling the memfd): say so.
          if (typeof (e as NodeJS.ErrnoException).code !== 'string') throw e;
          throw new SnapshotError(`cannot load the memory file ${name} into guest RAM: ${(e as Error).message}`);
        }
        pos += len;
      }
    }
    crc = crc32(trailer, crc32(index, crc));
    if (checksumText(crc) !== expect.checksum) throw new SnapshotError(`the memory file ${name} is corrupt (CRC mismatch: it was changed or damaged after it was written)`);
    return { pages, ms: performance.now() - t0 };
  } catch (e) {
    throw ioError(name, e);
  } finally {
    closeSync(fd);
  }
}
