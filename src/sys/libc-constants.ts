/**
 * Flag values for the calls in libc.ts: Linux's, the same on x86-64 and the
 * generic ABI (AArch64). abi.test.ts checks each against the C headers.
 * Pure numbers: safe to import anywhere.
 */
/** open(2): read only. */
export const O_RDONLY = 0;
/** open(2): write only. */
export const O_WRONLY = 1;
/** open(2): read and write. */
export const O_RDWR = 2;
/** open(2): create if missing. */
export const O_CREAT = 0o100;
/** open(2): fail if it exists (with O_CREAT). */
export const O_EXCL = 0o200;
/** open(2): truncate to zero length. */
export const O_TRUNC = 0o1000;
/** open(2): non-blocking I/O. */
export const O_NONBLOCK = 0o4000;
/** open(2): close on exec. */
export const O_CLOEXEC = 0o2000000;
/** mmap(2): no access. */
export const PROT_NONE = 0;
/** mmap(2): readable. */
export const PROT_READ = 1;
/** mmap(2): writable. */
export const PROT_WRITE = 2;
/** mmap(2): executable. */
export const PROT_EXEC = 4;
/** mmap(2): writes are shared with other mappings of the object. */
export const MAP_SHARED = 0x01;
/** mmap(2): copy-on-write private mapping. */
export const MAP_PRIVATE = 0x02;
/** mmap(2): place exactly at addr, replacing what was there. */
export const MAP_FIXED = 0x10;
/** mmap(2): not backed by a file. */
export const MAP_ANONYMOUS = 0x20;
/** mmap(2): do not reserve swap. */
export const MAP_NORESERVE = 0x4000;
/** mmap(2): prefault the pages. */
export const MAP_POPULATE = 0x8000;
/** madvise(2): drop the pages (private/anonymous read back as zero). */
export const MADV_DONTNEED = 4;
/** madvise(2): punch a hole in the backing file (shared mappings). */
export const MADV_REMOVE = 9;
/** madvise(2): do not copy the range into a fork()ed child. */
export const MADV_DONTFORK = 10;
/** madvise(2): prefer transparent huge pages. */
export const MADV_HUGEPAGE = 14;
/** madvise(2): avoid transparent huge pages. */
export const MADV_NOHUGEPAGE = 15;
/** memfd_create(2): close on exec. */
export const MFD_CLOEXEC = 1;
/** memfd_create(2): allow seals. */
export const MFD_ALLOW_SEALING = 2;
/** eventfd(2): semaphore semantics (each read takes 1). */
export const EFD_SEMAPHORE = 1;
/** eventfd(2): close on exec. */
export const EFD_CLOEXEC = 0o2000000;
/** eventfd(2): non-blocking reads/writes. */
export const EFD_NONBLOCK = 0o4000;
/** poll(2): readable. */
export const POLLIN = 0x001;
/** poll(2): urgent data. */
export const POLLPRI = 0x002;
/** poll(2): writable. */
export const POLLOUT = 0x004;
/** poll(2): error condition (revents only). */
export const POLLERR = 0x008;
/** poll(2): hung up (revents only). */
export const POLLHUP = 0x010;
/** poll(2): fd not open (revents only). */
export const POLLNVAL = 0x020;
