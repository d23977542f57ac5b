/**
 * Encodings of saved vCPU state and a reader that validates them: 64-bit
 * values as hex strings (JSON numbers stop being exact at 2^53), bytes as
 * hex, and every malformed field a RestoreError that names it.
 */
import { RestoreError } from '../../bus/device.js';

/** A signed double holding a 64-bit value (an address) as unsigned hex. */
export function hexOf(v: number): string {
  return `0x${BigInt.asUintN(64, BigInt(Math.trunc(v))).toString(16)}`;
}

/** A [lo, hi] pair of int32 halves as unsigned hex. */
export function hexOfPair(p: readonly number[]): string {
  return `0x${((BigInt(p[1]! >>> 0) << 32n) | BigInt(p[0]! >>> 0)).toString(16)}`;
}

/** Bytes as a hex string. */
export function bytesHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Reads saved fields, turning every malformed one into a RestoreError naming it. */
export class FieldReader {
  constructor(private readonly id: string) {}

  /** Throws a RestoreError for `field`. */
  fail(field: string, what: string): never {
    throw new RestoreError(this.id, `${field}: ${what}`);
  }

  /** A key from the saved state, shown in a message: escaped and short, whatever the file holds. */
  static shown(key: string): string {
    const text = JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}...` : key);
    return text.slice(1, -1);
  }

  /** A plain object. */
  obj(v: unknown, field: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'missing or not an object');
    return v as Record<string, unknown>;
  }

  /** An unsigned integer of at most `bits` bits (<= 32). */
  uint(v: unknown, field: string, bits = 32): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= 2 ** bits) this.fail(field, `not an integer of ${bits} bits`);
    return v;
  }

  /** true or false. */
  bool(v: unknown, field: string): boolean {
    if (typeof v !== 'boolean') this.fail(field, 'not true or false');
    return v;
  }

  /** A 64-bit hex string as a bigint. */
  big(v: unknown, field: string): bigint {
    if (typeof v !== 'string' || !/^0x[0-9a-f]{1,16}$/i.test(v)) this.fail(field, 'not a 64-bit hex string');
    return BigInt(v);
  }

  /**
   * A 64-bit hex string as the CPU's signed double. The CPU holds these
   * (addresses, CR3, DRs) as doubles, so every value it saves is exact in
   * one; a value that is not (a bit flip above bit 52 of a non-canonical
   * address) could only be restored rounded, as a different value.
   */
  signed(v: unknown, field: string): number {
    const b = BigInt.asIntN(64, this.big(v, field));
    const n = Number(b);
    if (BigInt(n) !== b) this.fail(field, `${String(v)} is not a value the CPU can hold (beyond 53 significant bits)`);
    return n;
  }

  /** A 64-bit hex string as [lo, hi] int32 halves. */
  pair(v: unknown, field: string): [number, number] {
    const b = this.big(v, field);
    return [Number(b & 0xffffffffn) | 0, Number(b >> 32n) | 0];
  }

  /** Hex bytes of an exact length. */
  bytes(v: unknown, field: string, length: number): Buffer {
    if (typeof v !== 'string' || v.length !== length * 2 || !/^[0-9a-f]*$/i.test(v)) this.fail(field, `not ${length} bytes of hex`);
    return Buffer.from(v, 'hex');
  }

  /** A list of exactly `length` items. */
  array(v: unknown, field: string, length: number): unknown[] {
    if (!Array.isArray(v) || v.length !== length) this.fail(field, `not a list of ${length}`);
    return v;
  }
}
