/**
 * A decoded instruction. The decoder fills one Instr per instruction and
 * picks `fn`, the handler specialised for its operand form; the executor
 * calls `fn(cpu, instr)`.
 *
 * DEVNOTE: every field is initialised in the constructor so all Instr
 * objects share one hidden class and property reads stay monomorphic.
 * Linear addresses (rip, next, target, disp after RIP-relative folding)
 * are signed doubles: canonical 64-bit addresses fit exactly.
 */
import type { Cpu } from './cpu.js';

/** Executes one decoded instruction. */
export type Handler = (cpu: Cpu, i: Instr) => void;

/** Computes a memory operand's linear address. */
export type EaFn = (cpu: Cpu, i: Instr) => number;

/** Segment register numbers, in encoding order. */
export const SEG = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5 } as const;

/** One decoded instruction. */
export class Instr {
  fn: Handler;
  /** Linear address of the first byte. */
  rip = 0;
  /** Linear address of the next instruction. */
  next = 0;
  len = 0;
  /** Operand size in bytes: 1, 2, 4 or 8. */
  osize = 4;
  /** Address size in bytes: 2, 4 or 8. */
  asize = 8;
  /** ModRM.reg (with REX.R), or the register encoded in the opcode. */
  reg = 0;
  /** ModRM.rm register (with REX.B) when the operand is a register. */
  rm = 0;
  /** 8-bit register operands: true when reg/rm name AH, CH, DH or BH. */
  regHi = false;
  rmHi = false;
  /** The E operand is memory. */
  mem = false;
  base = -1;
  index = -1;
  scale = 0;
  disp = 0;
  /** Segment of the memory operand (default or override). */
  seg = 3;
  /** True when a segment override prefix was given. */
  segOverride = false;
  ea: EaFn;
  /** Addressing form for `ea` (see EA_KIND in ea.ts). */
  eaKind = 0;
  /** Immediate (low 32 bits, sign-extended where the encoding says so). */
  imm = 0;
  /** High 32 bits of a 64-bit immediate (sign extension of imm otherwise). */
  immHi = 0;
  /** Second immediate (enter's nesting level, a far pointer's selector). */
  imm2 = 0;
  /** Branch target (linear) of relative jumps and calls. */
  target = 0;
  /** 0 none, 1 rep/repe (F3), 2 repne (F2). */
  rep = 0;
  lock = false;
  /** REX prefix present (8-bit register naming). */
  rex = false;
  /** Opcode (0x0F-prefixed ones are 0x100 + byte, 0F38 0x200 +, 0F3A 0x300 +). */
  op = 0;
  /** ModRM.reg field without REX (the /digit of group opcodes). */
  ext = 0;
  /** Operation selector within a handler family (ALU op, shift kind, condition code...). */
  sub = 0;
  /** Mandatory prefix for SSE: 0 none, 0x66, 0xF3, 0xF2. */
  pfx = 0;
  /** The instruction ends a block (branches, mode changes, I/O, HLT...). */
  ends = false;
  /**
   * Where the next instruction decoded into the same block starts (NaN for
   * the last one). A direct branch may be followed by its target or its
   * fall-through; when RIP after the handler differs, the block is left.
   */
  cont = NaN;

  constructor(fn: Handler, ea: EaFn) {
    this.fn = fn;
    this.ea = ea;
  }
}
