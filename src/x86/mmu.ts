/**
 * Paging and the TLB: linear -> guest-physical translation with the
 * permission checks of the Intel SDM (vol. 3, ch. 4): 32-bit, PAE and
 * 4-level paging, accessed/dirty bits, NX, U/S, R/W with CR0.WP, global
 * pages. The fast paths in cpu.ts only look at the `fast*` tag arrays;
 * everything else comes here.
 *
 * DEVNOTE: the TLB is direct-mapped on linear page number. Each entry keeps
 * the full translation (so MMIO pages need no walk either) and four fast
 * tags: read and write, for supervisor and user. A fast tag is only set for
 * RAM pages the access is allowed on, with the dirty bit already set for
 * writes and never for pages holding decoded code, so the fast path needs
 * no further checks. `used` lists filled entries so a CR3 write flushes in
 * time proportional to what is cached, keeping global pages.
 */
import { CpuFault, gp, PF, ss, Vec } from './fault.js';
import type { Cpu } from './cpu.js';

/** Number of TLB entries (a power of two). */
export const TLB_SIZE = 4096;
export const TLB_MASK = TLB_SIZE - 1;

/** Access kinds for translate(). */
export const ACC_READ = 0;
export const ACC_WRITE = 1;
export const ACC_EXEC = 2;

// Entry flag bits.
const F_VALID = 1;
const F_WRITE = 2; // writable for supervisor (after WP) and user (if F_USER)
const F_USER = 4;
const F_NX = 8;
const F_GLOBAL = 16;
const F_DIRTY = 32;
const F_RAM = 64;
const F_WRITE_SUP = 128; // supervisor may write (R/W set, or WP clear)

/** The translation cache. */
export class Tlb {
  readonly page = new Float64Array(TLB_SIZE).fill(-1);
  readonly phys = new Float64Array(TLB_SIZE);
  readonly flags = new Int32Array(TLB_SIZE);
  /** Backing-store offset of the page (RAM pages). */
  readonly off = new Int32Array(TLB_SIZE);
  readonly fastRS = new Float64Array(TLB_SIZE).fill(-1);
  readonly fastWS = new Float64Array(TLB_SIZE).fill(-1);
  readonly fastRU = new Float64Array(TLB_SIZE).fill(-1);
  readonly fastWU = new Float64Array(TLB_SIZE).fill(-1);
  /** Bumped on every invalidation: cached block chains are only valid within one epoch. */
  epoch = 0;
  private readonly used = new Int32Array(TLB_SIZE);
  private nUsed = 0;
  private readonly isUsed = new Uint8Array(TLB_SIZE);

  /** Invalidates every entry (keepGlobal: except global pages, as a CR3 write does). */
  flush(keepGlobal: boolean): void {
    this.epoch++;
    let w = 0;
    for (let k = 0; k < this.nUsed; k++) {
      const i = this.used[k]!;
      if (keepGlobal && (this.flags[i]! & F_GLOBAL) !== 0 && this.page[i] !== -1) {
        this.used[w++] = i;
        continue;
      }
      this.clear(i);
      this.isUsed[i] = 0;
    }
    this.nUsed = w;
  }

  /** Invalidates the entry for one linear page (INVLPG). */
  flushPage(linPage: number): void {
    this.epoch++;
    const i = (linPage >>> 12) & TLB_MASK;
    if (this.page[i] === linPage) this.clear(i);
  }

  /** Removes write fast paths to a physical page (it now holds decoded code). */
  protectPhysPage(physPage: number): void {
    for (let k = 0; k < this.nUsed; k++) {
      const i = this.used[k]!;
      if (this.phys[i] === physPage) {
        this.fastWS[i] = -1;
        this.fastWU[i] = -1;
      }
    }
  }

  private clear(i: number): void {
    this.page[i] = -1;
    this.fastRS[i] = -1;
    this.fastWS[i] = -1;
    this.fastRU[i] = -1;
    this.fastWU[i] = -1;
  }

  /** Records a translation and sets the fast tags it allows. */
  fill(cpu: Cpu, linPage: number, physPage: number, flags: number): number {
    const i = (linPage >>> 12) & TLB_MASK;
    if (this.isUsed[i] === 0) {
      this.isUsed[i] = 1;
      this.used[this.nUsed++] = i;
    }
    this.page[i] = linPage;
    this.phys[i] = physPage;
    this.flags[i] = flags;
    this.fastRS[i] = -1;
    this.fastWS[i] = -1;
    this.fastRU[i] = -1;
    this.fastWU[i] = -1;
    if ((flags & F_RAM) !== 0) {
      const off = cpu.ramOffset(physPage);
      this.off[i] = off;
      this.fastRS[i] = linPage;
      if ((flags & F_USER) !== 0) this.fastRU[i] = linPage;
      if ((flags & F_DIRTY) !== 0 && !cpu.isCodePage(off)) {
        if ((flags & F_WRITE_SUP) !== 0) this.fastWS[i] = linPage;
        if ((flags & (F_USER | F_WRITE)) === (F_USER | F_WRITE)) this.fastWU[i] = linPage;
      }
    }
    return i;
  }
}

/**
 * Translates linear address `lin` for an access of kind `acc` at privilege
 * `user`; returns the guest-physical address or throws #PF/#GP. Fills the
 * TLB. `lin` is a signed double (canonical addresses are exact).
 */
export function translate(cpu: Cpu, lin: number, acc: number, user: boolean): number {
  const low = lin & 0xfff;
  const linPage = lin - low;
  if (!cpu.paging) {
    // No paging: linear = physical (32-bit, or 20-bit in real mode with A20 on).
    const phys = linPage >= 0 ? linPage % 4294967296 : linPage + 4294967296;
    fillIfRam(cpu, linPage, phys, F_VALID | F_WRITE | F_WRITE_SUP | F_USER | F_DIRTY);
    return phys + low;
  }
  const tlb = cpu.tlb;
  const i = (linPage >>> 12) & TLB_MASK;
  if (tlb.page[i] === linPage) {
    const f = tlb.flags[i]!;
    if (allowed(cpu, f, acc, user)) {
      if (acc !== ACC_WRITE || (f & F_DIRTY) !== 0) return tlb.phys[i]! + low;
    }
  }
  const e = walk(cpu, lin, acc, user);
  return e + low;
}

function fillIfRam(cpu: Cpu, linPage: number, physPage: number, flags: number): number {
  return cpu.tlb.fill(cpu, linPage, physPage, cpu.isRam(physPage) ? flags | F_RAM : flags);
}

function allowed(cpu: Cpu, f: number, acc: number, user: boolean): boolean {
  if (user && (f & F_USER) === 0) return false;
  if (acc === ACC_WRITE) return user ? (f & F_WRITE) !== 0 : (f & F_WRITE_SUP) !== 0;
  if (acc === ACC_EXEC) return (f & F_NX) === 0;
  return true;
}

function pfError(acc: number, user: boolean, present: boolean, rsvd = false): number {
  return (present ? PF.P : 0) | (acc === ACC_WRITE ? PF.W : 0) | (user ? PF.U : 0) | (rsvd ? PF.RSVD : 0) | (acc === ACC_EXEC ? PF.I : 0);
}

/** Full page walk; sets A/D bits, fills the TLB, returns the physical page address. */
function walk(cpu: Cpu, lin: number, acc: number, user: boolean): number {
  const linPage = lin - (lin & 0xfff);
  if (cpu.longMode) {
    if (lin >= 0x800000000000 || lin < -0x800000000000) {
      // Non-canonical: #SS for stack accesses is decided by the caller's segment; #GP otherwise.
      throw cpu.stackAccess ? ss(0) : gp(0);
    }
    return walk4(cpu, lin, linPage, acc, user);
  }
  return cpu.pae ? walkPae(cpu, lin, linPage, acc, user) : walk32(cpu, lin, linPage, acc, user);
}

// Permission accumulation across levels: R/W and U/S must be set at every level.
function walk4(cpu: Cpu, lin: number, linPage: number, acc: number, user: boolean): number {
  const nxe = cpu.nxe;
  let table = cpu.cr3 - (cpu.cr3 % 4096);
  // 48-bit linear address -> indices. lin is signed; fold to unsigned 48-bit.
  const u = lin < 0 ? lin + 281474976710656 : lin;
  const hi16 = Math.floor(u / 4294967296); // bits 47..32
  const lo32 = u >>> 0;
  // Table indices per level (bits 47..39, 38..30, 29..21, 20..12), as locals: no allocation per walk.
  const i0 = (hi16 >>> 7) & 511;
  const i1 = ((hi16 & 0x7f) << 2) | (lo32 >>> 30);
  const i2 = (lo32 >>> 21) & 511;
  const i3 = (lo32 >>> 12) & 511;
  let rw = true;
  let us = true;
  let nx = false;
  for (let level = 0; level < 4; level++) {
    const pteAddr = table + (level === 0 ? i0 : level === 1 ? i1 : level === 2 ? i2 : i3) * 8;
    const lo = cpu.physRead32(pteAddr);
    const hi = cpu.physRead32(pteAddr + 4);
    if ((lo & 1) === 0) throw pageFault(cpu, lin, acc, user, false);
    // Reserved bits: NX without EFER.NXE; PS at PML4; address bits above 52 (ignored: MAXPHYADDR 46 below).
    if ((hi & 0x80000000) !== 0 && !nxe) throw pageFault(cpu, lin, acc, user, true, true);
    if (level === 0 && (lo & 0x80) !== 0) throw pageFault(cpu, lin, acc, user, true, true);
    rw &&= (lo & 2) !== 0;
    us &&= (lo & 4) !== 0;
    nx ||= (hi & 0x80000000) !== 0 && nxe;
    const addr = (hi & 0x000fffff) * 4294967296 + ((lo & ~0xfff) >>> 0);
    const large = level > 0 && level < 3 && (lo & 0x80) !== 0;
    if (level === 3 || large) {
      // Leaf: check, then set A (and D on write).
      const flags = leafFlags(cpu, rw, us, nx, lo);
      if (!allowed(cpu, flags, acc, user)) throw pageFault(cpu, lin, acc, user, true, false);
      let newLo = lo | 0x20;
      if (acc === ACC_WRITE) newLo |= 0x40;
      if (newLo !== lo) cpu.physWrite32(pteAddr, newLo);
      const dirty = (newLo & 0x40) !== 0;
      let physPage: number;
      if (large) {
        const pageSize = level === 1 ? 1 << 30 : 1 << 21;
        // Large page: frame bits below the page size are the PAT bit + reserved; use the offset from lin.
        const frame = addr - (addr % pageSize);
        physPage = frame + (u % pageSize) - (u % 4096);
      } else {
        physPage = addr;
      }
      fillIfRam(cpu, linPage, physPage, flags | (dirty ? F_DIRTY : 0));
      return physPage;
    }
    if ((lo & 0x20) === 0) cpu.physWrite32(pteAddr, lo | 0x20);
    table = addr;
  }
  throw new Error('unreachable');
}

function walkPae(cpu: Cpu, lin: number, linPage: number, acc: number, user: boolean): number {
  const u = lin >>> 0;
  // PDPTEs are read from memory on each walk rather than cached at CR3 load.
  const pdpteAddr = (cpu.cr3 & 0xffffffe0) + ((u >>> 30) & 3) * 8;
  const plo = cpu.physRead32(pdpteAddr);
  const phi = cpu.physRead32(pdpteAddr + 4);
  if ((plo & 1) === 0) throw pageFault(cpu, lin, acc, user, false);
  const nxe = cpu.nxe;
  let table = (phi & 0xfffff) * 4294967296 + ((plo & ~0xfff) >>> 0);
  let rw = true;
  let us = true;
  let nx = false;
  const i0 = (u >>> 21) & 511;
  const i1 = (u >>> 12) & 511;
  for (let level = 0; level < 2; level++) {
    const pteAddr = table + (level === 0 ? i0 : i1) * 8;
    const lo = cpu.physRead32(pteAddr);
    const hi = cpu.physRead32(pteAddr + 4);
    if ((lo & 1) === 0) throw pageFault(cpu, lin, acc, user, false);
    if ((hi & 0x80000000) !== 0 && !nxe) throw pageFault(cpu, lin, acc, user, true, true);
    rw &&= (lo & 2) !== 0;
    us &&= (lo & 4) !== 0;
    nx ||= (hi & 0x80000000) !== 0 && nxe;
    const addr = (hi & 0xfffff) * 4294967296 + ((lo & ~0xfff) >>> 0);
    const large = level === 0 && (lo & 0x80) !== 0;
    if (level === 1 || large) {
      const flags = leafFlags(cpu, rw, us, nx, lo);
      if (!allowed(cpu, flags, acc, user)) throw pageFault(cpu, lin, acc, user, true, false);
      let newLo = lo | 0x20;
      if (acc === ACC_WRITE) newLo |= 0x40;
      if (newLo !== lo) cpu.physWrite32(pteAddr, newLo);
      const physPage = large ? addr - (addr % (1 << 21)) + (u % (1 << 21)) - (u % 4096) : addr;
      fillIfRam(cpu, linPage, physPage, flags | ((newLo & 0x40) !== 0 ? F_DIRTY : 0));
      return physPage;
    }
    if ((lo & 0x20) === 0) cpu.physWrite32(pteAddr, lo | 0x20);
    table = addr;
  }
  throw new Error('unreachable');
}

function walk32(cpu: Cpu, lin: number, linPage: number, acc: number, user: boolean): number {
  const u = lin >>> 0;
  const pdeAddr = (cpu.cr3 & 0xfffff000) + (u >>> 22) * 4;
  const pde = cpu.physRead32(pdeAddr);
  if ((pde & 1) === 0) throw pageFault(cpu, lin, acc, user, false);
  if ((pde & 0x80) !== 0 && cpu.pse) {
    const flags = leafFlags(cpu, (pde & 2) !== 0, (pde & 4) !== 0, false, pde);
    if (!allowed(cpu, flags, acc, user)) throw pageFault(cpu, lin, acc, user, true, false);
    let n = pde | 0x20;
    if (acc === ACC_WRITE) n |= 0x40;
    if (n !== pde) cpu.physWrite32(pdeAddr, n);
    const physPage = ((pde & 0xffc00000) >>> 0) + (u & 0x3ff000);
    fillIfRam(cpu, linPage, physPage, flags | ((n & 0x40) !== 0 ? F_DIRTY : 0));
    return physPage;
  }
  if ((pde & 0x20) === 0) cpu.physWrite32(pdeAddr, pde | 0x20);
  const pteAddr = ((pde & 0xfffff000) >>> 0) + ((u >>> 12) & 1023) * 4;
  const pte = cpu.physRead32(pteAddr);
  if ((pte & 1) === 0) throw pageFault(cpu, lin, acc, user, false);
  const flags = leafFlags(cpu, (pde & pte & 2) !== 0, (pde & pte & 4) !== 0, false, pte);
  if (!allowed(cpu, flags, acc, user)) throw pageFault(cpu, lin, acc, user, true, false);
  let n = pte | 0x20;
  if (acc === ACC_WRITE) n |= 0x40;
  if (n !== pte) cpu.physWrite32(pteAddr, n);
  const physPage = (pte & 0xfffff000) >>> 0;
  fillIfRam(cpu, linPage, physPage, flags | ((n & 0x40) !== 0 ? F_DIRTY : 0));
  return physPage;
}

function leafFlags(cpu: Cpu, rw: boolean, us: boolean, nx: boolean, lo: number): number {
  let f = F_VALID;
  if (rw) f |= F_WRITE | F_WRITE_SUP;
  else if (!cpu.wp) f |= F_WRITE_SUP;
  if (us) f |= F_USER;
  if (nx) f |= F_NX;
  if ((lo & 0x100) !== 0 && cpu.pge) f |= F_GLOBAL;
  return f;
}

function pageFault(_cpu: Cpu, lin: number, acc: number, user: boolean, present: boolean, rsvd = false): CpuFault {
  return new CpuFault(Vec.PF, pfError(acc, user, present, rsvd), lin);
}
