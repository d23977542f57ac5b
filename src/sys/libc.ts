/**
 * Typed wrappers over the few libc calls a VMM needs: file descriptors,
 * ioctl, mappings, memfd, eventfd, poll and plain I/O.
 *
 * libc is loaded on the first call, not at import, so importing this module
 * where there is no glibc (or no koffi) is harmless; the first call throws
 * instead, and callers fall back (memory/ uses a SharedArrayBuffer).
 *
 * Every wrapper throws SysError on failure except the `try*` variants, which
 * return -errno so that expected failures (EINTR/EAGAIN from KVM_RUN) cost
 * no exception.
 */
import { constants as bufferConstants } from 'node:buffer';
import { koffi } from './ffi.js';
import { SysError, ioctlName, lastErrno, sysError } from './errors.js';

export * from './libc-constants.js';

/** mmap's failure value, (void *)-1, as koffi returns pointers: a BigInt. */
export const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

/** Memory koffi can pass as a pointer without copying: a view, a buffer or a native address. */
export type PtrArg = ArrayBufferView | ArrayBuffer | bigint | null;
/** JS memory usable as an I/O buffer. */
export type BufferArg = ArrayBufferView | ArrayBuffer;
/** One entry for poll(). */
export interface PollFd {
  fd: number;
  events: number;
}

// koffi functions are untyped callables; each wrapper below gives the type.
type KFn = ((...args: any[]) => any) & { async: (...args: any[]) => void };

interface Libc {
  open: KFn;
  close: KFn;
  ioctlInt: KFn;
  ioctlPtr: KFn;
  mmap: KFn;
  munmap: KFn;
  madvise: KFn;
  memfd_create: KFn;
  ftruncate: KFn;
  flock: KFn;
  fallocate: KFn;
  eventfd: KFn;
  poll: KFn;
  read: KFn;
  write: KFn;
  pread: KFn;
  pwrite: KFn;
}

let L: Libc | undefined;

function load(): Libc {
  const lib = koffi().load('libc.so.6');
  const fn = (proto: string) => lib.func(proto) as KFn;
  L = {
    // open is variadic; cold, so let koffi do the variadic call properly.
    open: fn('int open(const char *path, int flags, ...)'),
    close: fn('int close(int fd)'),
    // ioctl is variadic too, but on x86-64 SysV (and AArch64 Linux) a fixed
    // prototype passes the third argument in the same register, and a fixed
    // prototype is what makes this the fast path koffi compiles once.
    ioctlInt: fn('int ioctl(int fd, unsigned long req, long arg)'),
    ioctlPtr: fn('int ioctl(int fd, unsigned long req, void *arg)'),
    mmap: fn('void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)'),
    munmap: fn('int munmap(void *addr, size_t len)'),
    madvise: fn('int madvise(void *addr, size_t len, int advice)'),
    memfd_create: fn('int memfd_create(const char *name, unsigned int flags)'),
    ftruncate: fn('int ftruncate(int fd, int64_t len)'),
    flock: fn('int flock(int fd, int operation)'),
    fallocate: fn('int fallocate(int fd, int mode, int64_t offset, int64_t len)'),
    eventfd: fn('int eventfd(unsigned int initval, int flags)'),
    poll: fn('int poll(void *fds, unsigned long nfds, int timeout)'),
    read: fn('intptr_t read(int fd, void *buf, size_t len)'),
    write: fn('intptr_t write(int fd, const void *buf, size_t len)'),
    pread: fn('intptr_t pread(int fd, void *buf, size_t len, int64_t off)'),
    pwrite: fn('intptr_t pwrite(int fd, const void *buf, size_t len, int64_t off)'),
  };
  return L;
}

/** The native address of a buffer's first byte; stable while the buffer lives (V8 does not move backing stores). */
export function addressOf(buf: BufferArg): bigint {
  return koffi().address(buf);
}

/** Loads libc now (it is otherwise loaded on first use); throws if it cannot be. */
export function loadLibc(): void {
  if (L === undefined) load();
}

/** Opens a file; returns the fd. */
export function open(path: string, flags: number, mode = 0): number {
  const r: number = (L ?? load()).open(path, flags, 'uint32_t', mode);
  if (r < 0) throw sysError(() => `open(${JSON.stringify(path)})`);
  return r;
}

/** Closes a file descriptor. */
export function close(fd: number): void {
  if ((L ?? load()).close(fd) < 0) throw sysError(() => `close(fd=${fd})`);
}

/**
 * ioctl with an integer (or no) argument; returns the call's non-negative
 * result. This is KVM_RUN's path: one koffi call and a sign test, nothing
 * allocated unless it fails.
 */
export function ioctl(fd: number, req: number, arg = 0): number {
  const r: number = (L ?? load()).ioctlInt(fd, req, arg);
  if (r < 0) throw ioctlError(fd, req);
  return r;
}

/** ioctl with a pointer argument (the buffer is passed in place, not copied). */
export function ioctlPtr(fd: number, req: number, ptr: PtrArg): number {
  const r: number = (L ?? load()).ioctlPtr(fd, req, ptr);
  if (r < 0) throw ioctlError(fd, req);
  return r;
}

/** ioctl with an integer argument that returns the result or -errno instead of throwing. */
export function tryIoctl(fd: number, req: number, arg = 0): number {
  const r: number = (L ?? load()).ioctlInt(fd, req, arg);
  return r < 0 ? -lastErrno() : r;
}

/** ioctl with a pointer argument that returns the result or -errno instead of throwing. */
export function tryIoctlPtr(fd: number, req: number, ptr: PtrArg): number {
  const r: number = (L ?? load()).ioctlPtr(fd, req, ptr);
  return r < 0 ? -lastErrno() : r;
}

function ioctlError(fd: number, req: number): SysError {
  return sysError(() => `ioctl(fd=${fd}, ${ioctlName(req)})`);
}

/** Maps memory; returns its address. `addr` is a hint, or the place with MAP_FIXED. */
export function mmap(len: number, prot: number, flags: number, fd = -1, offset: number | bigint = 0, addr = 0n): bigint {
  const p = (L ?? load()).mmap(addr, len, prot, flags, fd, offset) as bigint | null;
  if (p === MAP_FAILED || p === null) throw sysError(() => `mmap(len=${len}, fd=${fd}, offset=${offset})`);
  return p;
}

/** Unmaps memory mapped by mmap(). */
export function munmap(addr: bigint, len: number): void {
  if ((L ?? load()).munmap(addr, len) < 0) throw sysError(() => `munmap(0x${addr.toString(16)}, len=${len})`);
}

/** Gives the kernel advice (MADV_*) about a range of a mapping. */
export function madvise(addr: bigint, len: number, advice: number): void {
  if ((L ?? load()).madvise(addr, len, advice) < 0) {
    throw sysError(() => `madvise(0x${addr.toString(16)}, len=${len}, advice=${advice})`);
  }
}

/** Creates an anonymous memory file; returns its fd. */
export function memfd_create(name: string, flags: number): number {
  const r: number = (L ?? load()).memfd_create(name, flags);
  if (r < 0) throw sysError(() => `memfd_create(${JSON.stringify(name)})`);
  return r;
}

/** Sets a file's length. */
export function ftruncate(fd: number, len: number | bigint): void {
  if ((L ?? load()).ftruncate(fd, len) < 0) throw sysError(() => `ftruncate(fd=${fd}, len=${len})`);
}

/** Takes or releases an advisory lock on a whole file (LOCK_SH/LOCK_EX/LOCK_UN, | LOCK_NB); EAGAIN when held elsewhere. */
export function flock(fd: number, operation: number): void {
  if ((L ?? load()).flock(fd, operation) < 0) throw sysError(() => `flock(fd=${fd}, ${operation})`);
}

/** Allocates or punches (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) a file range. */
export function fallocate(fd: number, mode: number, offset: number, length: number): void {
  if ((L ?? load()).fallocate(fd, mode, offset, length) < 0) throw sysError(() => `fallocate(fd=${fd}, mode=${mode}, ${offset}, ${length})`);
}

/** Creates an eventfd; returns its fd. */
export function eventfd(initval: number, flags: number): number {
  const r: number = (L ?? load()).eventfd(initval, flags);
  if (r < 0) throw sysError(() => `eventfd(${initval})`);
  return r;
}

function ioLength(buf: BufferArg, len: number | undefined, what: string): number {
  const n = len ?? buf.byteLength;
  // The kernel would write past the JS object: that is memory corruption, not an error.
  if (!(n >= 0 && n <= buf.byteLength)) throw new RangeError(`${what}: length ${n} outside buffer of ${buf.byteLength}`);
  return n;
}

/** Reads up to len (default: the whole buffer) bytes; returns the count (0 at end of file). */
export function read(fd: number, buf: BufferArg, len?: number): number {
  const n = ioLength(buf, len, 'read');
  const r: number = (L ?? load()).read(fd, buf, n);
  if (r < 0) throw sysError(() => `read(fd=${fd}, len=${n})`);
  return r;
}

/** Writes up to len (default: the whole buffer) bytes; returns the count. */
export function write(fd: number, buf: BufferArg, len?: number): number {
  const n = ioLength(buf, len, 'write');
  const r: number = (L ?? load()).write(fd, buf, n);
  if (r < 0) throw sysError(() => `write(fd=${fd}, len=${n})`);
  return r;
}

/** Reads at a file offset without moving the file position; returns the count. */
export function pread(fd: number, buf: BufferArg, offset: number | bigint, len?: number): number {
  const n = ioLength(buf, len, 'pread');
  const r: number = (L ?? load()).pread(fd, buf, n, offset);
  if (r < 0) throw sysError(() => `pread(fd=${fd}, len=${n}, offset=${offset})`);
  return r;
}

/** Writes at a file offset without moving the file position; returns the count. */
export function pwrite(fd: number, buf: BufferArg, offset: number | bigint, len?: number): number {
  const n = ioLength(buf, len, 'pwrite');
  const r: number = (L ?? load()).pwrite(fd, buf, n, offset);
  if (r < 0) throw sysError(() => `pwrite(fd=${fd}, len=${n}, offset=${offset})`);
  return r;
}

// One 8-byte scratch for eventfd counters: calls are synchronous, so it is
// never shared between two calls in flight.
const counter = new Uint8Array(8);
const counterView = new DataView(counter.buffer);

/** Adds `value` to an eventfd's counter. */
export function eventfdWrite(fd: number, value = 1): void {
  counterView.setUint32(0, value >>> 0, true);
  counterView.setUint32(4, Math.floor(value / 0x1_0000_0000) >>> 0, true);
  write(fd, counter, 8);
}

/**
 * Takes an eventfd's counter. Returns 0 when a non-blocking eventfd has
 * nothing (a real counter is never 0, so 0 is unambiguous).
 */
export function eventfdRead(fd: number): number {
  const r: number = (L ?? load()).read(fd, counter, 8);
  if (r < 0) {
    const errno = lastErrno();
    if (errno === 11 /* EAGAIN */) return 0;
    throw new SysError(errno, `read(eventfd=${fd})`);
  }
  return counterView.getUint32(0, true) + counterView.getUint32(4, true) * 0x1_0000_0000;
}

const POLLFD_SIZE = 8; // struct pollfd { int fd; short events; short revents; }

function encodePollFds(fds: readonly PollFd[]): DataView {
  const dv = new DataView(new ArrayBuffer(Math.max(1, fds.length) * POLLFD_SIZE));
  fds.forEach((p, i) => {
    dv.setInt32(i * POLLFD_SIZE, p.fd, true);
    dv.setInt16(i * POLLFD_SIZE + 4, p.events, true);
  });
  return dv;
}

function decodeRevents(dv: DataView, n: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = dv.getUint16(i * POLLFD_SIZE + 6, true);
  return out;
}

function describePoll(fds: readonly PollFd[], timeoutMs: number): string {
  return `poll([${fds.map((p) => p.fd).join(', ')}], ${timeoutMs})`;
}

/** Waits for events on fds (timeout in ms, -1 forever); returns each fd's revents (all 0 on timeout). */
export function poll(fds: readonly PollFd[], timeoutMs: number): number[] {
  const dv = encodePollFds(fds);
  const r: number = (L ?? load()).poll(dv, fds.length, timeoutMs);
  if (r < 0) throw sysError(() => describePoll(fds, timeoutMs));
  return decodeRevents(dv, fds.length);
}

/**
 * poll() on libuv's threadpool (koffi's async call); resolves with each
 * fd's revents. A pending call occupies one of the pool's threads (4 by
 * default, shared with fs, dns.lookup, crypto and zlib), so keep timeouts
 * short or include an eventfd to wake it; watchFd() needs no thread at all.
 */
export function pollAsync(fds: readonly PollFd[], timeoutMs: number): Promise<number[]> {
  const dv = encodePollFds(fds);
  const lib = L ?? load();
  return new Promise((resolve, reject) => {
    lib.poll.async(dv, fds.length, timeoutMs, (err: unknown, r: number) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else if (r < 0) reject(sysError(() => describePoll(fds, timeoutMs)));
      else resolve(decodeRevents(dv, fds.length));
    });
  });
}

/** What watchFd() reports. */
export interface FdEvents {
  readable: boolean;
  writable: boolean;
  disconnect: boolean;
}

/** A watch on an fd from Node's own event loop (libuv uv_poll). */
export interface FdWatch {
  /** Stops and frees the watch; its callback is not called again. */
  close(): void;
  /** Lets the process exit while the watch is active. */
  unref(): void;
  /** Keeps the process alive while the watch is active (the default). */
  ref(): void;
}

/**
 * Calls `onEvent` from the main event loop whenever fd is ready (level
 * triggered: drain the fd, e.g. eventfdRead, or it fires again). Works for
 * eventfds and TAP fds, which net.Socket refuses. `status` is 0 or a
 * negative libuv error.
 */
export function watchFd(
  fd: number,
  events: Partial<FdEvents>,
  onEvent: (status: number, events: FdEvents) => void,
): FdWatch {
  // koffi's typings declare a one-argument callback; the addon passes (status, events).
  const start = koffi().node.poll as unknown as (
    fd: number,
    opts: Partial<FdEvents>,
    cb: (status: number, ev: FdEvents) => void,
  ) => FdWatch;
  return start(fd, events, onEvent);
}

// koffi.view() aborts the whole process (not a catchable error) past the
// runtime's ArrayBuffer limit, 4 GiB on Node 20, so refuse first.
const MAX_VIEW = bufferConstants.MAX_LENGTH;

/** An ArrayBuffer over native memory (no copy); valid until that memory is unmapped. */
export function viewOf(addr: bigint, len: number): ArrayBuffer {
  if (!Number.isInteger(len) || len < 0 || len > MAX_VIEW) {
    throw new RangeError(`viewOf: length ${len} is not between 0 and ${MAX_VIEW}`);
  }
  if (len === 0) return new ArrayBuffer(0);
  return koffi().view(addr, len);
}

/** The largest length viewOf() accepts on this runtime; split larger mappings. */
export const MAX_VIEW_LENGTH: number = MAX_VIEW;
