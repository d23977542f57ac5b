import { existsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { Command } from "commander";
import { DISK_FORMATS } from "../vm/config.js";
import { NotImplementedError, UsageError } from "./errors.js";
import { checkInputFile } from "./files.js";
import type { CliContext } from "./io.js";
import { formatSize, parseChoice, parseSize } from "./values.js";

/** Disk sizes are whole 512-byte sectors: that is what virtio-blk counts in. */
export const SECTOR_SIZE = 512;

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

/** Adds `tsvmm disk create [--format raw|qcow2] FILE SIZE` and `tsvmm disk info FILE`. */
export function addDiskCommand(program: Command, _ctx: CliContext): void {
  const disk = program.command("disk").description("create disk images and show what is in them");
  disk
    .command("create")
    .description("create an empty disk image of SIZE bytes (suffixes K, M, G, T; a bare number is MiB)")
    .option("--format <FORMAT>", "raw or qcow2", "raw")
    .argument("<FILE>", "image to create (must not exist)")
    .argument("<SIZE>", "virtual size, e.g. 10G")
    .action((file: string, size: string, opts: { format: string }) => {
      checkDiskCreateArgs(file, size, opts.format);
      throw new NotImplementedError("disk create: creating images is not implemented yet");
    });
  disk
    .command("info")
    .description("print an image's format, virtual size and allocation")
    .argument("<FILE>", "image to inspect")
    .action((file: string) => {
      checkInputFile("disk info", file);
      throw new NotImplementedError("disk info: reading image headers is not implemented yet");
    });
}
