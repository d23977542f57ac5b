/**
 * Segment registers: loading selectors through the GDT/LDT with the
 * protected-mode checks (Intel SDM vol. 3, 5.x), real-mode loads, and the
 * descriptor cache. Packed attributes use the VMX access-rights layout,
 * which is bits 8..23 of a descriptor's high dword with the limit nibble
 * cleared.
 */
import { ATTR, CS, type Cpu, GS, LDTR, SS, TR } from './cpu.js';
import { CpuFault, gp, np, Vec } from './fault.js';

/** A raw 8-byte descriptor (plus the upper 8 bytes of 16-byte system descriptors). */
export interface Descriptor {
  lo: number;
  hi: number;
  /** Bits 63..32 of the base for 64-bit system descriptors. */
  baseHi: number;
}

/** Base address encoded in a descriptor. */
export function descBase(d: Descriptor): number {
  return ((d.lo >>> 16) | ((d.hi & 0xff) << 16) | (d.hi & 0xff000000)) >>> 0;
}

/** Byte-granular limit encoded in a descriptor. */
export function descLimit(d: Descriptor): number {
  const raw = (d.lo & 0xffff) | (d.hi & 0xf0000);
  return (d.hi & 0x800000) !== 0 ? raw * 4096 + 0xfff : raw;
}

/** Packed attributes (type, S, DPL, P, AVL, L, D/B, G). */
export function descAttr(d: Descriptor): number {
  return (d.hi >>> 8) & 0xf0ff;
}

/** Sets a segment register's selector and hidden cache. */
export function setSegment(cpu: Cpu, seg: number, sel: number, base: number, limit: number, attr: number): void {
  cpu.segSel[seg] = sel & 0xffff;
  cpu.segBase[seg] = base;
  cpu.segLimit[seg] = limit;
  cpu.segAttr[seg] = attr;
  if (seg === CS || seg === SS) cpu.updateMode();
}

/**
 * Reads the descriptor for `sel` from the GDT or LDT; #GP(sel) when outside
 * the table's limit. `wide` reads a 16-byte long-mode system descriptor.
 */
export function readDescriptor(cpu: Cpu, sel: number, wide = false): Descriptor {
  const index = sel & ~7;
  const ldt = (sel & 4) !== 0;
  const base = ldt ? cpu.segBase[LDTR]! : cpu.gdtBase;
  const limit = ldt ? cpu.segLimit[LDTR]! : cpu.gdtLimit;
  if (ldt && (cpu.segAttr[LDTR]! & ATTR.UNUSABLE) !== 0) throw gp(sel & 0xfffc);
  if (index + (wide ? 15 : 7) > limit) throw gp(sel & 0xfffc);
  const lo = cpu.sysRead32(base + index);
  const hi = cpu.sysRead32(base + index + 4);
  const baseHi = wide ? cpu.sysRead32(base + index + 8) : 0;
  return { lo, hi, baseHi };
}

/** Sets the descriptor's accessed bit in memory (as loading a segment does). */
function markAccessed(cpu: Cpu, sel: number, d: Descriptor): void {
  if ((d.hi & 0x100) !== 0) return;
  const ldt = (sel & 4) !== 0;
  const base = ldt ? cpu.segBase[LDTR]! : cpu.gdtBase;
  d.hi |= 0x100;
  cpu.sysWrite32(base + (sel & ~7) + 4, d.hi);
}

/** Loads a data or stack segment register (MOV Sreg, POP Sreg, LDS...). */
export function loadSegment(cpu: Cpu, seg: number, sel: number): void {
  sel &= 0xffff;
  if (cpu.realMode) {
    // Real mode: base = selector * 16; the cached limit and attributes stay.
    cpu.segSel[seg] = sel;
    cpu.segBase[seg] = sel * 16;
    if (seg === CS) cpu.updateMode();
    return;
  }
  const rpl = sel & 3;
  if ((sel & ~3) === 0) {
    // Null selector: fine for DS/ES/FS/GS; SS only in 64-bit mode at CPL < 3 with RPL = CPL.
    if (seg === SS && !(cpu.mode64 && cpu.cpl < 3 && rpl === cpu.cpl)) throw gp(0);
    const keepBase = cpu.mode64 && (seg === 4 || seg === GS);
    setSegment(cpu, seg, sel, keepBase ? cpu.segBase[seg]! : 0, 0, ATTR.UNUSABLE | (seg === SS ? cpu.cpl << 5 : 0));
    return;
  }
  const d = readDescriptor(cpu, sel);
  const attr = descAttr(d);
  const type = attr & 0xf;
  const dpl = (attr >> 5) & 3;
  const isCode = (type & 8) !== 0;
  if ((attr & ATTR.S) === 0) throw gp(sel & 0xfffc);
  if (seg === SS) {
    // Writable data, RPL = DPL = CPL.
    if (isCode || (type & 2) === 0 || rpl !== cpu.cpl || dpl !== cpu.cpl) throw gp(sel & 0xfffc);
    if ((attr & ATTR.P) === 0) throw new CpuFault(Vec.SS, sel & 0xfffc);
  } else {
    // Data or readable code; non-conforming needs DPL >= max(CPL, RPL).
    if (isCode && (type & 2) === 0) throw gp(sel & 0xfffc);
    const conforming = isCode && (type & 4) !== 0;
    if (!conforming && dpl < Math.max(cpu.cpl, rpl)) throw gp(sel & 0xfffc);
    if ((attr & ATTR.P) === 0) throw np(sel & 0xfffc);
  }
  markAccessed(cpu, sel, d);
  setSegment(cpu, seg, sel, descBase(d), descLimit(d), attr | 1);
}

/**
 * Checks and loads a code segment for a far JMP/CALL/RET/IRET to `sel`
 * at privilege `newCpl`; returns nothing, sets CS and the CPL.
 */
export function loadCodeSegment(cpu: Cpu, sel: number, newCpl: number): void {
  sel &= 0xffff;
  if (cpu.realMode) {
    cpu.segSel[CS] = sel;
    cpu.segBase[CS] = sel * 16;
    cpu.updateMode();
    return;
  }
  if ((sel & ~3) === 0) throw gp(0);
  const d = readDescriptor(cpu, sel);
  const attr = descAttr(d);
  const type = attr & 0xf;
  if ((attr & ATTR.S) === 0 || (type & 8) === 0) throw gp(sel & 0xfffc);
  const dpl = (attr >> 5) & 3;
  const conforming = (type & 4) !== 0;
  if (conforming ? dpl > newCpl : dpl !== newCpl) throw gp(sel & 0xfffc);
  if ((attr & ATTR.P) === 0) throw np(sel & 0xfffc);
  markAccessed(cpu, sel, d);
  cpu.segSel[CS] = (sel & ~3) | newCpl;
  cpu.segBase[CS] = descBase(d);
  cpu.segLimit[CS] = descLimit(d);
  cpu.segAttr[CS] = attr | 1;
  cpu.setCpl(newCpl);
  cpu.updateMode();
}

/** Loads TR from a TSS descriptor (LTR): marks it busy. */
export function loadTaskRegister(cpu: Cpu, sel: number): void {
  if ((sel & ~3) === 0 || (sel & 4) !== 0) throw gp(sel & 0xfffc);
  const d = readDescriptor(cpu, sel, cpu.longMode);
  const attr = descAttr(d);
  const type = attr & 0xf;
  if ((attr & ATTR.S) !== 0 || (type !== 9 && type !== 1)) throw gp(sel & 0xfffc);
  if ((attr & ATTR.P) === 0) throw np(sel & 0xfffc);
  d.hi |= 0x200; // busy
  cpu.sysWrite32(cpu.gdtBase + (sel & ~7) + 4, d.hi);
  // Bits 63..32 sign-extend into the signed-double form of canonical addresses.
  const base = descBase(d) + (cpu.longMode ? (d.baseHi | 0) * 4294967296 : 0);
  setSegment(cpu, TR, sel, base, descLimit(d), descAttr(d));
}

/** Loads LDTR (LLDT); a null selector makes it unusable. */
export function loadLdt(cpu: Cpu, sel: number): void {
  if ((sel & ~3) === 0) {
    setSegment(cpu, LDTR, 0, 0, 0, ATTR.UNUSABLE);
    return;
  }
  if ((sel & 4) !== 0) throw gp(sel & 0xfffc);
  const d = readDescriptor(cpu, sel, cpu.longMode);
  const attr = descAttr(d);
  if ((attr & ATTR.S) !== 0 || (attr & 0xf) !== 2) throw gp(sel & 0xfffc);
  if ((attr & ATTR.P) === 0) throw np(sel & 0xfffc);
  // Bits 63..32 sign-extend into the signed-double form of canonical addresses.
  const base = descBase(d) + (cpu.longMode ? (d.baseHi | 0) * 4294967296 : 0);
  setSegment(cpu, LDTR, sel, base, descLimit(d), attr);
}

/** A 64-bit flat segment cache as SYSCALL/SYSRET load it. */
export function flatSegment(cpu: Cpu, seg: number, sel: number, code64: boolean, dpl: number): void {
  const attr = code64
    ? 0xb | ATTR.S | (dpl << 5) | ATTR.P | ATTR.L | ATTR.G
    : 0x3 | ATTR.S | (dpl << 5) | ATTR.P | ATTR.DB | ATTR.G;
  cpu.segSel[seg] = sel;
  cpu.segBase[seg] = 0;
  cpu.segLimit[seg] = 0xffffffff;
  cpu.segAttr[seg] = attr;
}
