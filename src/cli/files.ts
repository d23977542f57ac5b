import { accessSync, constants, statSync } from "node:fs";
import { UsageError } from "./errors.js";

// errno codes users meet when pointing a flag at the wrong file, in words.
const REASONS: Record<string, string> = {
  ENOENT: "no such file",
  ENOTDIR: "no such file (a parent is not a directory)",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "file name too long",
  EROFS: "on a read-only file system",
};

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code !== undefined && code in REASONS) return REASONS[code]!;
  return err instanceof Error ? err.message.split("\n")[0]! : String(err);
}

/**
 * Checks, before anything starts, that a file named on the command line exists, is not a
 * directory and can be read (and written, when `write`; `readonlyHint` then says how to
 * attach it read-only); throws a one-line UsageError such as `--kernel: /x/y: no such file`.
 * `where` names the flag (or config file and key).
 */
export function checkInputFile(
  where: string,
  path: string,
  opts: { write?: boolean; readonlyHint?: string } = {},
): void {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    throw new UsageError(`${where}: ${path}: ${reason(err)}`);
  }
  if (isDir) throw new UsageError(`${where}: ${path}: is a directory`);
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw new UsageError(`${where}: ${path}: cannot read: ${reason(err)}`);
  }
  if (opts.write) {
    try {
      accessSync(path, constants.W_OK);
    } catch (err) {
      const hint = opts.readonlyHint === undefined ? "" : ` (${opts.readonlyHint})`;
      throw new UsageError(`${where}: ${path}: cannot write: ${reason(err)}${hint}`);
    }
  }
}
