/**
 * Why a disk image could not be opened, as one line that names the path:
 * the CLI prints it after the flag (`--disk: disk.img: in use by ...`).
 */

/** What went wrong when opening an image ("mismatch": an overlay names another base). */
export type DiskOpenErrorKind = 'missing' | 'unreadable' | 'locked' | 'corrupt' | 'unsupported' | 'mismatch' | 'io';

/** An image that cannot be attached; `message` is `PATH: reason`, one line. */
export class DiskOpenError extends Error {
  constructor(
    /** The category, for callers that map errors to exit codes. */
    readonly kind: DiskOpenErrorKind,
    /** The image the error is about (a backing file when that is what failed). */
    readonly path: string,
    /** The message without the path. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${reason}`, options);
    this.name = 'DiskOpenError';
  }
}

/**
 * A format parser's complaint about the bytes it was given, without a path
 * (parsers see buffers, not files). open() turns it into a DiskOpenError.
 */
export class ImageFormatError extends Error {
  constructor(
    /** "corrupt": the bytes break the format; "unsupported": valid, but a feature tsvmm lacks. */
    readonly kind: 'corrupt' | 'unsupported',
    message: string,
  ) {
    super(message);
    this.name = 'ImageFormatError';
  }
}

// errno codes a user meets when pointing at the wrong file, in words.
const REASONS: Record<string, [DiskOpenErrorKind, string]> = {
  ENOENT: ['missing', 'no such file'],
  ENOTDIR: ['missing', 'no such file (a parent is not a directory)'],
  EISDIR: ['unreadable', 'is a directory'],
  EACCES: ['unreadable', 'permission denied'],
  EPERM: ['unreadable', 'permission denied'],
  EROFS: ['unreadable', 'on a read-only file system'],
  ELOOP: ['unreadable', 'too many symbolic links'],
};

/** Converts a node:fs error from opening `path` into a DiskOpenError (`doing` says what failed). */
export function openErrorFromFs(path: string, err: unknown, doing = 'cannot open'): DiskOpenError {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const known = code === undefined ? undefined : REASONS[code];
  if (known !== undefined) {
    const [kind, words] = known;
    return new DiskOpenError(kind, path, kind === 'missing' ? words : `${doing}: ${words}`, { cause: err });
  }
  const text = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  return new DiskOpenError('io', path, `${doing}: ${text}`, { cause: err });
}
