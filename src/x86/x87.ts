/**
 * x87 floating point (D8-DF). Chooses the handler for an escape opcode;
 * null means #UD.
 */
import type { Handler, Instr } from './instr.js';

/** The handler for an x87 escape instruction, or null for #UD. */
export function x87Handler(_i: Instr): Handler | null {
  return null;
}
