/**
 * CPU exceptions. An instruction that faults throws a CpuFault; the run
 * loop catches it, rewinds RIP to the faulting instruction and delivers the
 * exception through the IDT (or escalates to #DF / triple fault).
 */

/** Exception vectors (Intel SDM vol. 3, table 6-1). */
export const Vec = {
  DE: 0, DB: 1, NMI: 2, BP: 3, OF: 4, BR: 5, UD: 6, NM: 7, DF: 8,
  TS: 10, NP: 11, SS: 12, GP: 13, PF: 14, MF: 16, AC: 17, MC: 18, XM: 19,
} as const;

/** Vectors that push an error code. */
export function hasErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17 || vector === 21;
}

/** An exception raised while executing an instruction. */
export class CpuFault {
  constructor(
    readonly vector: number,
    /** The error code, or -1 when the vector has none. */
    readonly errorCode: number = -1,
    /** For #PF: the faulting linear address (goes to CR2). */
    readonly address = 0,
  ) {}

  toString(): string {
    const names = Object.entries(Vec).find(([, v]) => v === this.vector)?.[0] ?? `vector ${this.vector}`;
    const ec = this.errorCode >= 0 ? ` (error code 0x${this.errorCode.toString(16)})` : '';
    return `#${names}${ec}`;
  }
}

/** Thrown for #GP(code). */
export function gp(code = 0): CpuFault {
  return new CpuFault(Vec.GP, code);
}

/** Thrown for #UD. */
export function ud(): CpuFault {
  return new CpuFault(Vec.UD);
}

/** Thrown for #SS(code). */
export function ss(code = 0): CpuFault {
  return new CpuFault(Vec.SS, code);
}

/** Thrown for #NP(code). */
export function np(code: number): CpuFault {
  return new CpuFault(Vec.NP, code);
}

/** Page-fault error code bits. */
export const PF = { P: 1, W: 2, U: 4, RSVD: 8, I: 16 } as const;
