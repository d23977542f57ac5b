/**
 * Test support: an in-memory Disk whose requests can be held and released
 * one by one, so tests choose completion order, count what is in flight,
 * and check that a flush resolves only after the backend's flush did.
 */
import type { InspectNode } from '../../bus/device.js';
import { DiskError, type Disk } from '../../storage/disk.js';

/** One call the disk received. */
export interface DiskOp {
  readonly op: 'read' | 'write' | 'flush' | 'discard' | 'writeZeroes';
  readonly offset: number;
  readonly length: number;
  readonly unmap?: boolean;
}

/** An in-memory disk with optional manual completion. */
export class TestDisk implements Disk {
  readonly data: Uint8Array;
  readonly ops: DiskOp[] = [];
  /** When true, every request waits for release(). */
  hold = false;
  /** Fails every request with this kind when set. */
  failWith: DiskError['kind'] | null = null;
  flushesDone = 0;
  private held: (() => void)[] = [];

  constructor(
    readonly size: number,
    readonly readOnly = false,
    readonly serial = 'tsvmm-test-disk',
  ) {
    this.data = new Uint8Array(size);
  }

  /** Requests waiting for release. */
  get pending(): number {
    return this.held.length;
  }

  /** Lets held request `i` (in arrival order) complete; returns after its promise settled. */
  async release(i = 0): Promise<void> {
    const [f] = this.held.splice(i, 1);
    f?.();
    await new Promise((r) => setImmediate(r));
  }

  /** Lets every held request complete. */
  async releaseAll(): Promise<void> {
    while (this.held.length > 0) await this.release(0);
  }

  private async gate(op: DiskOp): Promise<void> {
    this.ops.push(op);
    if (this.hold) await new Promise<void>((r) => this.held.push(r));
    if (this.failWith) throw new DiskError(this.failWith, `test disk: ${op.op} fails`);
    if (op.offset + op.length > this.size) throw new DiskError('range', 'beyond the end');
  }

  async read(offset: number, into: Uint8Array): Promise<void> {
    await this.gate({ op: 'read', offset, length: into.length });
    into.set(this.data.subarray(offset, offset + into.length));
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    await this.gate({ op: 'write', offset, length: data.length });
    if (this.readOnly) throw new DiskError('readonly', 'read-only');
    this.data.set(data, offset);
  }

  async flush(): Promise<void> {
    await this.gate({ op: 'flush', offset: 0, length: 0 });
    this.flushesDone++;
  }

  async discard(offset: number, length: number): Promise<void> {
    await this.gate({ op: 'discard', offset, length });
    this.data.fill(0, offset, offset + length);
  }

  async writeZeroes(offset: number, length: number, unmap: boolean): Promise<void> {
    await this.gate({ op: 'writeZeroes', offset, length, unmap });
    this.data.fill(0, offset, offset + length);
  }

  async close(): Promise<void> {}

  inspect(): InspectNode {
    return { children: { backend: { value: 'test' } } };
  }
}
