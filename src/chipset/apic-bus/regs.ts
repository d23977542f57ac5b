/**
 * Interrupt message fields shared by the IOAPIC, the local APICs and MSIs.
 *
 * Spec: Intel SDM vol. 3A, chapter 11 (chapter 10 in older editions),
 * 11.6.1 "Interrupt Command Register (ICR)" for delivery modes, destination
 * modes and shorthands, and 11.11 "Message Signalled Interrupts" for the MSI
 * address and data register formats.
 */

/** Delivery mode Fixed: the vector goes to the target's IRR. */
export const DM_FIXED = 0;
/** Delivery mode Lowest Priority: one target among the destination set. */
export const DM_LOWEST_PRIORITY = 1;
/** Delivery mode SMI (not modelled: counted and dropped). */
export const DM_SMI = 2;
/** Delivery mode NMI. */
export const DM_NMI = 4;
/** Delivery mode INIT (level de-assert when trigger=level and level=0). */
export const DM_INIT = 5;
/** Delivery mode Start-Up (SIPI): vector = start page number. */
export const DM_STARTUP = 6;
/** Delivery mode ExtINT: the target asks the 8259A for the vector (INTA cycle). */
export const DM_EXTINT = 7;

/** ICR destination shorthand: none, the destination field decides. */
export const SH_NONE = 0;
/** ICR destination shorthand: the sender only. */
export const SH_SELF = 1;
/** ICR destination shorthand: every APIC including the sender. */
export const SH_ALL_INCLUDING_SELF = 2;
/** ICR destination shorthand: every APIC except the sender. */
export const SH_ALL_EXCLUDING_SELF = 3;

/** xAPIC broadcast destination (physical and logical mode). */
export const APIC_BROADCAST = 0xff;

/** MSI address bits 31:20 that mark an interrupt message (0xFEE). */
export const MSI_ADDR_BASE_MASK = 0xfff00000;
/** The interrupt-message address window (bits 31:20 = 0xFEE). */
export const MSI_ADDR_BASE = 0xfee00000;
/** MSI address bits 19:12: destination ID. */
export const MSI_ADDR_DEST_SHIFT = 12;
/** MSI address bit 3: redirection hint (RH). */
export const MSI_ADDR_RH = 1 << 3;
/** MSI address bit 2: destination mode (DM), 1 = logical. */
export const MSI_ADDR_DM = 1 << 2;
/** MSI data bits 7:0: vector. */
export const MSI_DATA_VECTOR_MASK = 0xff;
/** MSI data bits 10:8: delivery mode. */
export const MSI_DATA_DELIVERY_SHIFT = 8;
/** MSI data bit 14: level (assert) for level-triggered messages. */
export const MSI_DATA_LEVEL = 1 << 14;
/** MSI data bit 15: trigger mode, 1 = level. */
export const MSI_DATA_TRIGGER_LEVEL = 1 << 15;
