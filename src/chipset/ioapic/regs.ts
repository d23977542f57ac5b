/**
 * I/O APIC registers.
 *
 * Spec: Intel 82093AA I/O Advanced Programmable Interrupt Controller (IOAPIC)
 * datasheet (order number 290566), 3.0 "Register Description"; the EOI
 * register at +0x40 is from the version 0x20 I/O APICs of later Intel
 * chipsets (e.g. the ICH/PCH datasheets' "EOI Register").
 */

/** Guest-physical base of the IOAPIC (DESIGN.md machine layout). */
export const IOAPIC_BASE = 0xfec00000;
/** Size of the MMIO window (one page, as QEMU decodes it). */
export const IOAPIC_SIZE = 0x1000;

/** Offset of IOREGSEL: selects the register IOWIN accesses (bits 7:0). */
export const IOREGSEL = 0x00;
/** Offset of IOWIN: the selected register. */
export const IOWIN = 0x10;
/** Offset of the EOI register (version 0x20): writing a vector clears remote IRR. */
export const IOEOI = 0x40;

/** Indirect register IOAPICID: bits 27:24 are the ID. */
export const IOAPICID = 0x00;
/** Indirect register IOAPICVER. */
export const IOAPICVER = 0x01;
/** Indirect register IOAPICARB: arbitration ID in bits 27:24. */
export const IOAPICARB = 0x02;
/** First indirect redirection-table register (entry n: low 0x10+2n, high 0x11+2n). */
export const IOREDTBL_BASE = 0x10;

/** Number of redirection entries (interrupt input pins). */
export const IOAPIC_PINS = 24;
/** IOAPICVER value: maximum redirection entry 23 (bits 23:16), version 0x20. */
export const IOAPIC_VERSION = ((IOAPIC_PINS - 1) << 16) | 0x20;
/** Bits 27:24 of IOAPICID / IOAPICARB. */
export const ID_SHIFT = 24;

/** Redirection entry bits 7:0: vector. */
export const RTE_VECTOR = 0xff;
/** Redirection entry bits 10:8: delivery mode (DM_* in apic-bus/regs.ts). */
export const RTE_DELIVERY_SHIFT = 8;
/** Redirection entry bit 11: destination mode, 1 = logical. */
export const RTE_DEST_LOGICAL = 1 << 11;
/** Redirection entry bit 12: delivery status (read-only). */
export const RTE_DELIVERY_STATUS = 1 << 12;
/** Redirection entry bit 13: input pin polarity, 1 = active low. */
export const RTE_POLARITY_LOW = 1 << 13;
/** Redirection entry bit 14: remote IRR (read-only), level-triggered only. */
export const RTE_REMOTE_IRR = 1 << 14;
/** Redirection entry bit 15: trigger mode, 1 = level. */
export const RTE_TRIGGER_LEVEL = 1 << 15;
/** Redirection entry bit 16: interrupt mask. */
export const RTE_MASKED = 1 << 16;
/** Bits of the low dword software can write. */
export const RTE_LO_WRITABLE = 0x0001afff;
/** High dword bits 31:24 (entry bits 63:56): destination. */
export const RTE_DEST_SHIFT = 24;
/** Bits of the high dword software can write. */
export const RTE_HI_WRITABLE = 0xff000000;
