/**
 * The host memory behind guest RAM.
 *
 * DEVNOTE: memfd is the default because every thread (and KVM, and a
 * snapshot writer) can map the same pages by fd, and pages can be punched
 * back to the host. A SharedArrayBuffer is the fallback where there is no
 * mmap (another OS, a browser); only the emulator can use it.
 */
import * as libc from '../sys/libc.js';

/** How RAM is backed. */
export type BackingKind = 'memfd' | 'shared';

/** Enough to map the same backing in another thread. */
export type BackingDescriptor =
  | { readonly kind: 'memfd'; readonly fd: number; readonly size: number }
  | { readonly kind: 'shared'; readonly buffer: SharedArrayBuffer };

/** A mapped store of `size` bytes. */
export interface Backing {
  readonly kind: BackingKind;
  readonly size: number;
  /**
   * Bytes [offset, offset+length) as one array, without copying. Length is
   * at most 1 GiB... 4 GiB depending on the runtime; callers chunk larger.
   */
  bytes(offset: number, length: number): Uint8Array;
  /** Host virtual address of byte 0 (for KVM_SET_USER_MEMORY_REGION); 0n when not mapped by us. */
  readonly hostAddress: bigint;
  /** The memfd, or -1. */
  readonly fd: number;
  describe(): BackingDescriptor;
  /** Returns the pages in [offset, offset+length) to the host; they read as zero after. */
  discard(offset: number, length: number): void;
  close(): void;
}

class MemfdBacking implements Backing {
  readonly kind = 'memfd';
  readonly hostAddress: bigint;
  private open = true;

  constructor(
    readonly fd: number,
    readonly size: number,
    private readonly ownsFd: boolean,
  ) {
    this.hostAddress = libc.mmap(size, libc.PROT_READ | libc.PROT_WRITE, libc.MAP_SHARED | libc.MAP_NORESERVE, fd, 0);
  }

  bytes(offset: number, length: number): Uint8Array {
    // koffi cannot view more than 4 GiB at once, so views are made per range.
    return new Uint8Array(libc.viewOf(this.hostAddress + BigInt(offset), length));
  }

  describe(): BackingDescriptor {
    return { kind: 'memfd', fd: this.fd, size: this.size };
  }

  discard(offset: number, length: number): void {
    // MADV_REMOVE punches a hole in the memfd itself, so every mapping sees zeros.
    libc.madvise(this.hostAddress + BigInt(offset), length, libc.MADV_REMOVE);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    libc.munmap(this.hostAddress, this.size);
    if (this.ownsFd) libc.close(this.fd);
  }
}

class SharedBacking implements Backing {
  readonly kind = 'shared';
  readonly hostAddress = 0n;
  readonly fd = -1;
  readonly size: number;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.size = buffer.byteLength;
  }

  bytes(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.buffer, offset, length);
  }

  describe(): BackingDescriptor {
    return { kind: 'shared', buffer: this.buffer };
  }

  discard(offset: number, length: number): void {
    new Uint8Array(this.buffer, offset, length).fill(0);
  }

  close(): void {}
}

/** Creates `size` bytes of zeroed backing of the requested kind. */
export function createBacking(size: number, kind: BackingKind | 'auto'): Backing {
  if (kind === 'shared') return new SharedBacking(new SharedArrayBuffer(size));
  let fd = -1;
  try {
    fd = libc.memfd_create('tsvmm-ram', libc.MFD_CLOEXEC);
    libc.ftruncate(fd, size);
    return new MemfdBacking(fd, size, true);
  } catch (e) {
    if (fd >= 0) libc.close(fd);
    if (kind === 'memfd') throw e;
    return new SharedBacking(new SharedArrayBuffer(size));
  }
}

/** Maps a backing created elsewhere (another thread of this process). */
export function attachBacking(desc: BackingDescriptor): Backing {
  return desc.kind === 'shared' ? new SharedBacking(desc.buffer) : new MemfdBacking(desc.fd, desc.size, false);
}
