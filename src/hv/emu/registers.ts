/**
 * Converts between the backend-neutral register shapes of hv/registers.ts
 * (bigints, off the hot path) and the software CPU's 32-bit halves.
 */
import type { Registers, Segment, SpecialRegisters } from '../registers.js';
import { GPR_NAMES } from '../registers.js';
import { ATTR, type Cpu } from '../../x86/cpu.js';

const TWO64 = 1n << 64n;

function toSigned(v: bigint): number {
  // A canonical address or any 64-bit value as a signed double (exact below 2^53).
  return Number(BigInt.asIntN(64, v));
}

function fromNumber(v: number): bigint {
  const b = BigInt(Math.trunc(v));
  return b < 0n ? b + TWO64 : b;
}

/** Copies general registers, RIP and RFLAGS into the CPU. */
export function setCpuRegisters(cpu: Cpu, regs: Registers): void {
  GPR_NAMES.forEach((name, r) => {
    const v = BigInt.asUintN(64, regs[name]);
    cpu.R[r] = Number(v & 0xffffffffn) | 0;
    cpu.H[r] = Number(v >> 32n) | 0;
  });
  cpu.rip = toSigned(regs.rip);
  cpu.fOp = 0;
  cpu.flags = (Number(regs.rflags & 0xffffffffn) | 2) & ~(0x8 | 0x20 | 0x8000);
}

/** Reads general registers, RIP and RFLAGS from the CPU. */
export function getCpuRegisters(cpu: Cpu): Registers {
  const out = {} as Registers;
  GPR_NAMES.forEach((name, r) => {
    out[name] = (BigInt(cpu.H[r]! >>> 0) << 32n) | BigInt(cpu.R[r]! >>> 0);
  });
  out.rip = fromNumber(cpu.rip);
  out.rflags = BigInt(cpu.getFlags() >>> 0);
  return out;
}

function segAttr(s: Segment): number {
  return (
    (s.type & 0xf) | (s.s ? ATTR.S : 0) | ((s.dpl & 3) << ATTR.DPL_SHIFT) | (s.present ? ATTR.P : 0) |
    (s.avl ? ATTR.AVL : 0) | (s.l ? ATTR.L : 0) | (s.db ? ATTR.DB : 0) | (s.g ? ATTR.G : 0) | (s.unusable ? ATTR.UNUSABLE : 0)
  );
}

function segFromCpu(cpu: Cpu, i: number): Segment {
  const a = cpu.segAttr[i]!;
  return {
    base: fromNumber(cpu.segBase[i]!),
    limit: cpu.segLimit[i]! >>> 0,
    selector: cpu.segSel[i]!,
    type: a & 0xf,
    present: (a & ATTR.P) !== 0,
    dpl: (a >> ATTR.DPL_SHIFT) & 3,
    db: (a & ATTR.DB) !== 0,
    s: (a & ATTR.S) !== 0,
    l: (a & ATTR.L) !== 0,
    g: (a & ATTR.G) !== 0,
    avl: (a & ATTR.AVL) !== 0,
    unusable: (a & ATTR.UNUSABLE) !== 0,
  };
}

const SEG_ORDER = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldt', 'tr'] as const;

/** Copies segments, descriptor tables, control registers and EFER into the CPU. */
export function setCpuSpecialRegisters(cpu: Cpu, s: SpecialRegisters): void {
  SEG_ORDER.forEach((name, i) => {
    const seg = s[name];
    cpu.segSel[i] = seg.selector;
    cpu.segBase[i] = toSigned(seg.base);
    cpu.segLimit[i] = seg.limit >>> 0;
    cpu.segAttr[i] = segAttr(seg);
  });
  cpu.gdtBase = toSigned(s.gdt.base);
  cpu.gdtLimit = s.gdt.limit;
  cpu.idtBase = toSigned(s.idt.base);
  cpu.idtLimit = s.idt.limit;
  cpu.cr0 = Number(s.cr0 & 0xffffffffn) | 0;
  cpu.cr2 = toSigned(s.cr2);
  cpu.cr3 = Number(s.cr3);
  cpu.cr4 = Number(s.cr4 & 0xffffffffn);
  cpu.cr8 = Number(s.cr8 & 0xfn);
  cpu.efer = Number(s.efer & 0xffffffffn);
  cpu.updateMode();
  cpu.setCpl(cpu.realMode ? 0 : cpu.segSel[1]! & 3);
  cpu.tlb.flush(false);
}

/** Reads segments, descriptor tables, control registers and EFER from the CPU. */
export function getCpuSpecialRegisters(cpu: Cpu): SpecialRegisters {
  const segs = Object.fromEntries(SEG_ORDER.map((name, i) => [name, segFromCpu(cpu, i)])) as Record<(typeof SEG_ORDER)[number], Segment>;
  return {
    ...segs,
    gdt: { base: fromNumber(cpu.gdtBase), limit: cpu.gdtLimit },
    idt: { base: fromNumber(cpu.idtBase), limit: cpu.idtLimit },
    cr0: BigInt(cpu.cr0 >>> 0),
    cr2: fromNumber(cpu.cr2),
    cr3: BigInt(cpu.cr3),
    cr4: BigInt(cpu.cr4 >>> 0),
    cr8: BigInt(cpu.cr8),
    efer: BigInt(cpu.efer >>> 0),
    apicBase: 0xfee00900n,
  };
}
