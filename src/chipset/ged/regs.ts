/**
 * Register layout of tsvmm's Generic Event Device (ACPI0013).
 *
 * Spec: ACPI 6.5 5.6.9 (Interrupt-signaled ACPI events / Generic Event
 * Device), https://uefi.org/specs/ACPI/6.5/05_ACPI_Software_Programming_Model.html#generic-event-device
 *
 * The GED itself is only a description: an interrupt and an _EVT method.
 * What _EVT reads is tsvmm's choice: one 32-bit event register at port
 * 0x610. Each bit is an event source; reading the register returns the
 * pending events and clears the bits it returned (that read is the
 * acknowledgement). The interrupt is level-triggered, active high, and
 * stays asserted while any event is pending.
 *
 * | port  | register | bits                                   |
 * |-------|----------|----------------------------------------|
 * | 0x610 | GEVT     | 0 power button pressed (read to clear) |
 */

/** Default port of the event register. */
export const GED_BASE = 0x610;
/** Ports the register spans (it is a DWord). */
export const GED_SIZE = 4;
/** The GED's GSI (DESIGN.md's GSI table: "ACPI GED 9"). */
export const GED_GSI = 9;

/** Event bit: the power button was pressed. */
export const EVENT_POWER_BUTTON = 1 << 0;

/** Notify value for a power button: "button pressed" (ACPI 6.5 4.8.3.1.1). */
export const NOTIFY_POWER_BUTTON = 0x80;
