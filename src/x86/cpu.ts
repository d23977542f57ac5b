/**
 * The architectural state of one x86-64 CPU and its memory access paths.
 *
 * Registers are 32-bit halves (R = low, H = high) in Int32Arrays: no BigInt
 * anywhere an instruction runs. Linear addresses are signed doubles; the
 * fast paths below do one direct-mapped TLB probe and one DataView access.
 * Everything unusual (page walks, MMIO, page-crossing, code pages) goes to
 * the slow paths.
 */
import type { AccessSize } from '../bus/device.js';
import type { BusPort } from '../hv/dispatch.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { ACC_READ, ACC_WRITE, TLB_MASK, Tlb, translate } from './mmu.js';
import { LazyFlags } from './flags.js';
import { type CpuClock, type MsrDevice, MsrState } from './msr.js';
import { FpuState } from './fpu-state.js';
import { CodeTracker } from './code-tracker.js';
import type { Instr } from './instr.js';

/** Segment register slots (ES..GS as encoded, then LDTR and TR). */
export const ES = 0;
export const CS = 1;
export const SS = 2;
export const DS = 3;
export const FS = 4;
export const GS = 5;
export const LDTR = 6;
export const TR = 7;

/** Packed segment attribute bits (VMX "access rights" layout). */
export const ATTR = {
  TYPE: 0xf, S: 1 << 4, DPL_SHIFT: 5, P: 1 << 7, AVL: 1 << 12, L: 1 << 13, DB: 1 << 14, G: 1 << 15, UNUSABLE: 1 << 16,
} as const;

/** Listener for writes to pages that hold decoded code. */
export type CodeWriteListener = (pageOffset: number) => void;

/** One CPU: registers, flags, segments, control registers, memory access. */
export class Cpu extends LazyFlags {
  /** Low and high 32-bit halves of RAX..R15. */
  readonly R = new Int32Array(16);
  readonly H = new Int32Array(16);
  /** RIP: an offset in CS (in 64-bit mode, the linear address), as a signed double. */
  rip = 0;

  readonly segSel = new Int32Array(8);
  readonly segBase = new Float64Array(8);
  readonly segLimit = new Float64Array(8);
  readonly segAttr = new Int32Array(8);

  gdtBase = 0;
  gdtLimit = 0xffff;
  idtBase = 0;
  idtLimit = 0xffff;

  cr0 = 0x60000010;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  efer = 0;
  readonly dr = new Float64Array(8);

  // Derived from the registers above by updateMode(); read on hot paths.
  cpl = 0;
  paging = false;
  pae = false;
  pse = false;
  pge = false;
  wp = false;
  nxe = false;
  /** EFER.LMA: long mode active (64-bit or compatibility mode). */
  longMode = false;
  /** 64-bit mode: long mode with CS.L set. */
  mode64 = false;
  /** CS.D: default operand/address size 32 (outside 64-bit mode). */
  code32 = false;
  /** SS.B: stack pointer is ESP (else SP) outside 64-bit mode. */
  stack32 = false;
  /** Set while a stack access is in flight: a non-canonical address then raises #SS. */
  stackAccess = false;

  readonly tlb = new Tlb();
  // Fast tags for the current privilege level (swapped when CPL changes).
  tagR: Float64Array;
  tagW: Float64Array;
  readonly dv: DataView;
  readonly u8: Uint8Array;
  /** Decoded-code page marks, shared by all CPUs of the machine. */
  readonly code: CodeTracker;
  /** High half of the last 64-bit read (rd64 returns the low half). */
  hi = 0;
  readonly msrs = new MsrState();
  /** The LAPIC's MSRs (APIC_BASE, TSC_DEADLINE), when the machine has one. */
  msrDevice: MsrDevice | null = null;
  /** CR8 (task priority); mirrored to the LAPIC's TPR by the platform when present. */
  cr8 = 0;
  /** HLT executed; cleared when an interrupt arrives. */
  halted = false;
  /** Skip the next interrupt check (STI, MOV SS shadow). */
  shadow = false;
  /** Why the run loop should stop after the current block (0 = keep going). */
  stop = 0;
  readonly fpu = new FpuState();
  /** Called when an undefined or unimplemented instruction raises #UD (logging). */
  onInvalidOpcode: (i: Instr) => void = () => {};
  /** This CPU's APIC ID and the machine's vCPU count (CPUID). */
  apicId = 0;
  cpuCount = 1;

  constructor(
    readonly memory: GuestMemory,
    readonly pio: BusPort,
    readonly mmio: BusPort,
    readonly clock: CpuClock,
    code?: CodeTracker,
  ) {
    super();
    this.u8 = memory.flat();
    this.dv = new DataView(this.u8.buffer, this.u8.byteOffset, this.u8.byteLength);
    this.code = code ?? new CodeTracker(this.u8.length);
    this.code.attach(this.tlb, null);
    this.tagR = this.tlb.fastRS;
    this.tagW = this.tlb.fastWS;
  }

  // ---- modes -------------------------------------------------------------

  /** Recomputes derived mode flags after CR0/CR4/EFER/CS/SS changes. */
  updateMode(): void {
    const pg = (this.cr0 & 0x80000001) === (0x80000001 | 0);
    this.paging = pg;
    this.pae = (this.cr4 & 0x20) !== 0;
    this.pse = (this.cr4 & 0x10) !== 0;
    this.pge = (this.cr4 & 0x80) !== 0;
    this.wp = (this.cr0 & 0x10000) !== 0;
    this.nxe = (this.efer & 0x800) !== 0;
    this.longMode = (this.efer & 0x400) !== 0;
    const csAttr = this.segAttr[CS]!;
    this.mode64 = this.longMode && (csAttr & ATTR.L) !== 0;
    this.code32 = (csAttr & ATTR.DB) !== 0;
    this.stack32 = (this.segAttr[SS]! & ATTR.DB) !== 0;
    this.setCpl(this.cpl);
  }

  /** Changes the current privilege level and selects the matching TLB tags. */
  setCpl(cpl: number): void {
    this.cpl = cpl;
    const user = cpl === 3;
    this.tagR = user ? this.tlb.fastRU : this.tlb.fastRS;
    this.tagW = user ? this.tlb.fastWU : this.tlb.fastWS;
  }

  /** Real mode (CR0.PE clear). */
  get realMode(): boolean {
    return (this.cr0 & 1) === 0;
  }

  // ---- physical memory ---------------------------------------------------

  /** True when the physical page at `phys` is RAM (not MMIO or a hole). */
  isRam(phys: number): boolean {
    return this.memory.isRam(phys, 1);
  }

  /** Backing-store offset of a RAM physical address. */
  ramOffset(phys: number): number {
    return this.memory.translate(phys, 1);
  }

  /** True when the page at backing offset `off` holds decoded code. */
  isCodePage(off: number): boolean {
    return this.code.pages[off >>> 12] !== 0;
  }

  /** Marks a page as holding decoded code: writes to it now take the slow path on every CPU. */
  markCodePage(off: number, physPage: number): void {
    this.code.mark(off, physPage);
  }

  /** Reads `size` bytes at a physical address (RAM or MMIO). */
  physRead(phys: number, size: AccessSize): number {
    if (this.memory.isRam(phys, size)) {
      const o = this.memory.translate(phys, size);
      return size === 4 ? this.dv.getInt32(o, true) : size === 2 ? this.dv.getUint16(o, true) : this.u8[o]!;
    }
    const v = this.mmio.read(phys, size);
    return size === 4 ? v | 0 : v;
  }

  /** Writes `size` bytes at a physical address (RAM or MMIO). */
  physWrite(phys: number, size: AccessSize, value: number): void {
    if (this.memory.isRam(phys, size)) {
      const o = this.memory.translate(phys, size);
      if (this.code.pages[o >>> 12] !== 0) this.code.written(o - (o & 0xfff));
      if (size === 4) this.dv.setInt32(o, value, true);
      else if (size === 2) this.dv.setUint16(o, value, true);
      else this.u8[o] = value;
      return;
    }
    this.mmio.write(phys, size, size === 4 ? value >>> 0 : value);
  }

  /** 32-bit physical read (page tables, descriptor tables). */
  physRead32(phys: number): number {
    return this.physRead(phys, 4);
  }

  physWrite32(phys: number, value: number): void {
    this.physWrite(phys, 4, value);
  }

  // ---- linear memory: fast paths -----------------------------------------

  rd8(lin: number): number {
    const i = (lin >>> 12) & TLB_MASK;
    if (this.tagR[i] === lin - (lin & 0xfff)) return this.u8[this.tlb.off[i]! + (lin & 0xfff)]!;
    return this.readSlow(lin, 1);
  }

  rd16(lin: number): number {
    const low = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.tagR[i] === lin - low && low <= 0xffe) return this.dv.getUint16(this.tlb.off[i]! + low, true);
    return this.readSlow(lin, 2);
  }

  /** Reads 32 bits as a signed int32. */
  rd32(lin: number): number {
    const low = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.tagR[i] === lin - low && low <= 0xffc) return this.dv.getInt32(this.tlb.off[i]! + low, true);
    return this.readSlow(lin, 4);
  }

  /** Reads 64 bits: returns the low half, leaves the high half in `hi`. */
  rd64(lin: number): number {
    const low = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.tagR[i] === lin - low && low <= 0xff8) {
      const o = this.tlb.off[i]! + low;
      this.hi = this.dv.getInt32(o + 4, true);
      return this.dv.getInt32(o, true);
    }
    const lo = this.readSlow(lin, 4);
    this.hi = this.readSlow(lin + 4, 4);
    return lo;
  }

  wr8(lin: number, v: number): void {
    const i = (lin >>> 12) & TLB_MASK;
    if (this.tagW[i] === lin - (lin & 0xfff)) {
      this.u8[this.tlb.off[i]! + (lin & 0xfff)] = v;
      return;
    }
    this.writeSlow(lin, 1, v);
  }

  wr16(lin: number, v: number): void {
    const low = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.tagW[i] === lin - low && low <= 0xffe) {
      this.dv.setUint16(this.tlb.off[i]! + low, v, true);
      return;
    }
    this.writeSlow(lin, 2, v);
  }

  wr32(lin: number, v: number): void {
    const low = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.tagW[i] === lin - low && low <= 0xffc) {
      this.dv.setInt32(this.tlb.off[i]! + low, v, true);
      return;
    }
    this.writeSlow(lin, 4, v);
  }

  wr64(lin: number, lo: number, hi: number): void {
    const low = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.tagW[i] === lin - low && low <= 0xff8) {
      const o = this.tlb.off[i]! + low;
      this.dv.setInt32(o, lo, true);
      this.dv.setInt32(o + 4, hi, true);
      return;
    }
    // Probe both halves before writing either, so a fault leaves memory unchanged.
    this.checkWritable(lin, 8);
    this.writeSlow(lin, 4, lo);
    this.writeSlow(lin + 4, 4, hi);
  }

  /** Faults now if [lin, lin+size) cannot be written (for multi-part writes). */
  checkWritable(lin: number, size: number): void {
    const user = this.cpl === 3;
    translate(this, lin, ACC_WRITE, user);
    const last = lin + size - 1;
    if ((last & ~0xfff) !== (lin & ~0xfff)) translate(this, last, ACC_WRITE, user);
  }

  // ---- linear memory: slow paths -----------------------------------------

  /** Reads 1, 2 or 4 bytes at a linear address through a full translation. */
  readSlow(lin: number, size: AccessSize): number {
    const user = this.cpl === 3;
    const low = lin & 0xfff;
    if (low + size > 0x1000) {
      // Crosses a page: byte by byte, each through its own translation.
      let v = 0;
      for (let k = 0; k < size; k++) v |= this.readSlow(lin + k, 1) << (8 * k);
      return size === 4 ? v : v & (size === 2 ? 0xffff : 0xff);
    }
    const phys = translate(this, lin, ACC_READ, user);
    return this.physRead(phys, size);
  }

  /** Writes 1, 2 or 4 bytes at a linear address through a full translation. */
  writeSlow(lin: number, size: AccessSize, v: number): void {
    const user = this.cpl === 3;
    const low = lin & 0xfff;
    if (low + size > 0x1000) {
      this.checkWritable(lin, size);
      for (let k = 0; k < size; k++) this.writeSlow(lin + k, 1, (v >>> (8 * k)) & 0xff);
      return;
    }
    const phys = translate(this, lin, ACC_WRITE, user);
    this.physWrite(phys, size, v);
  }

  /** Reads with supervisor rights whatever the CPL (descriptor tables, TSS, IDT). */
  sysRead32(lin: number): number {
    const saved = this.cpl;
    if (saved === 3) this.setCpl(0);
    try {
      return this.rd32(lin);
    } finally {
      if (saved === 3) this.setCpl(3);
    }
  }

  /** Writes with supervisor rights whatever the CPL. */
  sysWrite32(lin: number, v: number): void {
    const saved = this.cpl;
    if (saved === 3) this.setCpl(0);
    try {
      this.wr32(lin, v);
    } finally {
      if (saved === 3) this.setCpl(3);
    }
  }

  // ---- registers ---------------------------------------------------------

  /** Reads an 8-bit register: index 0-15, or AH..BH when `high`. */
  get8(r: number, high: boolean): number {
    return high ? (this.R[r]! >> 8) & 0xff : this.R[r]! & 0xff;
  }

  set8(r: number, high: boolean, v: number): void {
    const R = this.R;
    if (high) R[r] = (R[r]! & ~0xff00) | ((v & 0xff) << 8);
    else R[r] = (R[r]! & ~0xff) | (v & 0xff);
  }

  get16(r: number): number {
    return this.R[r]! & 0xffff;
  }

  set16(r: number, v: number): void {
    this.R[r] = (this.R[r]! & ~0xffff) | (v & 0xffff);
  }

  /** Writes a 32-bit result: zero-extends into the high half, as x86-64 does. */
  set32(r: number, v: number): void {
    this.R[r] = v;
    this.H[r] = 0;
  }

  /** A register's full 64-bit value as a signed double (exact below 2^53). */
  reg64(r: number): number {
    return this.H[r]! * 4294967296 + (this.R[r]! >>> 0);
  }

  /** Sets a register from a double (an address): low/high halves of its two's complement. */
  setReg64(r: number, v: number): void {
    this.R[r] = v | 0;
    this.H[r] = Math.floor(v / 4294967296) | 0;
  }
}

/** The mask that keeps an address within the address size. */
export function addrMask(asize: number, v: number): number {
  return asize === 8 ? v : asize === 4 ? v >>> 0 : v & 0xffff;
}
