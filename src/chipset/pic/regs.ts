/**
 * 8259A programmable interrupt controller: ports and command words.
 *
 * Spec: Intel 8259A Programmable Interrupt Controller datasheet (order
 * number 231468), "Programming the 8259A" (ICW1-ICW4, OCW1-OCW3); ELCR per
 * the Intel 82371AB PIIX4 datasheet, 12.1.2 "ELCR1/ELCR2".
 */

/** Master command port (A0 = 0). */
export const MASTER_CMD = 0x20;
/** Master data port (A0 = 1): IMR, ICW2-ICW4. */
export const MASTER_DATA = 0x21;
/** Slave command port. */
export const SLAVE_CMD = 0xa0;
/** Slave data port. */
export const SLAVE_DATA = 0xa1;
/** Edge/level control register for IRQ 0-7. */
export const ELCR1 = 0x4d0;
/** Edge/level control register for IRQ 8-15. */
export const ELCR2 = 0x4d1;

/** ELCR1 bits that exist: IRQ 0, 1 and 2 are edge-only. */
export const ELCR1_MASK = 0xf8;
/** ELCR2 bits that exist: IRQ 8 and 13 are edge-only. */
export const ELCR2_MASK = 0xde;

/** The master input the slave's INT output drives. */
export const CASCADE_IRQ = 2;
/** The IR that answers an INTA nobody requested (spurious interrupt). */
export const SPURIOUS_IRQ = 7;

/** A command-port write with bit 4 set is ICW1. */
export const ICW1_INIT = 0x10;
/** ICW1 bit 0: IC4, an ICW4 follows. */
export const ICW1_IC4 = 0x01;
/** ICW1 bit 1: SNGL, no slave (no ICW3). */
export const ICW1_SNGL = 0x02;
/** ICW1 bit 3: LTIM, every input level-triggered. */
export const ICW1_LTIM = 0x08;
/** ICW2 bits 7:3: the vector base (T7-T3). */
export const ICW2_VECTOR_MASK = 0xf8;
/** ICW4 bit 0: µPM, 8086/8088 mode (0 is MCS-80/85 mode, not modelled). */
export const ICW4_UPM = 0x01;
/** ICW4 bit 1: AEOI, automatic end of interrupt. */
export const ICW4_AEOI = 0x02;
/** ICW4 bit 4: SFNM, special fully nested mode. */
export const ICW4_SFNM = 0x10;

/** A command-port write with bits 4:3 = 01 is OCW3 (00 is OCW2). */
export const OCW3_SELECT = 0x08;
/** OCW3 bit 2: P, poll command. */
export const OCW3_POLL = 0x04;
/** OCW3 bit 1: RR, read register command (bit 0 RIS picks ISR over IRR). */
export const OCW3_RR = 0x02;
/** OCW3 bit 0: RIS. */
export const OCW3_RIS = 0x01;
/** OCW3 bit 6: ESMM, bit 5 (SMM) is valid. */
export const OCW3_ESMM = 0x40;
/** OCW3 bit 5: SMM, special mask mode. */
export const OCW3_SMM = 0x20;

/** OCW2 bits 7:5 (R, SL, EOI). */
export const OCW2_CMD_SHIFT = 5;
/** OCW2 R/SL/EOI = 000: rotate in automatic EOI mode (clear). */
export const OCW2_CLEAR_ROTATE_AEOI = 0;
/** OCW2 001: non-specific EOI. */
export const OCW2_NONSPECIFIC_EOI = 1;
/** OCW2 010: no operation. */
export const OCW2_NOP = 2;
/** OCW2 011: specific EOI (level in bits 2:0). */
export const OCW2_SPECIFIC_EOI = 3;
/** OCW2 100: rotate in automatic EOI mode (set). */
export const OCW2_SET_ROTATE_AEOI = 4;
/** OCW2 101: rotate on non-specific EOI. */
export const OCW2_ROTATE_NONSPECIFIC_EOI = 5;
/** OCW2 110: set priority (level in bits 2:0 becomes the lowest). */
export const OCW2_SET_PRIORITY = 6;
/** OCW2 111: rotate on specific EOI. */
export const OCW2_ROTATE_SPECIFIC_EOI = 7;

/** Poll word bit 7: I, an interrupt was pending (bits 2:0 are its level). */
export const POLL_INTERRUPT = 0x80;
