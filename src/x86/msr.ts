/**
 * Model-specific registers: the ones a 64-bit Linux kernel touches, the
 * KVM paravirtual clock, and a hook for the LAPIC's MSRs. An MSR the CPU
 * does not know raises #GP, as hardware does (Linux probes with the _safe
 * accessors).
 */
import { type Cpu, FS, GS } from './cpu.js';
import { gp } from './fault.js';
import { MSR } from './system-regs.js';

/** Time sources the CPU needs (TSC, KVM clock). */
export interface CpuClock {
  /** TSC frequency in Hz. */
  readonly tscHz: number;
  /** Machine time in ns since the machine started (monotonic). */
  nowNs(): number;
  /** Wall-clock time in ns since the Unix epoch, at machine time 0. */
  readonly bootWallNs: number;
}

/** A device that owns some MSRs (the LAPIC: APIC_BASE, TSC_DEADLINE). */
export interface MsrDevice {
  /** Returns [lo, hi] or null when it does not own `index`. */
  readMsr(index: number): [number, number] | null;
  /** Returns false when it does not own `index` (or the value is invalid: #GP). */
  writeMsr(index: number, lo: number, hi: number): boolean;
}

// ARCH_CAPABILITIES: RDCL_NO, IBRS_ALL, SKIP_L1DFL_VMENTRY, SSB_NO, MDS_NO, PSCHANGE_MC_NO, TAA_NO:
// nothing to mitigate on a CPU without speculation.
const ARCH_CAPS = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 8);

/** MSR state of one CPU. */
export class MsrState {
  star = [0, 0];
  lstar = [0, 0];
  cstar = [0, 0];
  sfmask = 0;
  kernelGsBase = 0;
  sysenterCs = 0;
  sysenterEsp = 0;
  sysenterEip = 0;
  // Power-on value 0x0007040600070406: WB, WT, UC-, UC in both halves.
  pat = [0x00070406, 0x00070406];
  miscEnable = 1; // fast strings
  tscAux = 0;
  /** Added to the clock-derived TSC (IA32_TSC writes). */
  tscOffset = 0;
  kvmSystemTime = [0, 0];
  kvmWallClock = [0, 0];
  mtrrDefType = 0;
  splitMsrs = new Map<number, [number, number]>();
}

/** The TSC at this instant. */
export function readTsc(cpu: Cpu): number {
  const c = cpu.clock;
  return Math.floor((c.nowNs() * c.tscHz) / 1e9) + cpu.msrs.tscOffset;
}

/** RDMSR: returns the low half, high half in cpu.hi; #GP for unknown MSRs. */
export function rdmsr(cpu: Cpu, index: number): number {
  index >>>= 0;
  const m = cpu.msrs;
  const pair = (lo: number, hi: number): number => {
    cpu.hi = hi | 0;
    return lo | 0;
  };
  const split = (v: number): number => pair(v | 0, Math.floor(v / 4294967296));
  const dev = cpu.msrDevice?.readMsr(index);
  if (dev) return pair(dev[0], dev[1]);
  switch (index) {
    case MSR.EFER: return pair(cpu.efer, 0);
    case MSR.STAR: return pair(m.star[0]!, m.star[1]!);
    case MSR.LSTAR: return pair(m.lstar[0]!, m.lstar[1]!);
    case MSR.CSTAR: return pair(m.cstar[0]!, m.cstar[1]!);
    case MSR.SFMASK: return pair(m.sfmask, 0);
    case MSR.FS_BASE: return split(cpu.segBase[FS]!);
    case MSR.GS_BASE: return split(cpu.segBase[GS]!);
    case MSR.KERNEL_GS_BASE: return split(m.kernelGsBase);
    case MSR.TSC: return split(readTsc(cpu));
    case MSR.TSC_AUX: return pair(m.tscAux, 0);
    case MSR.SYSENTER_CS: return pair(m.sysenterCs, 0);
    case MSR.SYSENTER_ESP: return split(m.sysenterEsp);
    case MSR.SYSENTER_EIP: return split(m.sysenterEip);
    case MSR.PAT: return pair(m.pat[0]!, m.pat[1]!);
    case MSR.MISC_ENABLE: return pair(m.miscEnable, 0);
    case MSR.ARCH_CAPABILITIES: return pair(ARCH_CAPS, 0);
    case MSR.PLATFORM_ID: case MSR.BIOS_SIGN_ID: case MSR.MCG_STATUS: case MSR.MCG_CAP:
    case MSR.FEATURE_CONTROL: case MSR.TSC_ADJUST: case MSR.MTRRCAP:
      return pair(0, 0);
    case MSR.MTRR_DEF_TYPE: return pair(m.mtrrDefType, 0);
    case MSR.KVM_SYSTEM_TIME_NEW: case MSR.KVM_SYSTEM_TIME: return pair(m.kvmSystemTime[0]!, m.kvmSystemTime[1]!);
    case MSR.KVM_WALL_CLOCK_NEW: case MSR.KVM_WALL_CLOCK: return pair(m.kvmWallClock[0]!, m.kvmWallClock[1]!);
    case MSR.SPEC_CTRL: return pair(0, 0);
  }
  const v = m.splitMsrs.get(index);
  if (v) return pair(v[0], v[1]);
  throw gp(0);
}

/** WRMSR; #GP for unknown MSRs and reserved bits Linux relies on faulting. */
export function wrmsr(cpu: Cpu, index: number, lo: number, hi: number): void {
  index >>>= 0;
  const m = cpu.msrs;
  const full = (hi | 0) * 4294967296 + (lo >>> 0);
  if (cpu.msrDevice?.writeMsr(index, lo, hi)) return;
  switch (index) {
    case MSR.EFER: {
      // SCE, LME, NXE writable; LMA is read-only (set by enabling paging with LME).
      const keep = cpu.efer & 0x400;
      cpu.efer = (lo & (0x1 | 0x100 | 0x800)) | keep;
      cpu.updateMode();
      cpu.tlb.flush(false);
      return;
    }
    case MSR.STAR: m.star = [lo | 0, hi | 0]; return;
    case MSR.LSTAR: m.lstar = [lo | 0, hi | 0]; return;
    case MSR.CSTAR: m.cstar = [lo | 0, hi | 0]; return;
    case MSR.SFMASK: m.sfmask = lo | 0; return;
    case MSR.FS_BASE: cpu.segBase[FS] = full; return;
    case MSR.GS_BASE: cpu.segBase[GS] = full; return;
    case MSR.KERNEL_GS_BASE: m.kernelGsBase = full; return;
    case MSR.TSC: m.tscOffset = full - (readTsc(cpu) - m.tscOffset); return;
    case MSR.TSC_AUX: m.tscAux = lo >>> 0; return;
    case MSR.SYSENTER_CS: m.sysenterCs = lo & 0xffff; return;
    case MSR.SYSENTER_ESP: m.sysenterEsp = full; return;
    case MSR.SYSENTER_EIP: m.sysenterEip = full; return;
    case MSR.PAT: m.pat = [lo | 0, hi | 0]; return;
    case MSR.MISC_ENABLE: m.miscEnable = lo >>> 0; return;
    case MSR.MTRR_DEF_TYPE: m.mtrrDefType = lo >>> 0; return;
    case MSR.SPEC_CTRL: case MSR.PRED_CMD: case MSR.FLUSH_CMD: case MSR.TSC_ADJUST: case MSR.MCG_STATUS:
    case MSR.BIOS_SIGN_ID:
      return;
    case MSR.KVM_SYSTEM_TIME_NEW: case MSR.KVM_SYSTEM_TIME:
      m.kvmSystemTime = [lo | 0, hi | 0];
      if ((lo & 1) !== 0) writePvclock(cpu, full - 1);
      return;
    case MSR.KVM_WALL_CLOCK_NEW: case MSR.KVM_WALL_CLOCK:
      m.kvmWallClock = [lo | 0, hi | 0];
      writeWallClock(cpu, full);
      return;
  }
  throw gp(0);
}

/**
 * Fills a pvclock_vcpu_time_info at `gpa`. The TSC and the system time both
 * derive linearly from the machine clock, so one snapshot stays valid: the
 * guest extrapolates with tsc_to_system_mul / tsc_shift forever.
 */
function writePvclock(cpu: Cpu, gpa: number): void {
  const mem = cpu.memory;
  if (!mem.isRam(gpa, 32)) return;
  const ns = cpu.clock.nowNs();
  const tsc = readTsc(cpu);
  // ns = ((tsc_delta << shift) * mul) >> 32, with mul in [2^31, 2^32).
  let shift = 0;
  let ratio = 1e9 / cpu.clock.tscHz; // ns per tick
  while (ratio >= 1) {
    ratio /= 2;
    shift++;
  }
  while (ratio < 0.5) {
    ratio *= 2;
    shift--;
  }
  const mul = Math.round(ratio * 4294967296) >>> 0;
  mem.writeU32(gpa, 2); // version: even = stable
  mem.writeU32(gpa + 4, 0);
  mem.writeU64(gpa + 8, BigInt(tsc));
  mem.writeU64(gpa + 16, BigInt(Math.floor(ns)));
  mem.writeU32(gpa + 24, mul);
  mem.view(gpa + 28, 1)[0] = shift & 0xff;
  mem.view(gpa + 29, 1)[0] = 1; // PVCLOCK_TSC_STABLE_BIT
  mem.markDirty(gpa + 28, 2);
}

/** Fills a pvclock_wall_clock: the wall-clock time at machine time 0. */
function writeWallClock(cpu: Cpu, gpa: number): void {
  const mem = cpu.memory;
  if (!mem.isRam(gpa, 12)) return;
  const wall = cpu.clock.bootWallNs;
  mem.writeU32(gpa, 2);
  mem.writeU32(gpa + 4, Math.floor(wall / 1e9) >>> 0);
  mem.writeU32(gpa + 8, Math.floor(wall % 1e9));
}
