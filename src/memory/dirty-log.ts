/**
 * A bitmap of written guest pages, one bit per 4 KiB page of each RAM
 * region. Snapshots copy only what it lists; KVM's and the emulator's own
 * dirty tracking feed it through GuestMemory.addDirtySync.
 */
import { PAGE_SIZE, type RamRegion } from './layout.js';

/** Which pages of guest RAM were written since the last take(). */
export class DirtyLog {
  private readonly bits: Uint32Array[];

  constructor(private readonly regions: readonly RamRegion[]) {
    this.bits = regions.map((r) => new Uint32Array(Math.ceil(r.size / PAGE_SIZE / 32)));
  }

  /** Marks every page touched by [gpa, gpa+length); addresses outside RAM are ignored. */
  mark(gpa: number, length: number): void {
    if (length <= 0) return;
    this.regions.forEach((r, i) => {
      const start = Math.max(gpa, r.gpa);
      const end = Math.min(gpa + length, r.gpa + r.size);
      if (start >= end) return;
      const bits = this.bits[i]!;
      const last = Math.floor((end - 1 - r.gpa) / PAGE_SIZE);
      for (let p = Math.floor((start - r.gpa) / PAGE_SIZE); p <= last; p++) bits[p >>> 5]! |= 1 << (p & 31);
    });
  }

  /**
   * Merges a per-region bitmap in KVM's layout (bit N of 64-bit word N/64 =
   * page N, little-endian, which is the same as 32-bit words here).
   */
  mergeRegion(index: number, bitmap: Uint32Array): void {
    const bits = this.bits[index];
    if (!bits) throw new RangeError(`no RAM region ${index}`);
    const n = Math.min(bits.length, bitmap.length);
    for (let w = 0; w < n; w++) bits[w]! |= bitmap[w]!;
  }

  /** True when the page containing `gpa` is marked. */
  isDirty(gpa: number): boolean {
    for (let i = 0; i < this.regions.length; i++) {
      const r = this.regions[i]!;
      if (gpa >= r.gpa && gpa < r.gpa + r.size) {
        const p = Math.floor((gpa - r.gpa) / PAGE_SIZE);
        return (this.bits[i]![p >>> 5]! & (1 << (p & 31))) !== 0;
      }
    }
    return false;
  }

  /** Returns the GPAs of all marked pages, ascending, and clears the log. */
  take(): number[] {
    const out: number[] = [];
    this.regions.forEach((r, i) => {
      const bits = this.bits[i]!;
      for (let w = 0; w < bits.length; w++) {
        let word = bits[w]!;
        if (word === 0) continue;
        bits[w] = 0;
        while (word !== 0) {
          const b = 31 - Math.clz32(word & -word);
          word &= word - 1;
          out.push(r.gpa + (w * 32 + b) * PAGE_SIZE);
        }
      }
    });
    return out;
  }
}
