/**
 * The MADT (Multiple APIC Description Table, 5.2.12): one Processor Local
 * APIC per vCPU, the IOAPIC, and the ISA interrupt source overrides.
 *
 * DEVNOTE: PCAT_COMPAT is clear. The machine is hardware-reduced and has no
 * 8259 pair the OS must mask before using the IOAPIC (Linux installs its
 * null legacy PIC on HW_REDUCED_ACPI machines anyway); claiming one would
 * invite an OS to program PIC ports as if they were there. The emulator's
 * 8259 model exists for guests that do not use ACPI.
 *
 * Spec: https://uefi.org/specs/ACPI/6.5/05_ACPI_Software_Programming_Model.html#multiple-apic-description-table-madt
 */
import { HEADER_SIZE, newTable, seal } from './sdt.js';

/** Default physical address of every local APIC. */
export const LAPIC_ADDRESS = 0xfee0_0000;
/** Physical address of the IOAPIC. */
export const IOAPIC_ADDRESS = 0xfec0_0000;
/** MADT structure types used here. */
export const MadtType = { LocalApic: 0, IoApic: 1, InterruptSourceOverride: 2 } as const;

/** Trigger/polarity of an override; 'conform' means "as the ISA bus": edge, active high. */
export interface IsaOverride {
  readonly irq: number;
  readonly gsi: number;
  readonly trigger: 'conform' | 'edge' | 'level';
  readonly polarity: 'conform' | 'high' | 'low';
}

/**
 * The overrides every tsvmm machine declares:
 * - ISA IRQ 0 -> GSI 2, conforming (edge, active high): the PIT's wiring on
 *   every PC since the IOAPIC, which OSes expect.
 * - ISA IRQ 9 -> GSI 9, level, active high: the Generic Event Device's line
 *   (its _CRS says Interrupt(Level, ActiveHigh) {9}). Without it an OS that
 *   programs ISA pins from MADT defaults would make GSI 9 edge-triggered,
 *   disagreeing with the GED.
 * Other ISA IRQs (COM 4/3, i8042 1/12, RTC 8) are identity-mapped and edge,
 * which needs no entry.
 */
export const DEFAULT_ISA_OVERRIDES: readonly IsaOverride[] = [
  { irq: 0, gsi: 2, trigger: 'conform', polarity: 'conform' },
  { irq: 9, gsi: 9, trigger: 'level', polarity: 'high' },
];

/** The most vCPUs the MADT can describe with xAPIC entries (8-bit ids, one left for the IOAPIC). */
export const MAX_XAPIC_CPUS = 254;

/** Options of the MADT. */
export interface MadtOptions {
  readonly cpus: number;
  readonly isaOverrides?: readonly IsaOverride[];
}

function overrideFlags(o: IsaOverride): number {
  const polarity = { conform: 0, high: 1, low: 3 }[o.polarity];
  const trigger = { conform: 0, edge: 1, level: 3 }[o.trigger];
  return polarity | (trigger << 2);
}

/** The IOAPIC's id: the first after the CPUs' APIC ids (0..cpus-1). */
export function ioApicId(cpus: number): number {
  return cpus;
}

/**
 * Builds a revision 5 (ACPI 6.3) MADT. APIC id and ACPI processor UID are
 * both the vCPU index; the DSDT's processor devices use the same UIDs.
 */
export function madt(options: MadtOptions): Uint8Array {
  const { cpus } = options;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_XAPIC_CPUS) {
    throw new RangeError(`MADT: ${cpus} vCPUs is outside 1..${MAX_XAPIC_CPUS}`);
  }
  const overrides = options.isaOverrides ?? DEFAULT_ISA_OVERRIDES;
  const length = HEADER_SIZE + 8 + 8 * cpus + 12 + 10 * overrides.length;
  const { bytes, view } = newTable('APIC', 5, length);
  view.setUint32(HEADER_SIZE, LAPIC_ADDRESS, true);
  view.setUint32(HEADER_SIZE + 4, 0, true); // flags: PCAT_COMPAT clear, see DEVNOTE
  let at = HEADER_SIZE + 8;
  for (let i = 0; i < cpus; i++) {
    view.setUint8(at, MadtType.LocalApic);
    view.setUint8(at + 1, 8);
    view.setUint8(at + 2, i); // ACPI processor UID
    view.setUint8(at + 3, i); // APIC id
    view.setUint32(at + 4, 1, true); // enabled
    at += 8;
  }
  view.setUint8(at, MadtType.IoApic);
  view.setUint8(at + 1, 12);
  view.setUint8(at + 2, ioApicId(cpus));
  view.setUint32(at + 4, IOAPIC_ADDRESS, true);
  view.setUint32(at + 8, 0, true); // GSI base
  at += 12;
  for (const o of overrides) {
    view.setUint8(at, MadtType.InterruptSourceOverride);
    view.setUint8(at + 1, 10);
    view.setUint8(at + 2, 0); // bus: ISA
    view.setUint8(at + 3, o.irq);
    view.setUint32(at + 4, o.gsi, true);
    view.setUint16(at + 8, overrideFlags(o), true);
    at += 10;
  }
  return seal(bytes);
}
