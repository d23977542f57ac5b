/**
 * Backend-neutral vCPU register state. 64-bit values are bigints: these
 * objects cross the API (get/set registers, snapshots, inspect), never the
 * instruction hot path.
 */

/** General-purpose registers, RIP and RFLAGS. */
export interface Registers {
  rax: bigint;
  rbx: bigint;
  rcx: bigint;
  rdx: bigint;
  rsi: bigint;
  rdi: bigint;
  rsp: bigint;
  rbp: bigint;
  r8: bigint;
  r9: bigint;
  r10: bigint;
  r11: bigint;
  r12: bigint;
  r13: bigint;
  r14: bigint;
  r15: bigint;
  rip: bigint;
  rflags: bigint;
}

/** The GPR names in encoding order (0 = rax ... 15 = r15). */
export const GPR_NAMES = [
  'rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
] as const;

/** A segment register with its hidden descriptor cache, as KVM's kvm_segment. */
export interface Segment {
  base: bigint;
  limit: number;
  selector: number;
  /** Descriptor type field (4 bits). */
  type: number;
  present: boolean;
  dpl: number;
  /** D/B bit: default operation size 32-bit. */
  db: boolean;
  /** S bit: code/data (true) or system (false). */
  s: boolean;
  /** L bit: 64-bit code segment. */
  l: boolean;
  /** Granularity: limit in 4 KiB units. */
  g: boolean;
  avl: boolean;
  unusable: boolean;
}

/** GDTR/IDTR. */
export interface DescriptorTable {
  base: bigint;
  limit: number;
}

/** Segments, descriptor tables, control registers, EFER and the APIC base. */
export interface SpecialRegisters {
  cs: Segment;
  ds: Segment;
  es: Segment;
  fs: Segment;
  gs: Segment;
  ss: Segment;
  tr: Segment;
  ldt: Segment;
  gdt: DescriptorTable;
  idt: DescriptorTable;
  cr0: bigint;
  cr2: bigint;
  cr3: bigint;
  cr4: bigint;
  cr8: bigint;
  efer: bigint;
  apicBase: bigint;
}

/** RFLAGS bits. */
export const RFLAGS = {
  CF: 1 << 0,
  FIXED1: 1 << 1,
  PF: 1 << 2,
  AF: 1 << 4,
  ZF: 1 << 6,
  SF: 1 << 7,
  TF: 1 << 8,
  IF: 1 << 9,
  DF: 1 << 10,
  OF: 1 << 11,
  IOPL: 3 << 12,
  NT: 1 << 14,
  RF: 1 << 16,
  VM: 1 << 17,
  AC: 1 << 18,
  VIF: 1 << 19,
  VIP: 1 << 20,
  ID: 1 << 21,
} as const;

/** CR0 bits. */
export const CR0 = {
  PE: 1 << 0, MP: 1 << 1, EM: 1 << 2, TS: 1 << 3, ET: 1 << 4, NE: 1 << 5,
  WP: 1 << 16, AM: 1 << 18, NW: 1 << 29, CD: 1 << 30, PG: 1 << 31,
} as const;

/** CR4 bits. */
export const CR4 = {
  VME: 1 << 0, PVI: 1 << 1, TSD: 1 << 2, DE: 1 << 3, PSE: 1 << 4, PAE: 1 << 5,
  MCE: 1 << 6, PGE: 1 << 7, PCE: 1 << 8, OSFXSR: 1 << 9, OSXMMEXCPT: 1 << 10,
  UMIP: 1 << 11, LA57: 1 << 12, FSGSBASE: 1 << 16, PCIDE: 1 << 17, OSXSAVE: 1 << 18,
  SMEP: 1 << 20, SMAP: 1 << 21,
} as const;

/** EFER bits. */
export const EFER = { SCE: 1 << 0, LME: 1 << 8, LMA: 1 << 10, NXE: 1 << 11 } as const;

/** All registers zero, RFLAGS = 2 (its fixed bit). */
export function zeroRegisters(): Registers {
  return {
    rax: 0n, rbx: 0n, rcx: 0n, rdx: 0n, rsi: 0n, rdi: 0n, rsp: 0n, rbp: 0n,
    r8: 0n, r9: 0n, r10: 0n, r11: 0n, r12: 0n, r13: 0n, r14: 0n, r15: 0n,
    rip: 0n, rflags: 2n,
  };
}

/** A flat segment: base 0, limit 4 GiB, with the given selector and type. */
export function flatSegment(selector: number, type: number, opts: Partial<Segment> = {}): Segment {
  return {
    base: 0n, limit: 0xffffffff, selector, type, present: true, dpl: 0,
    db: true, s: true, l: false, g: true, avl: false, unusable: false, ...opts,
  };
}

/** The x86 power-on state of the special registers (real mode, CS:IP = F000:FFF0). */
export function resetSpecialRegisters(): SpecialRegisters {
  const data = (): Segment => ({
    base: 0n, limit: 0xffff, selector: 0, type: 3, present: true, dpl: 0,
    db: false, s: true, l: false, g: false, avl: false, unusable: false,
  });
  return {
    cs: { ...data(), selector: 0xf000, base: 0xffff0000n, type: 11 },
    ds: data(), es: data(), fs: data(), gs: data(), ss: data(),
    tr: { ...data(), type: 11, s: false },
    ldt: { ...data(), type: 2, s: false },
    gdt: { base: 0n, limit: 0xffff },
    idt: { base: 0n, limit: 0xffff },
    cr0: 0x60000010n, cr2: 0n, cr3: 0n, cr4: 0n, cr8: 0n, efer: 0n,
    apicBase: 0xfee00900n,
  };
}
