/**
 * Lays out the ACPI tables of a hardware-reduced tsvmm machine in guest
 * memory: RSDP -> XSDT -> FADT (-> DSDT), MADT and, when asked, MCFG.
 *
 * Everything goes in the BIOS area 0xE0000-0xFFFFF, RSDP first on a
 * 16-byte boundary, so an OS that scans that area for "RSD PTR " finds it
 * as well as one handed the address by the loader
 * (boot_params.acpi_rsdp_addr, hvm_start_info.rsdp_paddr).
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import { pkg } from './aml.js';
import { name, scope } from './aml-ops.js';
import { type AcpiDevice, processorsAml } from './devices.js';
import { type AcpiPmRegisters, type BootArchitecture, FADT, fadt } from './fadt.js';
import { type IsaOverride, madt } from './madt.js';
import { type EcamWindow, HEADER_SIZE, RSDP_SIZE, dsdt, mcfg, rsdp, xsdt } from './sdt.js';

/** First byte of the area the tables live in. */
export const ACPI_AREA_START = 0xe_0000;
/** One past the last byte of that area. */
export const ACPI_AREA_END = 0x10_0000;

/** The machine's PCIe ECAM: segment 0, buses 0-255 at 0xE000_0000 (DESIGN.md). */
export const DEFAULT_ECAM: EcamWindow = { base: 0xe000_0000, segment: 0, startBus: 0, endBus: 255 };

/** What the tables describe. */
export interface AcpiTablesOptions {
  /** Number of vCPUs (1..254). */
  readonly cpus: number;
  /** DSDT contributions, placed in \_SB in this order. */
  readonly devices: readonly AcpiDevice[];
  /** The sleep/reset registers (from the acpi-pm device). */
  readonly pm: AcpiPmRegisters;
  /** Emit an MCFG: true for DEFAULT_ECAM, or a window. Absent or false: no MCFG. */
  readonly mcfg?: boolean | EcamWindow;
  /** Legacy devices the machine has (FADT IAPC_BOOT_ARCH); default none. */
  readonly boot?: BootArchitecture;
  /** MADT interrupt source overrides; default DEFAULT_ISA_OVERRIDES. */
  readonly isaOverrides?: readonly IsaOverride[];
  /** Add an ACPI0007 processor device per vCPU (default true). */
  readonly processorDevices?: boolean;
  /** Where to start laying out (16-byte aligned, inside the area); default ACPI_AREA_START. */
  readonly base?: number;
}

/** One table and where it goes. */
export interface PlacedTable {
  /** "RSD PTR " for the RSDP, else the 4-character signature. */
  readonly signature: string;
  readonly gpa: number;
  readonly bytes: Uint8Array;
}

/** The result of laying the tables out. */
export interface AcpiTablesLayout {
  /** Address of the RSDP, for the boot protocol. */
  readonly rsdp: number;
  /** Every table in address order, RSDP first. */
  readonly tables: readonly PlacedTable[];
  /** One past the last byte used. */
  readonly end: number;
}

const ALIGN = 16;
const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** The DSDT's AML: \_S5_ for the acpi-pm device, then \_SB with processors and the contributions. */
function dsdtBody(options: AcpiTablesOptions) {
  const sb = [
    ...(options.processorDevices === false ? [] : processorsAml(options.cpus)),
    ...options.devices.flatMap((d) => d.aml()),
  ];
  // \_S5_ = { SLP_TYP for the sleep control register, PM1b's (none), reserved, reserved }.
  return [name('\\_S5_', pkg([options.pm.s5SleepType, 0, 0, 0])), scope('\\_SB', sb)];
}

/** Builds every table and assigns addresses, without touching guest memory. */
export function layoutAcpiTables(options: AcpiTablesOptions): AcpiTablesLayout {
  const base = options.base ?? ACPI_AREA_START;
  if (base % ALIGN !== 0 || base < ACPI_AREA_START || base >= ACPI_AREA_END) {
    throw new RangeError(`ACPI tables: base 0x${base.toString(16)} is not 16-byte aligned inside 0xe0000-0xfffff`);
  }
  const dsdtBytes = dsdt(dsdtBody(options));
  const madtBytes = madt({ cpus: options.cpus, ...(options.isaOverrides ? { isaOverrides: options.isaOverrides } : {}) });
  const ecam = options.mcfg === true ? DEFAULT_ECAM : options.mcfg || undefined;
  const mcfgBytes = ecam ? mcfg([ecam]) : undefined;
  const pointed = 2 + (mcfgBytes ? 1 : 0);

  const rsdpAt = base;
  const xsdtAt = alignUp(rsdpAt + RSDP_SIZE);
  const fadtAt = alignUp(xsdtAt + HEADER_SIZE + 8 * pointed);
  const madtAt = alignUp(fadtAt + FADT.SIZE);
  const mcfgAt = alignUp(madtAt + madtBytes.length);
  const dsdtAt = alignUp(mcfgAt + (mcfgBytes?.length ?? 0));
  const end = dsdtAt + dsdtBytes.length;
  if (end > ACPI_AREA_END) {
    throw new RangeError(`ACPI tables need ${end - base} bytes from 0x${base.toString(16)}, past the end of 0xe0000-0xfffff`);
  }

  const fadtBytes = fadt({ dsdt: dsdtAt, pm: options.pm, ...(options.boot ? { boot: options.boot } : {}) });
  const entries = [fadtAt, madtAt, ...(mcfgBytes ? [mcfgAt] : [])];
  const tables: PlacedTable[] = [
    { signature: 'RSD PTR ', gpa: rsdpAt, bytes: rsdp(xsdtAt) },
    { signature: 'XSDT', gpa: xsdtAt, bytes: xsdt(entries) },
    { signature: 'FACP', gpa: fadtAt, bytes: fadtBytes },
    { signature: 'APIC', gpa: madtAt, bytes: madtBytes },
    ...(mcfgBytes ? [{ signature: 'MCFG', gpa: mcfgAt, bytes: mcfgBytes }] : []),
    { signature: 'DSDT', gpa: dsdtAt, bytes: dsdtBytes },
  ];
  return { rsdp: rsdpAt, tables, end };
}

/**
 * Writes the ACPI tables into guest RAM (zeroing the gaps between them)
 * and returns the RSDP's address for boot_params.acpi_rsdp_addr /
 * hvm_start_info.rsdp_paddr. The loader's memory map must mark
 * 0xE0000-0xFFFFF reserved so the OS does not reuse it.
 */
export function buildAcpiTables(memory: GuestMemory, options: AcpiTablesOptions): number {
  const layout = layoutAcpiTables(options);
  memory.fill(layout.rsdp, layout.end - layout.rsdp, 0);
  for (const t of layout.tables) memory.write(t.gpa, t.bytes);
  return layout.rsdp;
}
