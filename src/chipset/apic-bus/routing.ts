/**
 * Which controller inputs each GSI drives. One table for the emulator's
 * APIC bus, the KVM backend's irq routes and the ACPI MADT, so the three
 * agree.
 *
 * DEVNOTE: "gsi" here is the machine's interrupt line number as devices
 * know it (DESIGN.md: COM1 4, RTC 8, ...), which is the ISA IRQ for 0-15.
 * As on PCs and in QEMU's KVM routing, ISA IRQ 0 (the PIT) is wired to PIC
 * input 0 and IOAPIC pin 2, and the MADT says so with an interrupt source
 * override (bus 0, source 0 -> global system interrupt 2). ISA IRQ 2 is
 * the PIC cascade: nothing drives it, and IOAPIC pin 0 is left unconnected.
 * Every other line n drives PIC input n (n < 16) and IOAPIC pin n.
 */

/** IOAPIC pins, hence GSIs 0-23. */
export const GSI_COUNT = 24;
/** ISA IRQs that also reach the 8259A pair. */
export const ISA_IRQ_COUNT = 16;
/** The IOAPIC pin ISA IRQ 0 is wired to. */
export const ISA_IRQ0_IOAPIC_PIN = 2;

/** Where one GSI goes; -1 means not connected. */
export interface GsiRoute {
  readonly picIrq: number;
  readonly ioapicPin: number;
}

/** One MADT interrupt source override (ACPI 6.5, 5.2.12.5). */
export interface IsaOverride {
  /** Bus 0 (ISA) IRQ. */
  readonly source: number;
  /** The global system interrupt (IOAPIC pin) it is wired to. */
  readonly gsi: number;
  /** MPS INTI flags; 0 = conforms to the bus (ISA: edge, active high). */
  readonly flags: number;
}

/** The overrides the MADT must carry for this wiring. */
export const ISA_OVERRIDES: readonly IsaOverride[] = [{ source: 0, gsi: ISA_IRQ0_IOAPIC_PIN, flags: 0 }];

const NONE: GsiRoute = { picIrq: -1, ioapicPin: -1 };
const ROUTES: readonly GsiRoute[] = Array.from({ length: GSI_COUNT }, (_, gsi): GsiRoute => {
  if (gsi === 0) return { picIrq: 0, ioapicPin: ISA_IRQ0_IOAPIC_PIN };
  if (gsi === 2) return NONE;
  return { picIrq: gsi < ISA_IRQ_COUNT ? gsi : -1, ioapicPin: gsi };
});

/** The inputs `gsi` drives (both -1 for the cascade line 2 and out-of-range numbers). */
export function gsiRoute(gsi: number): GsiRoute {
  return Number.isInteger(gsi) && gsi >= 0 && gsi < GSI_COUNT ? ROUTES[gsi]! : NONE;
}
