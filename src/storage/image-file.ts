/**
 * The host side of an image: positioned reads and writes, length, sync.
 * Backends (raw, qcow2) talk to this rather than to node:fs so that tests
 * can run them on memory (fuzzing, crash-prefix replay) at full speed.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { DiskError } from './disk.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, errorCode, fallocateBinding } from './host-ops.js';
import { describeError } from './range.js';

/** A file holding an image. Every method rejects with DiskError("io") naming the file. */
export interface ImageFile {
  /** Shown in errors and inspect output. */
  readonly name: string;
  /** Fills `into` from `offset`; resolves with the count read (short only at end of file). */
  read(offset: number, into: Uint8Array): Promise<number>;
  /** Writes all of `data` at `offset`, growing the file if needed. */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** The current length in bytes. */
  size(): Promise<number>;
  /** Sets the length (grows sparsely or cuts). */
  truncate(length: number): Promise<void>;
  /** Makes completed writes durable (fdatasync). */
  sync(): Promise<void>;
  /** Deallocates a range so it reads as zeros; resolves false where the host cannot. */
  punchHole(offset: number, length: number): Promise<boolean>;
  /** Releases the file. */
  close(): Promise<void>;
  /** The host descriptor, for locking; undefined for memory files. */
  readonly fd: number | undefined;
}

function ioError(name: string, what: string, err: unknown): DiskError {
  return new DiskError('io', `${name}: ${what}: ${describeError(err)}`);
}

/** An ImageFile over a node:fs FileHandle (reads and writes run on libuv's pool, many at once). */
export class NodeImageFile implements ImageFile {
  private constructor(
    readonly name: string,
    private readonly handle: FileHandle,
  ) {}

  /** Opens `path` read-write or read-only; rejects with the node:fs error (open() maps it). */
  static async open(path: string, writable: boolean): Promise<NodeImageFile> {
    return new NodeImageFile(path, await open(path, writable ? 'r+' : 'r'));
  }

  get fd(): number {
    return this.handle.fd;
  }

  async read(offset: number, into: Uint8Array): Promise<number> {
    let done = 0;
    try {
      while (done < into.length) {
        const { bytesRead } = await this.handle.read(into, done, into.length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
    } catch (err) {
      throw ioError(this.name, `read of ${into.length} bytes at ${offset}`, err);
    }
    return done;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    let done = 0;
    try {
      while (done < data.length) {
        const { bytesWritten } = await this.handle.write(data, done, data.length - done, offset + done);
        done += bytesWritten;
      }
    } catch (err) {
      throw ioError(this.name, `write of ${data.length} bytes at ${offset}`, err);
    }
  }

  async size(): Promise<number> {
    try {
      return (await this.handle.stat()).size;
    } catch (err) {
      throw ioError(this.name, 'stat', err);
    }
  }

  async truncate(length: number): Promise<void> {
    try {
      await this.handle.truncate(length);
    } catch (err) {
      throw ioError(this.name, `truncate to ${length}`, err);
    }
  }

  async sync(): Promise<void> {
    try {
      await this.handle.datasync();
    } catch (err) {
      throw ioError(this.name, 'fdatasync', err);
    }
  }

  async punchHole(offset: number, length: number): Promise<boolean> {
    const fallocate = fallocateBinding();
    if (fallocate === undefined || length === 0) return fallocate !== undefined;
    try {
      fallocate(this.handle.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
      return true;
    } catch (err) {
      // Filesystems without hole punching (and old kernels) say so; the caller writes zeros.
      const code = errorCode(err);
      if (code === 'EOPNOTSUPP' || code === 'ENOTSUP' || code === 'ENOSYS') return false;
      throw ioError(this.name, `punch hole of ${length} bytes at ${offset}`, err);
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** One change as MemoryImageFile records it, for crash replay: a write, a length change, or a sync barrier. */
export type LoggedChange =
  | { readonly kind: 'write'; readonly offset: number; readonly data: Uint8Array }
  | { readonly kind: 'truncate'; readonly length: number }
  | { readonly kind: 'sync' };

/** Applies logged changes to a copy of `initial`: what the file would hold after them. */
export function replayChanges(initial: Uint8Array, changes: readonly LoggedChange[]): Uint8Array {
  let capacity = initial.length;
  for (const c of changes) {
    if (c.kind === 'write') capacity = Math.max(capacity, c.offset + c.data.length);
    else if (c.kind === 'truncate') capacity = Math.max(capacity, c.length);
  }
  const out = new Uint8Array(capacity);
  out.set(initial);
  let length = initial.length;
  for (const c of changes) {
    if (c.kind === 'write') {
      out.set(c.data, c.offset);
      length = Math.max(length, c.offset + c.data.length);
    } else if (c.kind === 'truncate') {
      out.fill(0, c.length);
      length = c.length;
    }
  }
  return out.slice(0, length);
}

/** An ImageFile in memory: fuzzing and crash replay without touching the disk. */
export class MemoryImageFile implements ImageFile {
  readonly fd = undefined;
  private bytes: Uint8Array;
  private length: number;
  /** Every write, truncate and sync in order, when logging was asked for. */
  readonly log: LoggedChange[] | undefined;

  constructor(
    initial: Uint8Array = new Uint8Array(0),
    readonly name = 'memory',
    opts: { log?: boolean } = {},
  ) {
    this.bytes = initial.slice();
    this.length = initial.length;
    this.log = opts.log ? [] : undefined;
  }

  /** A copy of the current contents. */
  contents(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  async read(offset: number, into: Uint8Array): Promise<number> {
    const n = Math.max(0, Math.min(into.length, this.length - offset));
    into.set(this.bytes.subarray(offset, offset + n));
    return n;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.log?.push({ kind: 'write', offset, data: data.slice() });
    this.reserve(offset + data.length);
    this.bytes.set(data, offset);
    this.length = Math.max(this.length, offset + data.length);
  }

  async size(): Promise<number> {
    return this.length;
  }

  async truncate(length: number): Promise<void> {
    this.log?.push({ kind: 'truncate', length });
    this.reserve(length);
    this.bytes.fill(0, length);
    this.length = length;
  }

  async sync(): Promise<void> {
    this.log?.push({ kind: 'sync' });
  }

  async punchHole(offset: number, length: number): Promise<boolean> {
    const end = Math.min(offset + length, this.length);
    if (end > offset) this.log?.push({ kind: 'write', offset, data: new Uint8Array(end - offset) });
    this.bytes.fill(0, offset, end);
    return true;
  }

  async close(): Promise<void> {}

  private reserve(end: number): void {
    if (end <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(end, this.bytes.length * 2));
    grown.set(this.bytes);
    this.bytes = grown;
  }
}
