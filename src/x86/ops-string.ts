/**
 * String instructions: MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS, with REP,
 * REPE and REPNE. A repeated instruction runs a bounded number of
 * iterations per execution and re-executes itself (RIP unchanged) until
 * done, so interrupts are taken in between, as on hardware. REP MOVS and
 * REP STOS copy whole runs within a page at once when both sides are
 * plain RAM.
 */
import { type Cpu, ES } from './cpu.js';
import { DF } from './flags.js';
import type { AccessSize } from '../bus/device.js';
import type { Instr } from './instr.js';
import { TLB_MASK } from './mmu.js';
import { cmpFlags } from './ops-mov.js';
import { checkIoPermission } from './ops-io.js';

/** Iterations a repeated instruction runs before yielding to interrupts. */
const CHUNK = 4096;

function getIdx(cpu: Cpu, r: number, asize: number): number {
  if (asize === 8) return cpu.H[r]! * 4294967296 + (cpu.R[r]! >>> 0);
  return asize === 4 ? cpu.R[r]! >>> 0 : cpu.R[r]! & 0xffff;
}

function setIdx(cpu: Cpu, r: number, asize: number, v: number): void {
  if (asize === 8) cpu.setReg64(r, v);
  else if (asize === 4) cpu.set32(r, v | 0);
  else cpu.set16(r, v);
}

function srcLin(cpu: Cpu, i: Instr, off: number): number {
  if (cpu.mode64 && i.seg !== 4 && i.seg !== 5) return off;
  return cpu.mode64 ? off + cpu.segBase[i.seg]! : (off + cpu.segBase[i.seg]!) % 4294967296;
}

function dstLin(cpu: Cpu, off: number): number {
  return cpu.mode64 ? off : (off + cpu.segBase[ES]!) % 4294967296;
}

function rd(cpu: Cpu, size: number, lin: number): number {
  switch (size) {
    case 1: return cpu.rd8(lin);
    case 2: return cpu.rd16(lin);
    case 4: return cpu.rd32(lin);
    default: return cpu.rd64(lin);
  }
}

function wr(cpu: Cpu, size: number, lin: number, v: number, vH: number): void {
  switch (size) {
    case 1: cpu.wr8(lin, v); return;
    case 2: cpu.wr16(lin, v); return;
    case 4: cpu.wr32(lin, v); return;
    default: cpu.wr64(lin, v, vH); return;
  }
}

/** Wraps an index at the address size. */
function wrap(asize: number, v: number): number {
  return asize === 8 ? v : asize === 4 ? ((v % 4294967296) + 4294967296) % 4294967296 : v & 0xffff;
}

/** The repeat count, or 1 without a REP prefix. */
function count(cpu: Cpu, i: Instr): number {
  return i.rep === 0 ? 1 : getIdx(cpu, 1, i.asize);
}

/**
 * A REP with a zero count does nothing at all: with 32-bit addressing the
 * index and count registers keep their high halves (nothing is written).
 * Returns true (and moves RIP on) in that case.
 */
function repNone(cpu: Cpu, i: Instr): boolean {
  if (i.rep === 0 || getIdx(cpu, 1, i.asize) !== 0) return false;
  cpu.rip = i.next;
  return true;
}

/** Finishes a (possibly repeated) string instruction: done, or resume later. */
function finish(cpu: Cpu, i: Instr, left: number): void {
  if (i.rep !== 0) setIdx(cpu, 1, i.asize, left);
  cpu.rip = left === 0 || i.rep === 0 ? i.next : i.rip;
}

/** MOVS: [rDI] = [rSI]. */
export function movs(cpu: Cpu, i: Instr): void {
  if (repNone(cpu, i)) return;
  const size = i.osize;
  const step = (cpu.flags & DF) !== 0 ? -size : size;
  let n = count(cpu, i);
  let si = getIdx(cpu, 6, i.asize);
  let di = getIdx(cpu, 7, i.asize);
  let budget = CHUNK;
  while (n > 0 && budget > 0) {
    const s = srcLin(cpu, i, si);
    const d = dstLin(cpu, di);
    const v = rd(cpu, size, s);
    wr(cpu, size, d, v, cpu.hi);
    si = wrap(i.asize, si + step);
    di = wrap(i.asize, di + step);
    n--;
    budget--;
    if (n > 1 && step > 0 && i.asize === 8) {
      // Bulk copy the rest of the run that stays inside both pages.
      const k = bulkCopy(cpu, srcLin(cpu, i, si), dstLin(cpu, di), size, n);
      si += k * size;
      di += k * size;
      n -= k;
    }
  }
  setIdx(cpu, 6, i.asize, si);
  setIdx(cpu, 7, i.asize, di);
  finish(cpu, i, n);
}

/** Copies up to n elements when both addresses are fast-mapped RAM within their pages. */
function bulkCopy(cpu: Cpu, s: number, d: number, size: number, n: number): number {
  const si = (s >>> 12) & TLB_MASK;
  const di = (d >>> 12) & TLB_MASK;
  const sLow = s & 0xfff;
  const dLow = d & 0xfff;
  if (cpu.tagR[si] !== s - sLow || cpu.tagW[di] !== d - dLow) return 0;
  const k = Math.min(n, Math.floor((0x1000 - sLow) / size), Math.floor((0x1000 - dLow) / size));
  if (k <= 0) return 0;
  const so = cpu.tlb.off[si]! + sLow;
  const dO = cpu.tlb.off[di]! + dLow;
  const bytes = k * size;
  // An overlapping forward copy must behave element by element: each element is read whole
  // (after the writes of the elements before it) and then written; memmove semantics differ.
  if (dO > so && dO < so + bytes) {
    for (let e = 0; e < bytes; e += size) cpu.u8.copyWithin(dO + e, so + e, so + e + size);
  } else {
    cpu.u8.copyWithin(dO, so, so + bytes);
  }
  return k;
}

/** STOS: [rDI] = rAX. */
export function stos(cpu: Cpu, i: Instr): void {
  if (repNone(cpu, i)) return;
  const size = i.osize;
  const step = (cpu.flags & DF) !== 0 ? -size : size;
  const v = cpu.R[0]!;
  const vH = cpu.H[0]!;
  let n = count(cpu, i);
  let di = getIdx(cpu, 7, i.asize);
  let budget = CHUNK;
  while (n > 0 && budget > 0) {
    const d = dstLin(cpu, di);
    wr(cpu, size, d, v, vH);
    di = wrap(i.asize, di + step);
    n--;
    budget--;
    if (n > 1 && step > 0 && i.asize === 8) {
      const k = bulkFill(cpu, dstLin(cpu, di), size, n, v, vH);
      di += k * size;
      n -= k;
    }
  }
  setIdx(cpu, 7, i.asize, di);
  finish(cpu, i, n);
}

function bulkFill(cpu: Cpu, d: number, size: number, n: number, v: number, vH: number): number {
  const di = (d >>> 12) & TLB_MASK;
  const dLow = d & 0xfff;
  if (cpu.tagW[di] !== d - dLow) return 0;
  const k = Math.min(n, Math.floor((0x1000 - dLow) / size));
  if (k <= 0) return 0;
  const o = cpu.tlb.off[di]! + dLow;
  const dv = cpu.dv;
  if (size === 1) cpu.u8.fill(v & 0xff, o, o + k);
  else if (size === 8 && v === 0 && vH === 0) cpu.u8.fill(0, o, o + 8 * k);
  else {
    for (let e = 0; e < k; e++) {
      const p = o + e * size;
      if (size === 2) dv.setUint16(p, v, true);
      else if (size === 4) dv.setInt32(p, v, true);
      else {
        dv.setInt32(p, v, true);
        dv.setInt32(p + 4, vH, true);
      }
    }
  }
  return k;
}

/** LODS: rAX = [rSI]. */
export function lods(cpu: Cpu, i: Instr): void {
  if (repNone(cpu, i)) return;
  const size = i.osize;
  const step = (cpu.flags & DF) !== 0 ? -size : size;
  let n = count(cpu, i);
  let si = getIdx(cpu, 6, i.asize);
  let budget = CHUNK;
  while (n > 0 && budget > 0) {
    const v = rd(cpu, size, srcLin(cpu, i, si));
    if (size === 8) {
      cpu.R[0] = v;
      cpu.H[0] = cpu.hi;
    } else if (size === 4) cpu.set32(0, v);
    else if (size === 2) cpu.set16(0, v);
    else cpu.set8(0, false, v);
    si = wrap(i.asize, si + step);
    n--;
    budget--;
  }
  setIdx(cpu, 6, i.asize, si);
  finish(cpu, i, n);
}

/** CMPS (sub 0) and SCAS (sub 1), with REPE/REPNE termination on ZF. */
export function cmpsScas(cpu: Cpu, i: Instr): void {
  if (repNone(cpu, i)) return;
  const size = i.osize;
  const step = (cpu.flags & DF) !== 0 ? -size : size;
  const scas = i.sub === 1;
  let n = count(cpu, i);
  let si = getIdx(cpu, 6, i.asize);
  let di = getIdx(cpu, 7, i.asize);
  let budget = CHUNK;
  const mask = size === 1 ? 0xff : size === 2 ? 0xffff : -1;
  while (n > 0 && budget > 0) {
    let a: number;
    let aH = 0;
    if (scas) {
      a = cpu.R[0]! & mask;
      aH = cpu.H[0]!;
    } else {
      a = rd(cpu, size, srcLin(cpu, i, si));
      aH = cpu.hi;
      si = wrap(i.asize, si + step);
    }
    const b = rd(cpu, size, dstLin(cpu, di));
    const bH = cpu.hi;
    di = wrap(i.asize, di + step);
    cmpFlags(cpu, size, a, aH, b, bH);
    n--;
    budget--;
    if (i.rep === 1 && !cpu.getZF()) break;
    if (i.rep === 2 && cpu.getZF()) break;
  }
  if (!scas) setIdx(cpu, 6, i.asize, si);
  setIdx(cpu, 7, i.asize, di);
  const stoppedOnFlag = i.rep !== 0 && n > 0 && budget > 0;
  if (i.rep !== 0) setIdx(cpu, 1, i.asize, n);
  cpu.rip = n === 0 || i.rep === 0 || stoppedOnFlag ? i.next : i.rip;
}

/** INS (sub 0): [rDI] = port DX; OUTS (sub 1): port DX = [rSI]. */
export function insOuts(cpu: Cpu, i: Instr): void {
  const size = i.osize as AccessSize;
  const port = cpu.R[2]! & 0xffff;
  checkIoPermission(cpu, port, size);
  if (repNone(cpu, i)) return;
  const step = (cpu.flags & DF) !== 0 ? -size : size;
  let n = count(cpu, i);
  let budget = CHUNK;
  if (i.sub === 0) {
    let di = getIdx(cpu, 7, i.asize);
    while (n > 0 && budget > 0) {
      const d = dstLin(cpu, di);
      if (i.osize !== 1) cpu.checkWritable(d, size);
      wr(cpu, size, d, cpu.pio.read(port, size), 0);
      di = wrap(i.asize, di + step);
      n--;
      budget--;
    }
    setIdx(cpu, 7, i.asize, di);
  } else {
    let si = getIdx(cpu, 6, i.asize);
    while (n > 0 && budget > 0) {
      const v = rd(cpu, size, srcLin(cpu, i, si));
      cpu.pio.write(port, size, size === 4 ? v >>> 0 : v);
      si = wrap(i.asize, si + step);
      n--;
      budget--;
    }
    setIdx(cpu, 6, i.asize, si);
  }
  finish(cpu, i, n);
}
