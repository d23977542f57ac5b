import { existsSync, statSync } from "node:fs";
import { open, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import type { Command } from "commander";
import { SECTOR_SIZE } from "../storage/disk.js";
import { DiskOpenError } from "../storage/open-error.js";
import { readImageInfo, type ImageInfo } from "../storage/info.js";
import { createQcow2File } from "../storage/qcow2/create.js";
import { DEFAULT_CLUSTER_BITS } from "../storage/qcow2/format.js";
import { DISK_FORMATS } from "../vm/config.js";
import { checkInputFile } from "../vm/input-file.js";
import { ExitCode, UsageError } from "./errors.js";
import type { CliContext } from "./io.js";
import { formatSize, parseChoice, parseSize } from "./values.js";

/** Disk sizes are whole 512-byte sectors: that is what virtio-blk counts in. */
export { SECTOR_SIZE };

/** Checks `disk create` arguments; returns the size in bytes. Exported for tests. */
export function checkDiskCreateArgs(file: string, size: string, format: string): number {
  parseChoice(format, "disk create: --format", DISK_FORMATS);
  const bytes = parseSize(size, "disk create: SIZE");
  if (bytes % SECTOR_SIZE !== 0) {
    throw new UsageError(
      `disk create: SIZE: ${formatSize(bytes)} is not a whole number of ${SECTOR_SIZE}-byte sectors (expected a size such as 10G)`,
    );
  }
  // Refuse to overwrite: an image is usually somebody's data.
  if (existsSync(file)) throw new UsageError(`disk create: ${file}: already exists (tsvmm never overwrites an image)`);
  const dir = dirname(file);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(`disk create: ${file}: no such directory ${dir}`);
  }
  return bytes;
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, " ");
}

// node:fs messages repeat the path ("ENOENT: no such file or directory, open '...'"); say it in words.
const HOST_REASONS: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "read-only file system",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EFBIG: "too large for the file system",
  EISDIR: "is a directory",
};

function hostReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code !== undefined && code in HOST_REASONS ? HOST_REASONS[code]! : oneLine(err);
}

function fail(ctx: CliContext, message: string): void {
  ctx.io.stderr(`tsvmm: ${message}\n`);
  ctx.exitCode = ExitCode.VmmFailure;
}

async function createRaw(file: string, bytes: number): Promise<void> {
  // "wx" is O_EXCL: a file that appeared since the check is still never overwritten.
  const handle = await open(file, "wx");
  try {
    await handle.truncate(bytes); // sparse: no data blocks until the guest writes
  } finally {
    await handle.close();
  }
}

/** Runs `tsvmm disk create`; exported for tests. Exit 0, 2 (usage) or 3 (the host refused). */
export async function runDiskCreate(file: string, size: string, opts: { format: string }, ctx: CliContext): Promise<void> {
  const bytes = checkDiskCreateArgs(file, size, opts.format);
  try {
    if (opts.format === "qcow2") await createQcow2File(file, { size: bytes, clusterBits: DEFAULT_CLUSTER_BITS });
    else await createRaw(file, bytes);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new UsageError(`disk create: ${file}: already exists (tsvmm never overwrites an image)`);
    }
    if (err instanceof RangeError) {
      // createQcow2's limits (the L1 table QEMU accepts) are about the arguments.
      await unlink(file).catch(() => {});
      throw new UsageError(`disk create: SIZE: ${oneLine(err)}`);
    }
    // A half-written image is worse than none.
    await unlink(file).catch(() => {});
    fail(ctx, `disk create: ${file}: cannot create: ${hostReason(err)}`);
    return;
  }
  const detail = opts.format === "qcow2" ? `, ${formatSize(2 ** DEFAULT_CLUSTER_BITS)} clusters` : ", sparse";
  ctx.io.stdout(`created ${file}: ${opts.format}, ${formatSize(bytes)}${detail}\n`);
  ctx.exitCode = ExitCode.PowerOff;
}

/** A byte count for people: "1.5 MiB", exact bytes below 1 KiB. */
export function humanSize(bytes: number): string {
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let unit = "bytes";
  for (const u of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  return unit === "bytes" ? `${bytes} bytes` : `${Number(value.toFixed(1))} ${unit}`;
}

/** The lines `disk info` prints for an image. Exported for tests. */
export function formatImageInfo(info: ImageInfo): string {
  const rows: [string, string][] = [
    ["file", info.path],
    ["format", info.qcow2 === undefined ? info.format : `qcow2 (version ${info.qcow2.version})`],
    ["virtual size", `${humanSize(info.virtualSize)} (${info.virtualSize} bytes)`],
    ["disk usage", `${humanSize(info.diskUsage)} (file length ${info.fileSize} bytes)`],
  ];
  const q = info.qcow2;
  if (q !== undefined) {
    const backing = q.backingFile === undefined ? "none" : `${q.backingFile}${q.backingFormat !== undefined ? ` (format ${q.backingFormat})` : ""}`;
    rows.push(
      ["cluster size", humanSize(q.clusterSize)],
      ["refcount bits", String(q.refcountBits)],
      ["backing file", backing],
      ["snapshots", String(q.snapshots)],
      ["dirty", q.dirty ? "yes (not closed cleanly; `qemu-img check -r all` repairs it)" : "no"],
      ["corrupt", q.corrupt ? "yes (marked corrupt; `qemu-img check -r all` repairs it)" : "no"],
    );
  }
  return rows.map(([k, v]) => `${k.padEnd(14)}${v}\n`).join("");
}

/** Runs `tsvmm disk info`; exported for tests. Exit 0, 2 (not an image tsvmm can read) or 3 (I/O failure). */
export async function runDiskInfo(file: string, opts: { json?: boolean }, ctx: CliContext): Promise<void> {
  checkInputFile("disk info", file);
  let info: ImageInfo;
  try {
    info = await readImageInfo(file);
  } catch (err) {
    if (err instanceof DiskOpenError && err.kind !== "io") throw new UsageError(`disk info: ${err.message}`);
    fail(ctx, `disk info: ${oneLine(err)}`);
    return;
  }
  ctx.io.stdout(opts.json ? `${JSON.stringify(info, null, 2)}\n` : formatImageInfo(info));
  ctx.exitCode = ExitCode.PowerOff;
}

/** Adds `tsvmm disk create [--format raw|qcow2] FILE SIZE` and `tsvmm disk info FILE`. */
export function addDiskCommand(program: Command, ctx: CliContext): void {
  const disk = program.command("disk").description("create disk images and show what is in them");
  disk
    .command("create")
    .description("create an empty disk image of SIZE bytes (suffixes K, M, G, T; a bare number is MiB)")
    .option("--format <FORMAT>", "raw (a sparse file) or qcow2 (version 3, 64 KiB clusters)", "raw")
    .argument("<FILE>", "image to create (must not exist)")
    .argument("<SIZE>", "virtual size, e.g. 10G")
    .action((file: string, size: string, opts: { format: string }) => runDiskCreate(file, size, opts, ctx));
  disk
    .command("info")
    .description("print an image's format, virtual size, host disk usage and (qcow2) cluster size, backing file and flags")
    .option("--json", "print the same as a JSON object")
    .argument("<FILE>", "image to inspect")
    .action((file: string, opts: { json?: boolean }) => runDiskInfo(file, opts, ctx));
}
