/**
 * Moving C structs between JS objects and bytes, and passing them to ioctl.
 *
 * Struct types are koffi type objects; callers above sys/ never touch koffi,
 * they hand a type from kvm/structs-*.ts to these helpers. koffi's own
 * offsetof() does not take nested paths, so fieldAt()/fieldsOf() walk the
 * members instead (the ABI test relies on them).
 *
 * koffi's value mapping, which the decoded objects follow: 8-, 16- and
 * 32-bit integers are numbers; a 64-bit integer field is a number when it
 * is a safe integer and a BigInt when not; arrays of 64-bit integers are
 * BigUint64Arrays; other arrays of numbers are typed arrays (copies); arrays
 * of structs are JS arrays. Fields left out when encoding are written as 0.
 */
import { koffi, type KType } from './ffi.js';
import { ioctlPtr, type BufferArg } from './libc.js';

/** A 64-bit field as koffi decodes it: number when exact, BigInt when not. */
export type U64 = number | bigint;

/** Where a (possibly nested) member lives. */
export interface FieldInfo {
  /** Byte offset from the start of the outermost struct. */
  readonly offset: number;
  /** sizeof the member. */
  readonly size: number;
  /** The member's koffi type. */
  readonly type: KType;
}

/** Looks up a member by dotted path ("cs.base", "u.msi.data"); throws naming the missing part. */
export function fieldAt(type: KType, path: string): FieldInfo {
  let t = type;
  let offset = 0;
  for (const part of path.split('.')) {
    const m = t.members?.[part];
    if (m === undefined) throw new Error(`${type.name} has no member ${path} (at ${JSON.stringify(part)})`);
    offset += m.offset;
    t = m.type;
  }
  return { offset, size: t.size, type: t };
}

/** offsetof(type, path) for a dotted member path. */
export function offsetOfPath(type: KType, path: string): number {
  return fieldAt(type, path).offset;
}

/** Every member of a struct or union, nested ones included, by dotted path (arrays are leaves). */
export function fieldsOf(type: KType): Map<string, FieldInfo> {
  const out = new Map<string, FieldInfo>();
  const walk = (t: KType, prefix: string, base: number): void => {
    for (const [name, m] of Object.entries(t.members ?? {})) {
      const path = prefix + name;
      out.set(path, { offset: base + m.offset, size: m.type.size, type: m.type });
      if (m.type.members) walk(m.type, path + '.', base + m.offset);
    }
  };
  walk(type, '', 0);
  return out;
}

/** sizeof a koffi type. */
export function sizeOf(type: KType): number {
  return type.size;
}

function asBytes(buf: BufferArg): Uint8Array {
  return buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Encodes `value` as `type` into `into` at `offset` (default: a new zeroed buffer); returns the buffer. */
export function encodeStruct<T extends object>(type: KType, value: T, into?: Uint8Array, offset = 0): Uint8Array {
  const buf = into ?? new Uint8Array(type.size);
  if (offset < 0 || offset + type.size > buf.byteLength) {
    throw new RangeError(`${type.name} (${type.size} bytes) does not fit at ${offset} in ${buf.byteLength} bytes`);
  }
  koffi().encode(buf, offset, type, value);
  return buf;
}

/** Decodes a `type` found at `offset` of `from`. */
export function decodeStruct<T>(type: KType, from: BufferArg, offset = 0): T {
  const bytes = asBytes(from);
  if (offset < 0 || offset + type.size > bytes.byteLength) {
    throw new RangeError(`${type.name} (${type.size} bytes) does not fit at ${offset} in ${bytes.byteLength} bytes`);
  }
  return koffi().decode(bytes, offset, type) as T;
}

/** ioctl whose argument the kernel reads: encodes `value` and passes it; returns the ioctl's result. */
export function ioctlIn<T extends object>(fd: number, req: number, type: KType, value: T): number {
  return ioctlPtr(fd, req, encodeStruct(type, value));
}

/** ioctl whose argument the kernel fills: returns the decoded struct. */
export function ioctlOut<T>(fd: number, req: number, type: KType): T {
  const buf = new Uint8Array(type.size);
  ioctlPtr(fd, req, buf);
  return decodeStruct<T>(type, buf);
}

/** ioctl whose argument goes both ways: encodes `value`, returns what the kernel left there. */
export function ioctlInOut<T extends object>(fd: number, req: number, type: KType, value: T): T {
  const buf = encodeStruct(type, value);
  ioctlPtr(fd, req, buf);
  return decodeStruct<T>(type, buf);
}

/**
 * A struct ending in a flexible array (kvm_cpuid2, kvm_msrs, kvm_irq_routing,
 * ...). koffi has no zero-length arrays, so the fixed header is one type and
 * the entries are placed after it at the C offset of the flexible member.
 */
export class FlexStruct<H extends object, E extends object> {
  /** offsetof(struct, <flexible member>). */
  readonly entriesOffset: number;
  private readonly sized = new Map<number, KType>();

  /**
   * `countField` is the header field holding the number of entries;
   * `entriesName` the C name of the flexible member.
   */
  constructor(
    readonly header: KType,
    readonly countField: keyof H & string,
    readonly entriesName: string,
    readonly entry: KType,
  ) {
    const align = entry.alignment;
    this.entriesOffset = Math.ceil(header.size / align) * align;
  }

  /** Bytes needed for n entries. */
  sizeFor(n: number): number {
    return this.entriesOffset + n * this.entry.size;
  }

  /** A koffi type of the whole struct with exactly n entries (cached; n >= 1). */
  typeFor(n: number): KType {
    let t = this.sized.get(n);
    if (t === undefined) {
      const k = koffi();
      const def: Record<string, KType> = {};
      for (const [name, m] of Object.entries(this.header.members ?? {})) def[name] = m.type;
      def[this.entriesName] = k.array(this.entry, n);
      t = k.struct(def);
      this.sized.set(n, t);
    }
    return t;
  }

  /**
   * Builds the struct: the header (its count defaults to entries.length)
   * followed by room for `capacity` entries (default: entries.length).
   */
  build(header: Partial<H>, entries: readonly E[] = [], capacity = entries.length): Uint8Array {
    if (capacity < entries.length) throw new RangeError(`capacity ${capacity} < ${entries.length} entries`);
    const buf = new Uint8Array(this.sizeFor(capacity));
    const h = { ...header } as Record<string, unknown>;
    h[this.countField] ??= entries.length;
    encodeStruct(this.header, h, buf);
    entries.forEach((e, i) => encodeStruct(this.entry, e, buf, this.entriesOffset + i * this.entry.size));
    return buf;
  }

  /** Decodes the header and as many entries as its count says (bounded by the buffer). */
  read(buf: BufferArg): H & { entries: E[] } {
    const header = decodeStruct<H>(this.header, buf);
    const room = Math.floor((buf.byteLength - this.entriesOffset) / this.entry.size);
    const n = Math.max(0, Math.min(Number(header[this.countField]), room));
    const entries: E[] = [];
    for (let i = 0; i < n; i++) entries.push(decodeStruct<E>(this.entry, buf, this.entriesOffset + i * this.entry.size));
    return { ...header, entries };
  }
}
