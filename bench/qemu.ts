/**
 * QEMU as the baseline the benchmarks measure in the same run: locating
 * the binary and the common arguments (microvm, the same kernel, initramfs
 * and command line as tsvmm's default guest, console on stdio). Under TCG
 * the guest needs tsc_early_khz or it hangs on some boots (emulator.md).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** The default guest's files, as ensureDefaultGuest returns them. */
export interface GuestFiles {
  readonly kernel: string;
  readonly initrd: string;
  readonly cmdline: string;
}

/** Path of qemu-system-x86_64, or null when it is not installed. */
export function qemuBinary(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v qemu-system-x86_64'], { stdio: 'pipe' }).toString().trim() || null;
  } catch {
    return null;
  }
}

/** The host's TSC frequency in kHz (from /proc/cpuinfo). */
export function hostTscKhz(): number {
  const mhz = readFileSync('/proc/cpuinfo', 'utf8').match(/cpu MHz\s*:\s*([\d.]+)/);
  return mhz ? Math.round(Number(mhz[1]) * 1000) : Math.round((cpus()[0]?.speed ?? 2000) * 1000);
}

/** QEMU arguments for a 256 MiB microvm running the default guest under TCG, RAM on a memfd. */
export function qemuCommonArgs(guest: GuestFiles, memory = '256M'): string[] {
  return [
    '-M', 'microvm,rtc=on,pcie=on,memory-backend=mem', '-object', `memory-backend-memfd,id=mem,size=${memory}`, '-m', memory,
    '-accel', 'tcg', '-kernel', guest.kernel, '-initrd', guest.initrd,
    '-append', `${guest.cmdline} tsc_early_khz=${hostTscKhz()}`,
    '-nographic', '-no-reboot', '-serial', 'stdio', '-monitor', 'none', '-display', 'none',
  ];
}
