/**
 * Handlers for encodings the CPU does not implement. An unimplemented
 * instruction raises #UD in the guest, as a CPU without it would; the CPU's
 * onInvalidOpcode hook logs it once with its bytes.
 */
import type { Cpu } from './cpu.js';
import { ud } from './fault.js';
import type { Instr } from './instr.js';

/** The handler of every undefined or unimplemented encoding. */
export function invalidOpcode(cpu: Cpu, i: Instr): void {
  cpu.onInvalidOpcode(i);
  throw ud();
}
