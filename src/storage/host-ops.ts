/**
 * Host calls node:fs lacks: flock() for the image lock and fallocate() for
 * punching holes on discard.
 *
 * DEVNOTE: sys/ is the only koffi user and owns libc.ts; these two bindings
 * are requested there with the signatures below. Until they land, the
 * lookup finds nothing and callers take their fallbacks (a lock file;
 * discard without punching). Once sys/libc exports them, they are used with
 * no change here.
 *   flock(fd: number, operation: number): void          throws SysError
 *   fallocate(fd: number, mode: number, offset: number, length: number): void  throws SysError
 */
import * as libc from '../sys/libc.js';

/** flock() operations (linux/fs.h). */
export const LOCK_SH = 1;
/** Exclusive lock. */
export const LOCK_EX = 2;
/** Fail with EWOULDBLOCK instead of waiting. */
export const LOCK_NB = 4;
/** Release the lock. */
export const LOCK_UN = 8;
/** fallocate() mode bits (linux/falloc.h). */
export const FALLOC_FL_KEEP_SIZE = 0x01;
/** Deallocate the range (needs KEEP_SIZE); it reads back as zeros. */
export const FALLOC_FL_PUNCH_HOLE = 0x02;

interface OptionalLibc {
  flock?: (fd: number, operation: number) => void;
  fallocate?: (fd: number, mode: number, offset: number, length: number) => void;
}

// A namespace object: reading a missing export is undefined, never a throw.
const optional = libc as unknown as OptionalLibc;

/** The flock() binding, if sys/ provides one and libc loads. */
export function flockBinding(): OptionalLibc['flock'] {
  return typeof optional.flock === 'function' ? optional.flock : undefined;
}

/** The fallocate() binding, if sys/ provides one. */
export function fallocateBinding(): OptionalLibc['fallocate'] {
  return typeof optional.fallocate === 'function' ? optional.fallocate : undefined;
}

/** The errno name a SysError or node error carries ("EAGAIN"), if any. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
