/**
 * The saved state of one emulated vCPU: everything architectural in the
 * software CPU (GPRs, RIP, RFLAGS, segments with their hidden parts,
 * descriptor tables, control and debug registers, EFER, MSRs including the
 * KVM clock ones, x87/MMX/SSE state, HLT and wait-for-SIPI), as a
 * versioned JSON object with named keys.
 *
 * DEVNOTE: 64-bit values are hex strings ("0x..."), never JSON numbers:
 * addresses and MSRs exceed 2^53 and a reader in another language must not
 * round them. The CPU keeps addresses as signed doubles (exact for
 * canonical addresses), so they go through BigInt on the way out and in.
 * The TLB, the decoded-block cache and the lazy-flags bookkeeping are
 * caches or derived state and are not saved: RFLAGS is saved
 * materialised, the caches start empty.
 */
import { OP_NONE } from '../../x86/flags.js';
import { MM_OFF } from '../../x86/fpu-state.js';
import type { EmuVcpu } from './emu-vcpu.js';
import { GPR_NAMES } from '../registers.js';
import { bytesHex, FieldReader, hexOf, hexOfPair } from './saved-fields.js';

/** Version of CpuSavedState this build writes (and the newest it reads). */
export const CPU_STATE_VERSION = 1;

/** Segment slots in the CPU's order (ES..GS as encoded, then LDTR, TR). */
const SEGMENTS = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr'] as const;

/** A segment register with its hidden descriptor cache. */
export interface SavedSegment {
  readonly selector: number;
  /** 64-bit base, hex. */
  readonly base: string;
  readonly limit: number;
  /** Packed attributes (VMX access-rights layout: type, S, DPL, P, AVL, L, D/B, G, unusable). */
  readonly attributes: number;
}

/** GDTR / IDTR. */
export interface SavedTable {
  readonly base: string;
  readonly limit: number;
}

/** MSRs the CPU keeps (the LAPIC's, APIC_BASE and TSC_DEADLINE, are in its own saved state). */
export interface SavedMsrs {
  readonly star: string;
  readonly lstar: string;
  readonly cstar: string;
  readonly sfmask: number;
  readonly kernelGsBase: string;
  readonly sysenterCs: number;
  readonly sysenterEsp: string;
  readonly sysenterEip: string;
  readonly pat: string;
  readonly miscEnable: number;
  readonly tscAux: number;
  /** Added to the clock-derived TSC (IA32_TSC writes), signed decimal. */
  readonly tscOffset: string;
  /** MSR_KVM_SYSTEM_TIME(_NEW): the pvclock page address and enable bit. */
  readonly kvmSystemTime: string;
  /** MSR_KVM_WALL_CLOCK(_NEW). */
  readonly kvmWallClock: string;
  readonly mtrrDefType: number;
  /** Other MSRs the CPU stores as written, by hex index. */
  readonly other: Readonly<Record<string, string>>;
}

/** x87, MMX and SSE state. */
export interface SavedFpu {
  readonly cw: number;
  /** Status word with TOP folded in. */
  readonly sw: number;
  /** Bit p: physical register p is not empty. */
  readonly valid: number;
  /** Bit p: physical register p holds an 80-bit pattern (mm + exp), not a double. */
  readonly raw: number;
  /** R0..R7 as the bits of their doubles, hex (NaN payloads and -0 survive). */
  readonly st: readonly string[];
  /** Sign and exponent of the raw 80-bit patterns. */
  readonly exp: readonly number[];
  readonly fip: number;
  readonly fdp: number;
  readonly fop: number;
  readonly mxcsr: number;
  /** XMM0..XMM15, 256 bytes as hex. */
  readonly xmm: string;
  /** MM0..MM7 (the mantissas of R0..R7), 64 bytes as hex. */
  readonly mm: string;
}

/** Version 1 of a vCPU's saved state. */
export interface CpuSavedState {
  readonly version: number;
  /** rax..r15 by name, hex. */
  readonly gprs: Readonly<Record<(typeof GPR_NAMES)[number], string>>;
  readonly rip: string;
  /** RFLAGS (the high half is always zero). */
  readonly rflags: number;
  readonly segments: Readonly<Record<(typeof SEGMENTS)[number], SavedSegment>>;
  readonly gdt: SavedTable;
  readonly idt: SavedTable;
  readonly cr0: number;
  readonly cr2: string;
  readonly cr3: string;
  readonly cr4: number;
  readonly cr8: number;
  readonly efer: number;
  readonly cpl: number;
  /** DR0..DR7, hex. */
  readonly dr: readonly string[];
  readonly msrs: SavedMsrs;
  readonly fpu: SavedFpu;
  /** HLT executed and no interrupt taken since. */
  readonly halted: boolean;
  /** The one-instruction interrupt shadow after STI / MOV SS. */
  readonly shadow: boolean;
  /** An application processor waiting for its start-up IPI. */
  readonly waitingForSipi: boolean;
}

// ---- save -----------------------------------------------------------------

/** Captures the vCPU's architectural state (between run slices; the VM paused). */
export function saveCpuState(vcpu: EmuVcpu): CpuSavedState {
  const cpu = vcpu.cpu;
  const gprs = {} as Record<(typeof GPR_NAMES)[number], string>;
  GPR_NAMES.forEach((name, r) => (gprs[name] = hexOfPair([cpu.R[r]!, cpu.H[r]!])));
  const segments = {} as Record<(typeof SEGMENTS)[number], SavedSegment>;
  SEGMENTS.forEach((name, i) => {
    segments[name] = {
      selector: cpu.segSel[i]! & 0xffff,
      base: hexOf(cpu.segBase[i]!),
      limit: cpu.segLimit[i]! >>> 0,
      attributes: cpu.segAttr[i]! >>> 0,
    };
  });
  const m = cpu.msrs;
  const other: Record<string, string> = {};
  for (const [index, value] of m.splitMsrs) other[`0x${(index >>> 0).toString(16)}`] = hexOfPair(value);
  const f = cpu.fpu;
  const st: string[] = [];
  for (let p = 0; p < 8; p++) st.push(hexOfPair([f.stBits[2 * p]!, f.stBits[2 * p + 1]!]));
  return {
    version: CPU_STATE_VERSION,
    gprs,
    rip: hexOf(cpu.rip),
    // Lazy flags are read, not materialised: saving must not change the CPU.
    rflags: cpu.getFlags() >>> 0,
    segments,
    gdt: { base: hexOf(cpu.gdtBase), limit: cpu.gdtLimit & 0xffff },
    idt: { base: hexOf(cpu.idtBase), limit: cpu.idtLimit & 0xffff },
    cr0: cpu.cr0 >>> 0,
    cr2: hexOf(cpu.cr2),
    cr3: hexOf(cpu.cr3),
    cr4: cpu.cr4 >>> 0,
    cr8: cpu.cr8 & 0xf,
    efer: cpu.efer >>> 0,
    cpl: cpu.cpl,
    dr: Array.from(cpu.dr, hexOf),
    msrs: {
      star: hexOfPair(m.star),
      lstar: hexOfPair(m.lstar),
      cstar: hexOfPair(m.cstar),
      sfmask: m.sfmask >>> 0,
      kernelGsBase: hexOf(m.kernelGsBase),
      sysenterCs: m.sysenterCs & 0xffff,
      sysenterEsp: hexOf(m.sysenterEsp),
      sysenterEip: hexOf(m.sysenterEip),
      pat: hexOfPair(m.pat),
      miscEnable: m.miscEnable >>> 0,
      tscAux: m.tscAux >>> 0,
      tscOffset: BigInt(Math.trunc(m.tscOffset)).toString(),
      kvmSystemTime: hexOfPair(m.kvmSystemTime),
      kvmWallClock: hexOfPair(m.kvmWallClock),
      mtrrDefType: m.mtrrDefType >>> 0,
      other,
    },
    fpu: {
      cw: f.cw & 0xffff,
      sw: f.statusWord() & 0xffff,
      valid: f.valid & 0xff,
      raw: f.raw & 0xff,
      st,
      exp: Array.from(f.exp),
      fip: f.fip >>> 0,
      fdp: f.fdp >>> 0,
      fop: f.fop & 0xffff,
      mxcsr: f.mxcsr >>> 0,
      xmm: bytesHex(f.u8.subarray(0, 256)),
      mm: bytesHex(f.u8.subarray(MM_OFF, MM_OFF + 64)),
    },
    halted: cpu.halted,
    shadow: cpu.shadow,
    waitingForSipi: vcpu.waitingForSipi,
  };
}

// ---- restore --------------------------------------------------------------

/**
 * Checks a CpuSavedState and returns it decoded into the CPU's own
 * representation, without touching any vCPU: a snapshot's manifest checks
 * its vCPU states with it before anything is built. `id` names the vCPU
 * in the RestoreError a malformed field throws.
 */
export function checkCpuState(saved: unknown, id: string) {
  // Typed, so that TypeScript narrows after rd.fail() (which never returns).
  const rd: FieldReader = new FieldReader(id);
  const s = rd.obj(saved, 'state');
  const version = s['version'];
  // Never the raw value in the message: it may be any JSON (a long string with newlines).
  if (typeof version !== 'number') rd.fail('version', 'missing or not a number');
  if (!Number.isInteger(version) || version < 1 || version > CPU_STATE_VERSION) {
    rd.fail('version', `${version} is not supported (this build reads 1..${CPU_STATE_VERSION})`);
  }
  // Parse everything before touching the CPU.
  const g = rd.obj(s['gprs'], 'gprs');
  const gprs = GPR_NAMES.map((name) => rd.pair(g[name], `gprs.${name}`));
  const segs = rd.obj(s['segments'], 'segments');
  const segments = SEGMENTS.map((name) => {
    const seg = rd.obj(segs[name], `segments.${name}`);
    return {
      selector: rd.uint(seg['selector'], `segments.${name}.selector`, 16),
      base: rd.signed(seg['base'], `segments.${name}.base`),
      limit: rd.uint(seg['limit'], `segments.${name}.limit`),
      attributes: rd.uint(seg['attributes'], `segments.${name}.attributes`, 17),
    };
  });
  const table = (name: string) => {
    const t = rd.obj(s[name], name);
    return { base: rd.signed(t['base'], `${name}.base`), limit: rd.uint(t['limit'], `${name}.limit`, 16) };
  };
  const gdt = table('gdt');
  const idt = table('idt');
  const ms = rd.obj(s['msrs'], 'msrs');
  const otherIn = rd.obj(ms['other'], 'msrs.other');
  const other = new Map<number, [number, number]>();
  for (const [k, v] of Object.entries(otherIn)) {
    if (!/^0x[0-9a-f]{1,8}$/i.test(k)) rd.fail(`msrs.other.${FieldReader.shown(k)}`, 'not an MSR index');
    other.set(Number(k) >>> 0, rd.pair(v, `msrs.other.${k}`));
  }
  const tscOffsetText = ms['tscOffset'];
  if (typeof tscOffsetText !== 'string' || !/^-?\d{1,20}$/.test(tscOffsetText)) rd.fail('msrs.tscOffset', 'not a decimal integer string');
  const fp = rd.obj(s['fpu'], 'fpu');
  const st = rd.array(fp['st'], 'fpu.st', 8).map((v, p) => rd.pair(v, `fpu.st[${p}]`));
  const exp = rd.array(fp['exp'], 'fpu.exp', 8).map((v, p) => rd.uint(v, `fpu.exp[${p}]`, 16));
  const xmm = rd.bytes(fp['xmm'], 'fpu.xmm', 256);
  const mm = rd.bytes(fp['mm'], 'fpu.mm', 64);
  const dr = rd.array(s['dr'], 'dr', 8).map((v, i) => rd.signed(v, `dr[${i}]`));
  const msrs = {
    star: rd.pair(ms['star'], 'msrs.star'),
    lstar: rd.pair(ms['lstar'], 'msrs.lstar'),
    cstar: rd.pair(ms['cstar'], 'msrs.cstar'),
    sfmask: rd.uint(ms['sfmask'], 'msrs.sfmask'),
    kernelGsBase: rd.signed(ms['kernelGsBase'], 'msrs.kernelGsBase'),
    sysenterCs: rd.uint(ms['sysenterCs'], 'msrs.sysenterCs', 16),
    sysenterEsp: rd.signed(ms['sysenterEsp'], 'msrs.sysenterEsp'),
    sysenterEip: rd.signed(ms['sysenterEip'], 'msrs.sysenterEip'),
    pat: rd.pair(ms['pat'], 'msrs.pat'),
    miscEnable: rd.uint(ms['miscEnable'], 'msrs.miscEnable'),
    tscAux: rd.uint(ms['tscAux'], 'msrs.tscAux'),
    tscOffset: Number(BigInt(tscOffsetText as string)),
    kvmSystemTime: rd.pair(ms['kvmSystemTime'], 'msrs.kvmSystemTime'),
    kvmWallClock: rd.pair(ms['kvmWallClock'], 'msrs.kvmWallClock'),
    mtrrDefType: rd.uint(ms['mtrrDefType'], 'msrs.mtrrDefType'),
  };
  const fpu = {
    cw: rd.uint(fp['cw'], 'fpu.cw', 16),
    sw: rd.uint(fp['sw'], 'fpu.sw', 16),
    valid: rd.uint(fp['valid'], 'fpu.valid', 8),
    raw: rd.uint(fp['raw'], 'fpu.raw', 8),
    fip: rd.uint(fp['fip'], 'fpu.fip'),
    fdp: rd.uint(fp['fdp'], 'fpu.fdp'),
    fop: rd.uint(fp['fop'], 'fpu.fop', 16),
    mxcsr: rd.uint(fp['mxcsr'], 'fpu.mxcsr'),
  };
  const regs = {
    rip: rd.signed(s['rip'], 'rip'),
    rflags: rd.uint(s['rflags'], 'rflags'),
    cr0: rd.uint(s['cr0'], 'cr0'),
    cr2: rd.signed(s['cr2'], 'cr2'),
    cr3: rd.signed(s['cr3'], 'cr3'),
    cr4: rd.uint(s['cr4'], 'cr4'),
    cr8: rd.uint(s['cr8'], 'cr8', 4),
    efer: rd.uint(s['efer'], 'efer'),
    cpl: rd.uint(s['cpl'], 'cpl', 2),
    halted: rd.bool(s['halted'], 'halted'),
    shadow: rd.bool(s['shadow'], 'shadow'),
    waitingForSipi: rd.bool(s['waitingForSipi'], 'waitingForSipi'),
  };
  // Mode bits the CPU never lets a guest combine (MOV CR0 and CR4 refuse
  // them): restored, they would run 64-bit code in "real mode".
  if ((regs.cr0 & 0x80000000) !== 0 && (regs.cr0 & 1) === 0) rd.fail('cr0', 'paging (PG) without protection (PE)');
  if ((regs.efer & 0x400) !== 0 && ((regs.cr0 & 0x80000000) === 0 || (regs.cr4 & 0x20) === 0)) rd.fail('efer', 'long mode active (LMA) without paging and PAE');
  return { gprs, segments, gdt, idt, other, st, exp, xmm, mm, dr, msrs, fpu, regs };
}

/**
 * Loads a CpuSavedState into a freshly built vCPU (the restore half of the
 * vCPU's "create from saved state"). Every field is checked first, so a
 * malformed state throws a RestoreError and leaves the vCPU untouched.
 */
export function restoreCpuState(vcpu: EmuVcpu, saved: unknown): void {
  const { gprs, segments, gdt, idt, other, st, exp, xmm, mm, dr, msrs, fpu, regs } = checkCpuState(saved, `vcpu${vcpu.index}`);
  const cpu = vcpu.cpu;
  gprs.forEach(([lo, hi], r) => {
    cpu.R[r] = lo;
    cpu.H[r] = hi;
  });
  cpu.rip = regs.rip;
  // RFLAGS was saved materialised: every flag lives in `flags` again.
  cpu.fOp = OP_NONE;
  cpu.flags = (regs.rflags | 2) & ~(0x8 | 0x20 | 0x8000);
  segments.forEach((seg, i) => {
    cpu.segSel[i] = seg.selector;
    cpu.segBase[i] = seg.base;
    cpu.segLimit[i] = seg.limit;
    cpu.segAttr[i] = seg.attributes;
  });
  cpu.gdtBase = gdt.base;
  cpu.gdtLimit = gdt.limit;
  cpu.idtBase = idt.base;
  cpu.idtLimit = idt.limit;
  cpu.cr0 = regs.cr0 | 0;
  cpu.cr2 = regs.cr2;
  cpu.cr3 = regs.cr3;
  cpu.cr4 = regs.cr4 | 0;
  cpu.cr8 = regs.cr8;
  cpu.efer = regs.efer | 0;
  dr.forEach((v, i) => (cpu.dr[i] = v));
  const m = cpu.msrs;
  m.star = msrs.star;
  m.lstar = msrs.lstar;
  m.cstar = msrs.cstar;
  m.sfmask = msrs.sfmask | 0;
  m.kernelGsBase = msrs.kernelGsBase;
  m.sysenterCs = msrs.sysenterCs;
  m.sysenterEsp = msrs.sysenterEsp;
  m.sysenterEip = msrs.sysenterEip;
  m.pat = msrs.pat;
  m.miscEnable = msrs.miscEnable;
  m.tscAux = msrs.tscAux;
  m.tscOffset = msrs.tscOffset;
  m.kvmSystemTime = msrs.kvmSystemTime;
  m.kvmWallClock = msrs.kvmWallClock;
  m.mtrrDefType = msrs.mtrrDefType;
  m.splitMsrs = other;
  const f = cpu.fpu;
  f.cw = fpu.cw;
  f.setStatusWord(fpu.sw);
  f.valid = fpu.valid;
  f.raw = fpu.raw;
  st.forEach(([lo, hi], p) => {
    f.stBits[2 * p] = lo;
    f.stBits[2 * p + 1] = hi;
  });
  exp.forEach((v, p) => (f.exp[p] = v));
  f.fip = fpu.fip;
  f.fdp = fpu.fdp;
  f.fop = fpu.fop;
  f.mxcsr = fpu.mxcsr;
  f.u8.set(xmm, 0);
  f.u8.set(mm, MM_OFF);
  cpu.halted = regs.halted;
  cpu.shadow = regs.shadow;
  vcpu.waitingForSipi = regs.waitingForSipi;
  // Derived mode bits, then the saved CPL (updateMode keeps the current one).
  cpu.updateMode();
  cpu.setCpl(regs.cpl);
  cpu.tlb.flush(false);
  vcpu.executor.flush();
}
