/**
 * Port I/O: IN and OUT (immediate and DX forms), with the protected-mode
 * permission check (CPL <= IOPL, else the TSS I/O bitmap).
 */
import type { AccessSize } from '../bus/device.js';
import { type Cpu, TR } from './cpu.js';
import { gp } from './fault.js';
import type { Instr } from './instr.js';

/** Raises #GP(0) unless the current privilege may access `size` ports at `port`. */
export function checkIoPermission(cpu: Cpu, port: number, size: number): void {
  if (cpu.realMode) return;
  const iopl = (cpu.flags >> 12) & 3;
  if (cpu.cpl <= iopl) return;
  // The TSS I/O permission bitmap: every bit for the accessed ports must be clear.
  const base = cpu.segBase[TR]!;
  const limit = cpu.segLimit[TR]!;
  if (limit < 0x67) throw gp(0);
  const mapOff = cpu.sysRead32(base + 0x64) >>> 16;
  const byte = mapOff + (port >>> 3);
  if (byte + 1 > limit) throw gp(0);
  const bits = cpu.sysRead32(base + byte) & 0xffff;
  const mask = ((1 << size) - 1) << (port & 7);
  if ((bits & mask) !== 0) throw gp(0);
}

/** IN AL/AX/EAX, imm8 (E4/E5; sub 0) or DX (EC/ED; sub 1). */
export function inOp(cpu: Cpu, i: Instr): void {
  const port = i.sub === 0 ? i.imm & 0xff : cpu.R[2]! & 0xffff;
  const size = (i.osize === 8 ? 4 : i.osize) as AccessSize;
  checkIoPermission(cpu, port, size);
  const v = cpu.pio.read(port, size);
  if (size === 4) cpu.set32(0, v | 0);
  else if (size === 2) cpu.set16(0, v);
  else cpu.set8(0, false, v);
  cpu.rip = i.next;
}

/** OUT imm8 (E6/E7; sub 0) or DX (EE/EF; sub 1), AL/AX/EAX. */
export function outOp(cpu: Cpu, i: Instr): void {
  const port = i.sub === 0 ? i.imm & 0xff : cpu.R[2]! & 0xffff;
  const size = (i.osize === 8 ? 4 : i.osize) as AccessSize;
  checkIoPermission(cpu, port, size);
  const a = cpu.R[0]!;
  cpu.pio.write(port, size, size === 4 ? a >>> 0 : size === 2 ? a & 0xffff : a & 0xff);
  cpu.rip = i.next;
}
