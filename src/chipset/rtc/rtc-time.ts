/**
 * Calendar and time-base arithmetic for the RTC: register encodings (BCD or
 * binary, 12 or 24 hours), UTC calendar fields of an epoch second, the
 * alarm search, and exact conversion between ns and 32.768 kHz ticks.
 */
import * as R from './regs.js';

/** Calendar fields of one second (UTC). */
export interface CalendarFields {
  readonly sec: number;
  readonly min: number;
  readonly hour: number;
  /** 1 = Sunday .. 7 = Saturday. */
  readonly dow: number;
  readonly dom: number;
  /** 1..12. */
  readonly month: number;
  /** Full year, e.g. 2024. */
  readonly year: number;
}

/** UTC calendar fields of epoch second `s`. */
export function calendarOf(s: number): CalendarFields {
  const d = new Date(s * 1000);
  return {
    sec: d.getUTCSeconds(),
    min: d.getUTCMinutes(),
    hour: d.getUTCHours(),
    dow: d.getUTCDay() + 1,
    dom: d.getUTCDate(),
    month: d.getUTCMonth() + 1,
    year: d.getUTCFullYear(),
  };
}

/** The epoch second of calendar fields (out-of-range fields roll over as Date does); NaN if unusable. */
export function epochOf(f: Omit<CalendarFields, 'dow'>): number {
  const d = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0..99 to 1900..1999.
  d.setUTCFullYear(f.year, f.month - 1, f.dom);
  d.setUTCHours(f.hour, f.min, f.sec, 0);
  return d.getTime() / 1000;
}

/** Encodes 0..99 in register B's data mode. */
export function encode(v: number, regB: number): number {
  return regB & R.B_DM ? v : (Math.floor(v / 10) % 10 << 4) | v % 10;
}

/** Decodes a register byte in register B's data mode (BCD digits above 9 count as their value). */
export function decode(b: number, regB: number): number {
  return regB & R.B_DM ? b : (b >> 4) * 10 + (b & 0x0f);
}

/** Encodes an hour 0..23 in register B's data mode and 12/24-hour format. */
export function encodeHour(h: number, regB: number): number {
  if (regB & R.B_24H) return encode(h, regB);
  return encode(h % 12 || 12, regB) | (h >= 12 ? 0x80 : 0);
}

/** Decodes an hours register byte to 0..23 (or beyond, for garbage). */
export function decodeHour(b: number, regB: number): number {
  if (regB & R.B_24H) return decode(b, regB);
  return (decode(b & 0x7f, regB) % 12) + (b & 0x80 ? 12 : 0);
}

/** Time register `i` (seconds .. year, century) for epoch second `s`, encoded per register B. */
export function timeRegister(i: number, s: number, regB: number): number {
  const f = calendarOf(s);
  switch (i) {
    case R.REG_SECONDS:
      return encode(f.sec, regB);
    case R.REG_MINUTES:
      return encode(f.min, regB);
    case R.REG_HOURS:
      return encodeHour(f.hour, regB);
    case R.REG_DAY_OF_WEEK:
      return encode(f.dow, regB);
    case R.REG_DAY_OF_MONTH:
      return encode(f.dom, regB);
    case R.REG_MONTH:
      return encode(f.month, regB);
    case R.REG_YEAR:
      return encode(((f.year % 100) + 100) % 100, regB);
    default:
      return encode(Math.floor(f.year / 100) % 100, regB);
  }
}

/**
 * The epoch second the time registers' bytes in `cmos` spell (day of week
 * ignored), and whether every field was in range; NaN if unusable.
 */
export function imageEpoch(cmos: Uint8Array, regB: number): { epoch: number; valid: boolean } {
  const f = {
    sec: decode(cmos[R.REG_SECONDS]!, regB),
    min: decode(cmos[R.REG_MINUTES]!, regB),
    hour: decodeHour(cmos[R.REG_HOURS]!, regB),
    dom: decode(cmos[R.REG_DAY_OF_MONTH]!, regB),
    month: decode(cmos[R.REG_MONTH]!, regB),
    year: decode(cmos[R.REG_CENTURY]!, regB) * 100 + decode(cmos[R.REG_YEAR]!, regB),
  };
  const valid = f.sec <= 59 && f.min <= 59 && f.hour <= 23 && f.dom >= 1 && f.dom <= 31 && f.month >= 1 && f.month <= 12;
  return { epoch: epochOf(f), valid };
}

/** Alarm bytes with both top bits set match any value. */
function matches(alarm: number, value: number): boolean {
  return (alarm & 0xc0) === 0xc0 || alarm === value;
}

/**
 * The first epoch second >= `from` whose time of day matches the alarm
 * bytes (compared with the time registers byte for byte, as the chip
 * does), or Infinity if no time of day can match.
 */
export function nextAlarm(from: number, aSec: number, aMin: number, aHour: number, regB: number): number {
  const secOk = (v: number): boolean => matches(aSec, encode(v, regB));
  const minOk = (v: number): boolean => matches(aMin, encode(v, regB));
  const hourOk = (v: number): boolean => matches(aHour, encodeHour(v, regB));
  const any = (n: number, ok: (v: number) => boolean): boolean => {
    for (let v = 0; v < n; v++) if (ok(v)) return true;
    return false;
  };
  if (!any(60, secOk) || !any(60, minOk) || !any(24, hourOk)) return Infinity;
  let s = from;
  // Each step skips to the next hour, minute or second that could match:
  // at most 24 + 60 + 60 steps before a match within a day.
  for (let i = 0; i < 400; i++) {
    const sod = ((s % 86400) + 86400) % 86400;
    const sec = sod % 60;
    if (!hourOk(Math.floor(sod / 3600))) s += 3600 - (sod % 3600);
    else if (!minOk(Math.floor(sod / 60) % 60)) s += 60 - sec;
    else if (!secOk(sec)) s += 1;
    else return s;
  }
  return Infinity;
}

/** Time-base ticks in `ns` nanoseconds: floor(ns * 32768 / 1e9), exact for ns >= 0. */
export function ticks32(ns: number): number {
  const s = Math.floor(ns / 1e9);
  const r = ns - s * 1e9;
  return s * R.TIME_BASE_HZ + Math.floor((r * R.TIME_BASE_HZ) / 1e9);
}

/** The first ns at which ticks32() reaches `tick`. */
export function nsOfTick32(tick: number): number {
  const s = Math.floor(tick / R.TIME_BASE_HZ);
  const b = tick - s * R.TIME_BASE_HZ;
  // b * 1e9 / 32768 = b * 1953125 / 64: exact in a double.
  return s * 1e9 + Math.ceil((b * 1953125) / 64);
}

/** The periodic interrupt's period in time-base ticks for rate select RS (0 = off). */
export function periodTicks(rs: number): number {
  if (rs === 0) return 0;
  // RS 1 and 2 give 256 and 128 Hz, as RS 8 and 9, on a 32.768 kHz time base.
  if (rs <= 2) return rs === 1 ? 128 : 256;
  return 1 << (rs - 1);
}
