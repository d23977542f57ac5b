/**
 * The advisory lock that keeps two tsvmm processes from writing one image:
 * a writer holds it exclusively, readers (a base shared by many VMs) share it.
 *
 * DEVNOTE: flock() on the image's own descriptor is the right tool (the
 * kernel drops it when the process dies, and readers can share it), but
 * node:fs has no flock; host-ops.ts finds the sys/ binding once it exists.
 * Until then a lock file next to the image, created with O_EXCL and holding
 * the owner's pid, guards writers: a stale file (its pid is gone, e.g. after
 * SIGKILL) is taken over. Readers only check it, so the fallback cannot stop
 * a writer from opening an image that readers already have open.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN, errorCode, flockBinding } from './host-ops.js';
import { DiskOpenError } from './open-error.js';
import { describeError } from './range.js';

/** A held lock; release() is idempotent. */
export interface ImageLock {
  /** How the lock is held: "flock", "lock-file", or "none" (see `warning`). */
  readonly method: 'flock' | 'lock-file' | 'none';
  /** Set when the image could not be locked but was opened anyway. */
  readonly warning?: string;
  release(): Promise<void>;
}

/** The lock file the fallback uses for `path`. */
export function lockFilePath(path: string): string {
  return join(dirname(path), `.${basename(path)}.tsvmm-lock`);
}

/**
 * Locks the image `path` open as `fd`: exclusively for a writer, shared for
 * a reader. Rejects with DiskOpenError("locked") when another holder
 * conflicts.
 */
export async function lockImage(path: string, fd: number | undefined, exclusive: boolean): Promise<ImageLock> {
  const flock = flockBinding();
  if (flock !== undefined && fd !== undefined) {
    try {
      flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
      let held = true;
      return {
        method: 'flock',
        async release() {
          // Closing the file releases a flock too, so an already-closed fd (EBADF) is fine.
          if (held) {
            try {
              flock(fd, LOCK_UN);
            } catch {
              // the descriptor is gone, and its lock with it
            }
          }
          held = false;
        },
      };
    } catch (err) {
      const code = errorCode(err);
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
        throw new DiskOpenError('locked', path, exclusive ? 'in use by another program (it holds a lock on the image)' : 'open for writing by another program (it holds a lock on the image)');
      }
      // No libc (another OS) or a filesystem without flock: fall back to the file.
    }
  }
  return exclusive ? lockFileExclusive(path) : lockFileCheck(path);
}

async function lockFileExclusive(path: string, retried = false): Promise<ImageLock> {
  const file = lockFilePath(path);
  try {
    const handle = await open(file, 'wx');
    try {
      await handle.writeFile(`${process.pid}\n`);
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (errorCode(err) !== 'EEXIST') {
      // A directory we cannot write to still holds a usable image; say so instead of refusing.
      return { method: 'none', warning: `${path}: not locked against other writers (cannot create ${file}: ${describeError(err)})`, release: async () => {} };
    }
    const owner = await liveOwner(file);
    if (owner !== undefined) throw lockedBy(path, file, owner, true);
    if (retried) throw new DiskOpenError('locked', path, `another program is taking the lock file ${file}`);
    await unlink(file).catch(() => {});
    return lockFileExclusive(path, true);
  }
  let held = true;
  return {
    method: 'lock-file',
    async release() {
      if (held) await unlink(file).catch(() => {});
      held = false;
    },
  };
}

async function lockFileCheck(path: string): Promise<ImageLock> {
  const file = lockFilePath(path);
  const owner = await liveOwner(file);
  if (owner !== undefined) throw lockedBy(path, file, owner, false);
  return { method: 'lock-file', release: async () => {} };
}

function lockedBy(path: string, file: string, pid: number, exclusive: boolean): DiskOpenError {
  const what = exclusive ? 'in use by' : 'open for writing by';
  return new DiskOpenError('locked', path, `${what} process ${pid} (lock file ${file}; remove it if that process is not tsvmm)`);
}

/** The pid in a lock file if that process still exists; undefined for a missing or stale file. */
async function liveOwner(file: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  // A half-written file (its writer was killed between create and write) is stale too.
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return errorCode(err) === 'EPERM' ? pid : undefined;
  }
}
