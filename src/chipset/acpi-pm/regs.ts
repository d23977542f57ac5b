/**
 * Register layout of the hardware-reduced ACPI power-management block:
 * the FADT's SLEEP_CONTROL_REG, SLEEP_STATUS_REG and RESET_REG, all
 * byte-wide port registers.
 *
 * Spec: ACPI 6.5 4.8.3.7 (Sleep Control and Status Registers) and 4.8.3.6
 * (Reset Register), https://uefi.org/specs/ACPI/6.5/04_ACPI_Hardware_Specification.html
 *
 * | port  | register           | bits                                      |
 * |-------|--------------------|-------------------------------------------|
 * | 0x600 | SLEEP_CONTROL_REG  | 4:2 SLP_TYPx, 5 SLP_EN (write-only)        |
 * | 0x601 | SLEEP_STATUS_REG   | 7 WAK_STS (write 1 to clear)               |
 * | 0x602 | RESET_REG          | write RESET_VALUE (0x52) to reset          |
 * | 0x603 | reserved           | reads 0, writes ignored                    |
 */

/** Default first port of the block. */
export const ACPI_PM_BASE = 0x600;
/** Ports the block spans. */
export const ACPI_PM_SIZE = 4;

/** Offsets from the base. */
export const SLEEP_CONTROL = 0;
/** See SLEEP_CONTROL. */
export const SLEEP_STATUS = 1;
/** See SLEEP_CONTROL. */
export const RESET = 2;
/** Pads the block to four ports; reads 0. */
export const RESERVED = 3;

/** SLEEP_CONTROL_REG: SLP_TYPx field position and mask. */
export const SLP_TYP_SHIFT = 2;
/** See SLP_TYP_SHIFT. */
export const SLP_TYP_MASK = 0x1c;
/** SLEEP_CONTROL_REG: setting it enters the sleep state SLP_TYPx names. */
export const SLP_EN = 0x20;
/** SLEEP_STATUS_REG: set when the machine woke from a sleep state. */
export const WAK_STS = 0x80;

/**
 * SLP_TYP of S5 (soft off). Any 3-bit value works as long as \_S5_ in the
 * DSDT says the same; 5 reads naturally.
 */
export const SLP_TYP_S5 = 5;

/** The value the OS writes to RESET_REG ('R'); other values are ignored. */
export const RESET_VALUE = 0x52;
