/**
 * Reads Debian packages without dpkg and without root: a .deb is an ar
 * archive holding debian-binary, control.tar.* and data.tar.*, each tar
 * compressed with xz (Debian's default), gzip, zstd or nothing. Files are
 * streamed out of the tar and only those asked for are kept in memory.
 */
import { Readable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import * as tar from "tar-stream";
import xz from "xz-decompress";
import { GuestBuildError } from "./errors.js";

/** A malformed package, or one compressed in a way this reader cannot undo. */
export class DebError extends GuestBuildError {
  override name = "DebError";
}

/** One member of an ar archive. */
export interface ArMember {
  /** The member's name, without the padding and the trailing "/" some writers add. */
  readonly name: string;
  /** The member's bytes (a view into the archive). */
  readonly data: Uint8Array;
}

const AR_MAGIC = "!<arch>\n";
const AR_HEADER_SIZE = 60;

/** Splits an ar archive (the common System V / GNU layout dpkg writes) into its members. */
export function readAr(archive: Uint8Array, label = "archive"): ArMember[] {
  const text = (from: number, len: number) => Buffer.from(archive.subarray(from, from + len)).toString("latin1");
  if (archive.length < AR_MAGIC.length || text(0, AR_MAGIC.length) !== AR_MAGIC) {
    throw new DebError(`${label}: not an ar archive`);
  }
  const members: ArMember[] = [];
  let at = AR_MAGIC.length;
  while (at < archive.length) {
    if (archive.length - at < AR_HEADER_SIZE) throw new DebError(`${label}: truncated ar header at byte ${at}`);
    if (text(at + 58, 2) !== "`\n") throw new DebError(`${label}: bad ar header at byte ${at}`);
    const name = text(at, 16).trimEnd().replace(/\/$/, "");
    const sizeText = text(at + 48, 10).trim();
    if (!/^\d+$/.test(sizeText)) throw new DebError(`${label}: bad ar member size ${JSON.stringify(sizeText)}`);
    const size = Number(sizeText);
    const start = at + AR_HEADER_SIZE;
    if (start + size > archive.length) throw new DebError(`${label}: ar member ${name} is truncated`);
    members.push({ name, data: archive.subarray(start, start + size) });
    at = start + size + (size % 2); // members are padded to an even offset
  }
  return members;
}

/** A file or symlink taken out of a package's data.tar. */
export interface DebFile {
  /** The path inside the package, relative to / (no leading "./" or "/"). */
  readonly path: string;
  /** Permission bits (mode & 0o7777). */
  readonly mode: number;
  /** The contents (empty for a symlink). */
  readonly data: Buffer;
  /** The link target, for a symlink. */
  readonly linkTarget?: string;
}

/** Decides which files of a tar to read, from the path and the size in bytes. */
export type KeepFile = (path: string, size: number) => boolean;
/** Decides, once a file has been read, whether to hold on to it; may throw to abort the read. */
export type AcceptFile = (file: DebFile) => boolean;

function decompressor(member: ArMember, label: string): Readable {
  const source = Readable.from([member.data], { objectMode: false });
  const ext = member.name.slice(member.name.lastIndexOf(".tar") + 4);
  switch (ext) {
    case "":
      return source;
    case ".gz":
      return source.pipe(zlib.createGunzip());
    case ".xz": {
      const web = new xz.XzReadableStream(Readable.toWeb(source) as ReadableStream<Uint8Array>);
      return Readable.fromWeb(web as import("node:stream/web").ReadableStream<Uint8Array>);
    }
    case ".zst": {
      // Node has zstd from 22.15 on; Debian itself has used xz so far.
      const zstd = (zlib as { createZstdDecompress?: () => Transform }).createZstdDecompress;
      if (zstd !== undefined) return source.pipe(zstd());
      throw new DebError(`${label}: ${member.name} is zstd-compressed, which needs Node 22.15 or newer`);
    }
    default:
      throw new DebError(`${label}: ${member.name}: unsupported compression ${JSON.stringify(ext)}`);
  }
}

/** Streams the tar in member and returns the regular files and symlinks keep() (then accept()) take, by path. */
export async function readTarMember(member: ArMember, keep: KeepFile, label: string, accept?: AcceptFile): Promise<Map<string, DebFile>> {
  const files = new Map<string, DebFile>();
  const extract = tar.extract();
  extract.on("entry", (header, stream, next) => {
    const path = header.name.replace(/^\.?\/+/, "").replace(/\/+$/, "");
    const type = header.type;
    if ((type !== "file" && type !== "symlink" && type !== "contiguous-file") || !keep(path, header.size)) {
      stream.on("end", () => next());
      stream.resume();
      return;
    }
    const chunks: Buffer[] = [];
    stream.on("data", (c: unknown) => chunks.push(c as Buffer));
    stream.on("end", () => {
      const mode = header.mode & 0o7777;
      const file: DebFile =
        type === "symlink" ? { path, mode, data: Buffer.alloc(0), linkTarget: header.linkname } : { path, mode, data: Buffer.concat(chunks) };
      try {
        if (accept === undefined || accept(file)) files.set(path, file);
        next();
      } catch (err) {
        next(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
  try {
    await pipeline(decompressor(member, label), extract);
  } catch (err) {
    if (err instanceof GuestBuildError) throw err;
    throw new DebError(`${label}: ${member.name}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return files;
}

/** Parses Debian control-file stanzas (separated by blank lines); continuation lines are joined by "\n". */
export function parseStanzas(text: string): Map<string, string>[] {
  const stanzas: Map<string, string>[] = [];
  let fields = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      if (fields.size > 0) stanzas.push(fields);
      fields = new Map();
      last = undefined;
    } else if (/^[ \t]/.test(line)) {
      if (last !== undefined) fields.set(last, `${fields.get(last)}\n${line.trim()}`);
    } else {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      last = line.slice(0, colon);
      fields.set(last, line.slice(colon + 1).trim());
    }
  }
  if (fields.size > 0) stanzas.push(fields);
  return stanzas;
}

/** Parses the first stanza of a Debian control file (a package's control, one apt-cache record). */
export function parseControl(text: string): Map<string, string> {
  return parseStanzas(text)[0] ?? new Map();
}

/** What readDeb found: the control fields and the data files that were asked for. */
export interface DebContents {
  /** Fields of the package's control file (Package, Version, Architecture, ...). */
  readonly control: Map<string, string>;
  /** Files of data.tar that keep() accepted, by path relative to /. */
  readonly files: Map<string, DebFile>;
}

/** Reads a .deb's control file and the data files keep() (then accept(), if given) take; label names the package in errors. */
export async function readDeb(deb: Uint8Array, keep: KeepFile, label = "package", accept?: AcceptFile): Promise<DebContents> {
  const members = readAr(deb, label);
  if (members[0]?.name !== "debian-binary" || !Buffer.from(members[0].data).toString("latin1").startsWith("2.")) {
    throw new DebError(`${label}: not a Debian binary package (format 2.x)`);
  }
  const find = (prefix: string) => {
    const m = members.find((x) => x.name.startsWith(prefix));
    if (m === undefined) throw new DebError(`${label}: has no ${prefix}* member`);
    return m;
  };
  const controlFiles = await readTarMember(find("control.tar"), (p) => p === "control", label);
  const controlFile = controlFiles.get("control");
  if (controlFile === undefined) throw new DebError(`${label}: control.tar has no control file`);
  const files = await readTarMember(find("data.tar"), keep, label, accept);
  return { control: parseControl(controlFile.data.toString("utf8")), files };
}
