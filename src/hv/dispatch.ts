/**
 * Serves a vCPU's I/O and MMIO exits from the machine's buses. The same
 * function runs for every backend: on the device thread for the emulator,
 * and behind the mailbox for KVM vCPU workers.
 */
import type { AccessSize } from '../bus/device.js';
import { ExitReason, type VcpuExit } from './partition.js';

/** The part of an IoBus the dispatcher needs (a mailbox proxy provides the same). */
export interface BusPort {
  read(addr: number, size: AccessSize): number;
  write(addr: number, size: AccessSize, value: number): void;
}

/** Port and memory-mapped I/O spaces. */
export interface Buses {
  readonly pio: BusPort;
  readonly mmio: BusPort;
}

/**
 * Completes an Io or Mmio exit against `buses` (reads leave their result in
 * exit.data). Returns false for any other exit reason, which the caller
 * handles.
 */
export function dispatchIoExit(exit: VcpuExit, buses: Buses): boolean {
  if (exit.reason === ExitReason.Io) {
    const size = exit.size as AccessSize;
    const { pio } = buses;
    const data = exit.data;
    const n = Math.min(exit.count, data.length);
    if (exit.write) for (let i = 0; i < n; i++) pio.write(exit.port, size, data[i]!);
    else for (let i = 0; i < n; i++) data[i] = pio.read(exit.port, size);
    return true;
  }
  if (exit.reason === ExitReason.Mmio) {
    const { mmio } = buses;
    const data = exit.data;
    if (exit.size === 8) {
      // DESIGN.md: 8-byte MMIO is two 4-byte accesses, low half first.
      if (exit.write) {
        mmio.write(exit.gpa, 4, data[0]!);
        mmio.write(exit.gpa + 4, 4, data[1]!);
      } else {
        data[0] = mmio.read(exit.gpa, 4);
        data[1] = mmio.read(exit.gpa + 4, 4);
      }
    } else if (exit.write) {
      mmio.write(exit.gpa, exit.size, data[0]!);
    } else {
      data[0] = mmio.read(exit.gpa, exit.size);
    }
    return true;
  }
  return false;
}
