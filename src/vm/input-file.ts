/**
 * Checks of the files a VM config names (kernel, initrd, disk images), run
 * before anything is built so that a wrong path is one clear line, not a
 * half-built VM. `tsvmm run`, `tsvmm serve` (PUT /v1/vm) and the library
 * share them; each names the place differently (a flag, a config key).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { VmBuildError } from './build-error.js';
import type { ConfigPath, VmConfig } from './config.js';

// errno codes users meet when pointing at the wrong file, in words.
const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'no such file (a parent is not a directory)',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'file name too long',
  EROFS: 'on a read-only file system',
};

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code !== undefined && code in REASONS) return REASONS[code]!;
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

/** How checkInputFile checks a file. */
export interface InputFileOptions {
  /** The file must also be writable (a disk the guest writes to). */
  readonly write?: boolean;
  /** Says how to attach it read-only, when it cannot be written. */
  readonly readonlyHint?: string;
  /** The config key that names the file, carried by the error. */
  readonly configPath?: ConfigPath;
}

/**
 * Checks that a file exists, is not a directory and can be read (and
 * written, when `write`); throws a one-line VmBuildError such as
 * `--kernel: /x/y: no such file`. `where` names the flag (or config file
 * and key) the path came from.
 */
export function checkInputFile(where: string, path: string, opts: InputFileOptions = {}): void {
  const fail = (what: string, cause: unknown) => new VmBuildError(`${where}: ${path}: ${what}`, opts.configPath, { cause });
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    throw fail(reason(err), err);
  }
  if (isDir) throw fail('is a directory', undefined);
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw fail(`cannot read: ${reason(err)}`, err);
  }
  if (opts.write) {
    try {
      accessSync(path, constants.W_OK);
    } catch (err) {
      const hint = opts.readonlyHint === undefined ? '' : ` (${opts.readonlyHint})`;
      throw fail(`cannot write: ${reason(err)}${hint}`, err);
    }
  }
}

/**
 * Checks every file a validated config names: the kernel, the initrd, and
 * each disk image (writable unless it is read-only or has an overlay, since
 * then the guest's writes go elsewhere). `where` renders the key path for
 * the message (a flag, or `disks[0].path`); `readonlyHint` says how to
 * attach a disk read-only in the user's syntax. Throws VmBuildError whose
 * `path` is the key.
 */
export function checkConfigFiles(config: VmConfig, where: (path: ConfigPath) => string, readonlyHint: string): void {
  const check = (path: ConfigPath, file: string, write = false) =>
    checkInputFile(where(path), file, { write, readonlyHint, configPath: path });
  if (config.kernel !== undefined) check(['kernel'], config.kernel);
  if (config.initrd !== undefined) check(['initrd'], config.initrd);
  config.disks.forEach((d, i) => check(['disks', i, 'path'], d.path, !d.readonly && d.overlay === undefined));
}
