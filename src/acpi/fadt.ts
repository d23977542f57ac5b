/**
 * The FADT (Fixed ACPI Description Table, 5.2.9) of a hardware-reduced
 * machine: no PM1/PM2/GPE blocks, no SMI command port, no SCI and no FACS.
 * Sleep is the SLEEP_CONTROL_REG/SLEEP_STATUS_REG pair and reboot the
 * RESET_REG, all of them port registers of the acpi-pm device.
 *
 * Spec: https://uefi.org/specs/ACPI/6.5/05_ACPI_Software_Programming_Model.html#fixed-acpi-description-table-fadt
 */
import { type Gas, ioByteGas, newTable, putAscii, putGas, seal } from './sdt.js';

/**
 * Where the hardware-reduced sleep and reset registers are and the values
 * they expect. The FADT points at the registers; the DSDT's \_S5_ package
 * carries `s5SleepType`, so both come from this one object.
 */
export interface AcpiPmRegisters {
  /** Port of SLEEP_CONTROL_REG (byte: SLP_TYP in bits 4:2, SLP_EN bit 5). */
  readonly sleepControlPort: number;
  /** Port of SLEEP_STATUS_REG (byte: WAK_STS bit 7). */
  readonly sleepStatusPort: number;
  /** Port of RESET_REG (byte). */
  readonly resetPort: number;
  /** What the OS writes to RESET_REG to reset the machine. */
  readonly resetValue: number;
  /** SLP_TYP for S5 (soft off), as \_S5_ reports it. */
  readonly s5SleepType: number;
}

/**
 * IA-PC boot architecture flags (5.2.9.3). Everything defaults to absent:
 * a flag claiming a device the machine lacks makes Linux probe ports that
 * read all-ones, so the machine builder sets what it actually has.
 */
export interface BootArchitecture {
  /** An i8042 keyboard controller is present (clear: Linux skips probing it). */
  readonly i8042?: boolean;
  /** A CMOS RTC at ports 0x70/0x71 is present (clear: sets CMOS RTC Not Present). */
  readonly cmosRtc?: boolean;
  /** VGA is present (clear: sets VGA Not Present). */
  readonly vga?: boolean;
  /** CMOS index of the RTC's century register (FADT CENTURY, e.g. 0x32); Linux's rtc-cmos reads it. */
  readonly century?: number;
}

/** FADT field offsets and flag bits used here (ACPI 6.5 Table 5.9). */
export const FADT = {
  SIZE: 276,
  REVISION: 6,
  MINOR_REVISION: 3,
  X_DSDT: 140,
  FLAGS: 112,
  CENTURY: 108,
  IAPC_BOOT_ARCH: 109,
  RESET_REG: 116,
  RESET_VALUE: 128,
  MINOR_VERSION: 131,
  SLEEP_CONTROL_REG: 244,
  SLEEP_STATUS_REG: 256,
  HYPERVISOR_VENDOR: 268,
  FLAG_WBINVD: 1 << 0,
  FLAG_PROC_C1: 1 << 2,
  FLAG_PWR_BUTTON: 1 << 4,
  FLAG_SLP_BUTTON: 1 << 5,
  FLAG_RESET_REG_SUP: 1 << 10,
  FLAG_HW_REDUCED_ACPI: 1 << 20,
  BOOT_8042: 1 << 1,
  BOOT_VGA_NOT_PRESENT: 1 << 2,
  BOOT_CMOS_RTC_NOT_PRESENT: 1 << 5,
} as const;

/** Options of the FADT. */
export interface FadtOptions {
  /** Guest-physical address of the DSDT. */
  readonly dsdt: number;
  readonly pm: AcpiPmRegisters;
  readonly boot?: BootArchitecture;
}

/** The 8-byte Hypervisor Vendor Identity (ACPI 6.3+), space-padded. */
export const HYPERVISOR_VENDOR = 'TSVMM   ';

/**
 * Builds a revision 6.3 FADT. Only X_DSDT is set: a nonzero 32-bit DSDT
 * field that disagreed with it would make ACPICA warn, and every OS reading
 * a revision 6 FADT uses the 64-bit field.
 */
export function fadt(options: FadtOptions): Uint8Array {
  const { bytes, view } = newTable('FACP', FADT.REVISION, FADT.SIZE);
  const flags =
    FADT.FLAG_WBINVD |
    FADT.FLAG_PROC_C1 |
    // The power button is a control-method device (PNP0C0C behind the GED),
    // and there is no sleep button: both "fixed feature" flags say "not fixed".
    FADT.FLAG_PWR_BUTTON |
    FADT.FLAG_SLP_BUTTON |
    FADT.FLAG_RESET_REG_SUP |
    FADT.FLAG_HW_REDUCED_ACPI;
  view.setUint32(FADT.FLAGS, flags, true);
  const boot = options.boot ?? {};
  const bootArch =
    (boot.i8042 ? FADT.BOOT_8042 : 0) |
    (boot.vga ? 0 : FADT.BOOT_VGA_NOT_PRESENT) |
    (boot.cmosRtc ? 0 : FADT.BOOT_CMOS_RTC_NOT_PRESENT);
  view.setUint16(FADT.IAPC_BOOT_ARCH, bootArch, true);
  if (boot.cmosRtc && boot.century !== undefined) view.setUint8(FADT.CENTURY, boot.century);
  // Linux's acpi_reboot() only uses an 8-bit reset register at bit offset 0.
  putGas(view, FADT.RESET_REG, ioByteGas(options.pm.resetPort));
  view.setUint8(FADT.RESET_VALUE, options.pm.resetValue);
  view.setUint8(FADT.MINOR_VERSION, FADT.MINOR_REVISION);
  view.setBigUint64(FADT.X_DSDT, BigInt(options.dsdt), true);
  putGas(view, FADT.SLEEP_CONTROL_REG, ioByteGas(options.pm.sleepControlPort));
  putGas(view, FADT.SLEEP_STATUS_REG, ioByteGas(options.pm.sleepStatusPort));
  putAscii(bytes, FADT.HYPERVISOR_VENDOR, HYPERVISOR_VENDOR);
  return seal(bytes);
}

/** Reads a GAS back out of a table (tests and inspect). */
export function readGas(view: DataView, offset: number): Gas {
  return {
    space: view.getUint8(offset) === 0 ? 'memory' : 'io',
    bitWidth: view.getUint8(offset + 1),
    bitOffset: view.getUint8(offset + 2),
    accessSize: view.getUint8(offset + 3) as Gas['accessSize'],
    address: Number(view.getBigUint64(offset + 4, true)),
  };
}
