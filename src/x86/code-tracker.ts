/**
 * Which guest pages hold decoded code, shared by every CPU of a machine.
 * A store by any CPU (or a device) to such a page must drop the blocks
 * every CPU decoded from it, so the tracker keeps the page marks and the
 * list of executors to tell, and protects the page in every CPU's TLB.
 */

/** A CPU's side: its TLB protection hook. */
export interface CodeTrackerCpu {
  /** Removes fast write paths to `physPage` from this CPU's TLB. */
  protectPhysPage(physPage: number): void;
}

/** Shared decoded-code page marks. */
export class CodeTracker {
  /** 1 per backing-store page that some CPU decoded code from. */
  readonly pages: Uint8Array;
  private readonly cpus: CodeTrackerCpu[] = [];
  private readonly listeners: Array<(pageOff: number) => void> = [];

  constructor(ramBytes: number) {
    this.pages = new Uint8Array(Math.ceil(ramBytes / 4096));
  }

  /** Registers a CPU's TLB and its executor's invalidation callback. */
  attach(cpu: CodeTrackerCpu, onWritten: ((pageOff: number) => void) | null): void {
    if (!this.cpus.includes(cpu)) this.cpus.push(cpu);
    if (onWritten) this.listeners.push(onWritten);
  }

  /** True when the page at backing offset `off` holds decoded code. */
  isCode(off: number): boolean {
    return this.pages[off >>> 12] !== 0;
  }

  /** Marks a page as holding code: writes to it take the slow path on every CPU. */
  mark(off: number, physPage: number): void {
    const p = off >>> 12;
    if (this.pages[p] !== 0) return;
    this.pages[p] = 1;
    for (const c of this.cpus) c.protectPhysPage(physPage);
  }

  /** A page holding code was written: every executor drops its blocks there. */
  written(pageOff: number): void {
    this.pages[pageOff >>> 12] = 0;
    for (const l of this.listeners) l(pageOff);
  }
}
