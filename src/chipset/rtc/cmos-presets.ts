/**
 * CMOS bytes that firmware reads for the memory size and CPU count, filled
 * as QEMU fills them for SeaBIOS. Linux booted directly does not read them;
 * they matter when firmware (SeaBIOS, a bootloader) runs first.
 */
import { CMOS_BASE_MEM, CMOS_CPU_COUNT, CMOS_EXT_MEM, CMOS_EXT_MEM_POST, CMOS_MEM_ABOVE_16M, CMOS_MEM_ABOVE_4G } from './regs.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * CMOS presets for RtcConfig.cmos: base memory (640 KiB at 0x15/0x16),
 * extended memory 1..64 MiB in KiB (0x17/0x18 and 0x30/0x31), memory from
 * 16 MiB to the 32-bit hole in 64 KiB units (0x34/0x35), memory above 4 GiB
 * in 64 KiB units (0x5b..0x5d) and, when given, CPUs minus one (0x5f).
 */
export function cmosMemoryPresets(lowRamBytes: number, highRamBytes: number, cpus?: number): Record<number, number> {
  const out: Record<number, number> = {};
  const word = (off: number, v: number): void => {
    out[off] = v & 0xff;
    out[off + 1] = (v >> 8) & 0xff;
  };
  word(CMOS_BASE_MEM, 640);
  const ext = Math.min(0xffff, Math.max(0, Math.floor(lowRamBytes / KiB) - 1024));
  word(CMOS_EXT_MEM, ext);
  word(CMOS_EXT_MEM_POST, ext);
  const above16 = lowRamBytes > 16 * MiB ? Math.min(0xffff, Math.floor((lowRamBytes - 16 * MiB) / (64 * KiB))) : 0;
  word(CMOS_MEM_ABOVE_16M, above16);
  const high = Math.min(0xffffff, Math.floor(highRamBytes / (64 * KiB)));
  out[CMOS_MEM_ABOVE_4G] = high & 0xff;
  out[CMOS_MEM_ABOVE_4G + 1] = (high >> 8) & 0xff;
  out[CMOS_MEM_ABOVE_4G + 2] = (high >> 16) & 0xff;
  if (cpus !== undefined) out[CMOS_CPU_COUNT] = Math.max(0, Math.min(255, cpus - 1));
  return out;
}
