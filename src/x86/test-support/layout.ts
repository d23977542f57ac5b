/**
 * The address layout, case and result shapes shared by the two sides of the
 * differential tests (the host CPU through a C harness, and the emulator).
 * Both sides map the same linear addresses, so RIP-relative operands,
 * branch targets and pointers in registers mean the same thing on each.
 */

/** Page holding the instruction under test (at CODE_IP) and its landing pads. */
export const CODE_PAGE = 0x100000;
/** Where the instruction under test starts. */
export const CODE_IP = CODE_PAGE + 0x800;
/** Three data pages, filled with a fixed pattern before every case. */
export const DATA_BASE = 0x110000;
/** Size of the data region. */
export const DATA_SIZE = 0x3000;
/** The 4 KiB buffer memory operands point into (the middle data page). */
export const BUF = 0x111000;
/** Two stack pages; RSP starts at STACK_TOP (their middle) unless a case says otherwise. */
export const STACK_BASE = 0x120000;
/** Size of the stack region. */
export const STACK_SIZE = 0x2000;
/** Initial RSP. */
export const STACK_TOP = 0x121000;

/** Arithmetic flags plus DF: the RFLAGS bits the tests set and compare. */
export const TESTED_FLAGS = 0xcd5;

/** One instruction to run on both sides. */
export interface DiffCase {
  /** Label used in failure messages (mnemonic and form). */
  readonly name: string;
  /** The instruction bytes, placed at CODE_IP. */
  readonly code: Uint8Array;
  /** Offset from CODE_IP of a second landing pad (branch target), if any. */
  readonly target?: number;
  /** RAX..R15 as unsigned 64-bit values. */
  readonly regs: bigint[];
  /** Initial RFLAGS (arithmetic bits and DF only). */
  flags: number;
  /** Bytes stored over the data/stack pattern before the run. */
  readonly patches?: ReadonlyArray<{ readonly addr: number; readonly bytes: Uint8Array }>;
  /** RFLAGS bits compared afterwards (the others are undefined for this case). */
  readonly flagMask: number;
  /** Registers whose final value is architecturally undefined for this case. */
  readonly undefRegs?: readonly number[];
}

/** What one side observed after running a case. */
export interface DiffResult {
  regs: bigint[];
  flags: number;
  /** 'next' (fell through), 'target' (branched), 'fault' or 'lost' (never reached a pad). */
  land: 'next' | 'target' | 'fault' | 'lost';
  /** For faults: the POSIX signal the fault maps to (SIGFPE 8, SIGSEGV 11, SIGILL 4, SIGBUS 7, SIGTRAP 5). */
  sig: number;
  /** For faults: RIP of the faulting instruction. */
  faultRip: number;
  /** Bytes of the data and stack regions that differ from their initial contents, as "addr=val" hex. */
  mem: string[];
}

/** Signal the Linux kernel raises for an exception vector in user mode. */
export function vectorSignal(vector: number): number {
  switch (vector) {
    case 0: return 8; // #DE -> SIGFPE
    case 3: case 1: return 5; // #BP, #DB -> SIGTRAP
    case 6: return 4; // #UD -> SIGILL
    case 17: return 7; // #AC -> SIGBUS
    default: return 11; // #GP, #SS, #PF -> SIGSEGV
  }
}

/** The initial contents of the data and stack regions (xorshift32; the C harness uses the same generator). */
export function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Pattern seed of the data region. */
export const DATA_SEED = 0x12345678;
/** Pattern seed of the stack region. */
export const STACK_SEED = 0x9abcdef1;
