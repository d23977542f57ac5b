/**
 * Motorola MC146818A real-time clock plus CMOS RAM: register and bit names
 * (MC146818A datasheet, "Address Map" and registers A-D), and the PC's
 * CMOS layout conventions (IBM PC/AT Technical Reference; QEMU/SeaBIOS
 * memory-size bytes).
 */

/** Index port (bit 7: NMI disable on PCs) and data port. */
export const RTC_INDEX_PORT = 0x70;
/** Data port for the byte selected through the index port. */
export const RTC_DATA_PORT = 0x71;

/** Seconds. */
export const REG_SECONDS = 0x00;
/** Seconds alarm. */
export const REG_SECONDS_ALARM = 0x01;
/** Minutes. */
export const REG_MINUTES = 0x02;
/** Minutes alarm. */
export const REG_MINUTES_ALARM = 0x03;
/** Hours (bit 7 = PM in 12-hour mode). */
export const REG_HOURS = 0x04;
/** Hours alarm. */
export const REG_HOURS_ALARM = 0x05;
/** Day of week, 1 = Sunday. */
export const REG_DAY_OF_WEEK = 0x06;
/** Day of month. */
export const REG_DAY_OF_MONTH = 0x07;
/** Month. */
export const REG_MONTH = 0x08;
/** Year within the century. */
export const REG_YEAR = 0x09;
/** Register A: UIP, divider, rate select. */
export const REG_A = 0x0a;
/** Register B: SET, interrupt enables, data mode, 24/12. */
export const REG_B = 0x0b;
/** Register C: interrupt flags, cleared by reading. */
export const REG_C = 0x0c;
/** Register D: valid RAM and time. */
export const REG_D = 0x0d;
/** Century (PC convention; the ACPI FADT's CENTURY field names it). */
export const REG_CENTURY = 0x32;

/** Registers the clock keeps (read live from the clock unless updates are held). */
export const TIME_REGS = [REG_SECONDS, REG_MINUTES, REG_HOURS, REG_DAY_OF_WEEK, REG_DAY_OF_MONTH, REG_MONTH, REG_YEAR, REG_CENTURY] as const;

/** A: update in progress. */
export const A_UIP = 0x80;
/** A: divider-chain select DV2..DV0. */
export const A_DV_MASK = 0x70;
/** A: DV = 010, the 32.768 kHz time base running. */
export const A_DV_32K = 0x20;
/** A: rate select RS3..RS0. */
export const A_RS_MASK = 0x0f;

/** B: hold updates while the time is set. */
export const B_SET = 0x80;
/** B: periodic interrupt enable. */
export const B_PIE = 0x40;
/** B: alarm interrupt enable. */
export const B_AIE = 0x20;
/** B: update-ended interrupt enable. */
export const B_UIE = 0x10;
/** B: square-wave enable. */
export const B_SQWE = 0x08;
/** B: data mode, 1 = binary, 0 = BCD. */
export const B_DM = 0x04;
/** B: 1 = 24-hour mode. */
export const B_24H = 0x02;
/** B: daylight saving enable. */
export const B_DSE = 0x01;

/** C: interrupt request flag. */
export const C_IRQF = 0x80;
/** C: periodic interrupt flag. */
export const C_PF = 0x40;
/** C: alarm flag. */
export const C_AF = 0x20;
/** C: update-ended flag. */
export const C_UF = 0x10;

/** D: valid RAM and time (the battery is good). */
export const D_VRT = 0x80;

/** Frequency of the time base, in Hz. */
export const TIME_BASE_HZ = 32768;
/** UIP rises this long before each update (244 us: 8 periods of the time base). */
export const UIP_NS = 244_141;

/** CMOS: base memory in KiB (low, high byte). */
export const CMOS_BASE_MEM = 0x15;
/** CMOS: extended memory 1 MiB..64 MiB in KiB (low, high byte). */
export const CMOS_EXT_MEM = 0x17;
/** CMOS: extended memory again, as POST found it (low, high byte). */
export const CMOS_EXT_MEM_POST = 0x30;
/** CMOS: memory from 16 MiB up to the 32-bit hole, in 64 KiB units (QEMU/SeaBIOS). */
export const CMOS_MEM_ABOVE_16M = 0x34;
/** CMOS: memory above 4 GiB, in 64 KiB units, three bytes (QEMU/SeaBIOS). */
export const CMOS_MEM_ABOVE_4G = 0x5b;
/** CMOS: number of CPUs minus one (QEMU/SeaBIOS). */
export const CMOS_CPU_COUNT = 0x5f;
