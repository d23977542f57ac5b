/**
 * Failures of system calls, as one error type every layer can test for.
 */
import { constants as osConstants } from 'node:os';
import * as util from 'node:util';
import { koffi, koffiLoaded } from './ffi.js';

// First name wins, so EAGAIN is preferred to EWOULDBLOCK and ENOTSUP to
// EOPNOTSUPP, matching libuv's choice.
const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(osConstants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

// Only for a runtime with neither getSystemErrorMessage nor getSystemErrorMap.
const fallbackMessages: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EINTR: 'Interrupted system call',
  EIO: 'Input/output error',
  EBADF: 'Bad file descriptor',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EFAULT: 'Bad address',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  ENODEV: 'No such device',
  EINVAL: 'Invalid argument',
  EMFILE: 'Too many open files',
  ENOTTY: 'Inappropriate ioctl for device',
  ENOSPC: 'No space left on device',
  ENOSYS: 'Function not implemented',
  E2BIG: 'Argument list too long',
  ENXIO: 'No such device or address',
  EOPNOTSUPP: 'Operation not supported',
  ENOTSUP: 'Operation not supported',
};

/** The symbolic name of an errno value ("ENOENT"), or "E<n>" when unknown. */
export function errnoCode(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** A human description of an errno value ("No such file or directory"). */
export function errnoMessage(errno: number): string {
  const u = util as unknown as {
    getSystemErrorMessage?: (err: number) => string;
    getSystemErrorMap?: () => Map<number, [string, string]>;
  };
  try {
    if (typeof u.getSystemErrorMessage === 'function') return capitalize(u.getSystemErrorMessage(-errno));
    const entry = u.getSystemErrorMap?.().get(-errno);
    if (entry) return capitalize(entry[1]);
  } catch {
    // Fall through to our own table: a message must never hide the error.
  }
  return fallbackMessages[errnoCode(errno)] ?? `Unknown error ${errno}`;
}

function capitalize(s: string): string {
  return s.length === 0 ? s : s[0]!.toUpperCase() + s.slice(1);
}

/** A failed system call: which call, and the errno it failed with. */
export class SysError extends Error {
  /** The errno value (positive). */
  readonly errno: number;
  /** The errno's symbolic name, e.g. "ENOENT". */
  readonly code: string;
  /** The call that failed, e.g. "ioctl(fd=5, KVM_CREATE_VM)". */
  readonly call: string;

  constructor(errno: number, call: string) {
    const code = errnoCode(errno);
    super(`${call} failed: ${code} (${errnoMessage(errno)})`);
    this.name = 'SysError';
    this.errno = errno;
    this.code = code;
    this.call = call;
  }
}

/** A call description, or a function producing one only when it is needed. */
export type CallDescription = string | (() => string);

/** The current errno of this thread (0 when koffi has not been loaded). */
export function lastErrno(): number {
  return koffiLoaded() ? koffi().errno() : 0;
}

/** Builds a SysError from the current errno; call it right after the failing call. */
export function sysError(call: CallDescription): SysError {
  const errno = lastErrno();
  return new SysError(errno, typeof call === 'string' ? call : call());
}

/** Returns `ret` unchanged, or throws a SysError (from errno) when it is negative. */
export function check<T extends number | bigint>(ret: T, call: CallDescription): T {
  if (ret < 0) throw sysError(call);
  return ret;
}

// Request numbers are registered by whoever defines them (kvm/ioctl-numbers)
// so that errors name the request without sys/ depending on KVM.
const ioctlNames = new Map<number, string>();

/** Registers names for ioctl request numbers, used in error messages. */
export function registerIoctlNames(names: Record<string, number>): void {
  for (const [name, req] of Object.entries(names)) {
    if (!ioctlNames.has(req)) ioctlNames.set(req, name);
  }
}

/** The registered name of an ioctl request, or its number in hex. */
export function ioctlName(req: number): string {
  return ioctlNames.get(req) ?? `0x${(req >>> 0).toString(16)}`;
}
