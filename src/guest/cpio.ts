/**
 * A writer for the "newc" cpio format (magic 070701), the one format the
 * kernel unpacks into its rootfs at boot. We own it because the initramfs is
 * guest-facing: what the guest sees at / is exactly what this writes.
 *
 * Output is deterministic (every mtime 0, uid/gid 0, inode numbers in order),
 * so the same inputs always give the same bytes and the same sha256.
 * Nothing is compressed: the kernel would have to inflate it at boot, which
 * costs seconds on the software CPU.
 */

import { GuestBuildError } from "./errors.js";

/** File type bits of st_mode, as cpio stores them. */
export const S_IFMT = 0o170000;
/** Directory. */
export const S_IFDIR = 0o040000;
/** Regular file. */
export const S_IFREG = 0o100000;
/** Symbolic link. */
export const S_IFLNK = 0o120000;
/** Character device. */
export const S_IFCHR = 0o020000;
/** Block device. */
export const S_IFBLK = 0o060000;

/** The name of the record that ends every cpio archive. */
export const CPIO_TRAILER = "TRAILER!!!";
/** The magic of a newc header without checksums. */
export const NEWC_MAGIC = "070701";
/** Bytes in a newc header: the magic and 13 fields of 8 hex digits. */
export const NEWC_HEADER_SIZE = 110;

// Each numeric field is 8 hex digits, so nothing may exceed 32 bits.
const MAX_FIELD = 0xffff_ffff;

/** One thing in the archive; paths are relative to the guest's / (a leading "/" is accepted and dropped). */
export type CpioEntry =
  | { kind: "dir"; path: string; mode: number }
  | { kind: "file"; path: string; mode: number; data: Uint8Array }
  | { kind: "symlink"; path: string; target: string }
  | { kind: "chardev" | "blockdev"; path: string; mode: number; major: number; minor: number };

/** A mistake in what was added to an archive (a bad path, a missing parent, a duplicate). */
export class CpioError extends GuestBuildError {
  override name = "CpioError";
}

/** Normalizes "/a/b" and "a/b" to "a/b"; rejects empty, "." and ".." components. */
export function cpioPath(path: string): string {
  const trimmed = path.replace(/^\/+/, "");
  const parts = trimmed.split("/");
  if (trimmed === "" || parts.some((p) => p === "" || p === "." || p === "..") || trimmed.includes("\0")) {
    throw new CpioError(`cpio: ${JSON.stringify(path)} is not a valid path inside the archive`);
  }
  return trimmed;
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

/**
 * An archive under construction. Entries are kept in the order added, and a
 * parent directory must come before what is in it: the kernel creates each
 * entry as it reads it and does not make missing directories.
 */
export class CpioArchive {
  readonly #entries: CpioEntry[] = [];
  readonly #kinds = new Map<string, CpioEntry["kind"]>();

  /** The entries added so far, in archive order. */
  get entries(): readonly CpioEntry[] {
    return this.#entries;
  }

  /** Adds one entry; throws CpioError for a duplicate path or a missing parent directory. */
  add(entry: CpioEntry): this {
    const path = cpioPath(entry.path);
    if (this.#kinds.has(path)) throw new CpioError(`cpio: ${path} was added twice`);
    // The kernel stops reading at a record of this name: anything after it would vanish.
    if (path === CPIO_TRAILER) throw new CpioError(`cpio: ${path} is the name of the end-of-archive record`);
    const parent = parentOf(path);
    if (parent !== "" && this.#kinds.get(parent) !== "dir") {
      throw new CpioError(`cpio: ${path} needs its directory ${parent} to be added first`);
    }
    if (entry.kind === "symlink" && (entry.target === "" || entry.target.includes("\0"))) {
      throw new CpioError(`cpio: ${path}: a symlink needs a non-empty target`);
    }
    if (entry.kind !== "symlink" && (!Number.isInteger(entry.mode) || entry.mode < 0 || entry.mode > 0o7777)) {
      throw new CpioError(`cpio: ${path}: bad mode ${entry.mode} (expected permission bits, at most 0o7777)`);
    }
    if (entry.kind === "chardev" || entry.kind === "blockdev") {
      for (const n of [entry.major, entry.minor]) {
        if (!Number.isInteger(n) || n < 0 || n > MAX_FIELD) throw new CpioError(`cpio: ${path}: bad device number ${n}`);
      }
    }
    this.#kinds.set(path, entry.kind);
    this.#entries.push({ ...entry, path });
    return this;
  }

  /** Adds a directory and any of its ancestors not yet present (ancestors get mode 0755). */
  mkdirs(path: string, mode = 0o755): this {
    const full = cpioPath(path);
    const parts = full.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      const kind = this.#kinds.get(dir);
      if (kind === undefined) this.add({ kind: "dir", path: dir, mode: i === parts.length ? mode : 0o755 });
      else if (kind !== "dir") throw new CpioError(`cpio: ${dir} is a ${kind}, not a directory`);
    }
    return this;
  }

  /** Adds a directory. */
  dir(path: string, mode = 0o755): this {
    return this.add({ kind: "dir", path, mode });
  }

  /** Adds a regular file. */
  file(path: string, data: Uint8Array | string, mode = 0o644): this {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    return this.add({ kind: "file", path, mode, data: bytes });
  }

  /** Adds a symbolic link whose contents are target. */
  symlink(path: string, target: string): this {
    return this.add({ kind: "symlink", path, target });
  }

  /** Adds a character device node (e.g. /dev/console is 5,1). */
  charDevice(path: string, major: number, minor: number, mode = 0o600): this {
    return this.add({ kind: "chardev", path, mode, major, minor });
  }

  /** The archive as newc bytes, ending with the trailer record. */
  toBytes(): Uint8Array {
    return writeNewc(this.#entries);
  }
}

interface Record {
  name: string;
  mode: number;
  nlink: number;
  data: Uint8Array;
  rdevMajor: number;
  rdevMinor: number;
}

function recordOf(entry: CpioEntry): Record {
  const perm = (m: number) => {
    // writeNewc may be given entries that never went through add().
    if (!Number.isInteger(m) || m < 0 || m > 0o7777) throw new CpioError(`cpio: ${entry.path}: bad mode ${m}`);
    return m;
  };
  const base = { name: entry.path, rdevMajor: 0, rdevMinor: 0, nlink: 1 };
  switch (entry.kind) {
    case "dir":
      // A directory's own "." link and its entry in the parent: what every cpio tool writes.
      return { ...base, mode: S_IFDIR | perm(entry.mode), nlink: 2, data: new Uint8Array(0) };
    case "file":
      return { ...base, mode: S_IFREG | perm(entry.mode), data: entry.data };
    case "symlink":
      return { ...base, mode: S_IFLNK | 0o777, data: new TextEncoder().encode(entry.target) };
    case "chardev":
    case "blockdev": {
      const type = entry.kind === "chardev" ? S_IFCHR : S_IFBLK;
      return { ...base, mode: type | perm(entry.mode), data: new Uint8Array(0), rdevMajor: entry.major, rdevMinor: entry.minor };
    }
  }
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

function header(ino: number, r: Record, nameSize: number): string {
  if (r.data.length > MAX_FIELD) throw new CpioError(`cpio: ${r.name} is larger than 4 GiB`);
  // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
  const fields = [ino, r.mode, 0, 0, r.nlink, 0, r.data.length, 0, 0, r.rdevMajor, r.rdevMinor, nameSize, 0];
  return NEWC_MAGIC + fields.map((f) => f.toString(16).padStart(8, "0")).join("");
}

/** Serializes entries (already validated and in order) as a newc archive with its trailer. */
export function writeNewc(entries: readonly CpioEntry[]): Uint8Array {
  const encoder = new TextEncoder();
  const records = entries.map(recordOf);
  records.push({ name: CPIO_TRAILER, mode: 0, nlink: 1, data: new Uint8Array(0), rdevMajor: 0, rdevMinor: 0 });
  const names = records.map((r) => encoder.encode(r.name));
  let total = 0;
  for (let i = 0; i < records.length; i++) {
    const nameSize = names[i]!.length + 1;
    total += NEWC_HEADER_SIZE + nameSize + pad4(NEWC_HEADER_SIZE + nameSize);
    total += records[i]!.data.length + pad4(records[i]!.data.length);
  }
  const out = new Uint8Array(total); // zero-filled: the NULs and padding are already there
  let at = 0;
  records.forEach((r, i) => {
    const name = names[i]!;
    const nameSize = name.length + 1;
    // The trailer carries inode 0, as the kernel's own gen_init_cpio writes it.
    const ino = i === records.length - 1 ? 0 : i + 1;
    at += encoder.encodeInto(header(ino, r, nameSize), out.subarray(at)).written;
    out.set(name, at);
    at += nameSize + pad4(NEWC_HEADER_SIZE + nameSize);
    out.set(r.data, at);
    at += r.data.length + pad4(r.data.length);
  });
  return out;
}
