/**
 * A read-only view of any Disk: reads pass through, every change is refused
 * with DiskError("readonly"). openDisk() puts it around images attached with
 * `readonly`, and qcow2 overlays read their base through it.
 */
import { inspect, type InspectNode } from '../bus/device.js';
import { DiskError, type Disk } from './disk.js';

/** Wraps `inner` so that nothing can change it through this object. */
export class ReadOnlyDisk implements Disk {
  readonly readOnly = true;
  private refused = 0;

  constructor(readonly inner: Disk) {}

  get size(): number {
    return this.inner.size;
  }

  get serial(): string {
    return this.inner.serial;
  }

  read(offset: number, into: Uint8Array): Promise<void> {
    return this.inner.read(offset, into);
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    return this.refuse('write', offset, data.length);
  }

  // Nothing can have been written through this view, so there is nothing to make durable.
  async flush(): Promise<void> {}

  discard(offset: number, length: number): Promise<void> {
    return this.refuse('discard', offset, length);
  }

  writeZeroes(offset: number, length: number, _unmap: boolean): Promise<void> {
    return this.refuse('writeZeroes', offset, length);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  inspect(): InspectNode {
    return inspect.tree({ readOnly: true, refused: inspect.counter(this.refused), inner: this.inner.inspect() });
  }

  private async refuse(what: string, offset: number, length: number): Promise<void> {
    this.refused++;
    throw new DiskError('readonly', `${what} of ${length} bytes at ${offset}: the disk is read-only`);
  }
}
