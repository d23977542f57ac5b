/**
 * Intel 8254 Programmable Interval Timer: register, control-word and status
 * names (Intel 8254 datasheet, order no. 231164), plus the PC's system
 * control port B at 0x61 (IBM PC/AT Technical Reference, "System Board I/O").
 */

/** Input clock of the PC's 8254, in Hz (14.31818 MHz / 12). */
export const PIT_HZ = 1_193_182;

/** First port of the 8254 on a PC: counters 0..2 then the control word. */
export const PIT_BASE = 0x40;
/** Offset of the control word register (write only). */
export const PIT_CONTROL = 3;
/** System control port B (speaker, channel 2 gate and output). */
export const PORT_B = 0x61;

/** Control word: SC1..SC0, the counter select (3 = read-back command). */
export const CW_SC_SHIFT = 6;
/** SC value that selects the read-back command. */
export const CW_SC_READBACK = 3;
/** Control word: RW1..RW0, the access mode. */
export const CW_RW_SHIFT = 4;
/** RW = 00: counter latch command. */
export const RW_LATCH = 0;
/** RW = 01: read/write least significant byte only. */
export const RW_LSB = 1;
/** RW = 10: read/write most significant byte only. */
export const RW_MSB = 2;
/** RW = 11: least significant byte first, then most significant byte. */
export const RW_LSB_MSB = 3;
/** Control word: M2..M0, the counter mode. */
export const CW_M_SHIFT = 1;
/** Control word: BCD counting (four decades) instead of 16-bit binary. */
export const CW_BCD = 0x01;

/** Read-back command: /COUNT, 0 = latch the count of the selected counters. */
export const RB_NOT_COUNT = 0x20;
/** Read-back command: /STATUS, 0 = latch the status of the selected counters. */
export const RB_NOT_STATUS = 0x10;
/** Read-back command: CNT0 select bit; CNT1 and CNT2 are the next two. */
export const RB_CNT0 = 0x02;

/** Status byte: OUTPUT pin state. */
export const ST_OUTPUT = 0x80;
/** Status byte: NULL COUNT, a written count not yet loaded into the counting element. */
export const ST_NULL_COUNT = 0x40;

/** Port B: GATE2, the gate input of counter 2. */
export const PORTB_GATE2 = 0x01;
/** Port B: SPKR DATA, speaker enable (ANDed with counter 2's output). */
export const PORTB_SPEAKER = 0x02;
/** Port B: bits the guest may write and read back (gate, speaker, parity/IOCHK enables). */
export const PORTB_WRITABLE = 0x0f;
/** Port B: REFRESH DETECT, toggles with DRAM refresh (here: on every read). */
export const PORTB_REFRESH = 0x10;
/** Port B: OUT2, counter 2's output. */
export const PORTB_OUT2 = 0x20;
