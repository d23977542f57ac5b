/**
 * An AML encoder: the data objects and encodings of ACPI 6.x chapter 20
 * (name strings, package lengths, integers, strings, buffers, packages).
 * Operators and named objects are in aml-ops.ts, resource descriptors in
 * aml-resources.ts.
 *
 * DEVNOTE: AML is built as a tree of typed nodes that encode themselves to
 * bytes, not from ASL text: the VMM needs no compiler at run time, and a
 * wrong argument is a type error here rather than a guest that cannot parse
 * its DSDT. Builders throw AmlError on programming mistakes (a bad name, an
 * integer out of range); nothing here sees guest input.
 *
 * Spec: https://uefi.org/specs/ACPI/6.5/20_AML_Specification.html
 */

/** Anything that encodes to AML bytes. */
export interface AmlNode {
  encode(): Uint8Array;
}

/** A term argument: a node, or a number that becomes an integer constant. */
export type AmlTerm = AmlNode | number | bigint;

/** A data object: a term, or a JS string that becomes an AML String. */
export type AmlData = AmlTerm | string;

/** A mistake in how AML was built (never caused by the guest). */
export class AmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AmlError';
  }
}

/** Opcodes of chapter 20.3 used across the encoder. */
export const Op = {
  Zero: 0x00,
  One: 0x01,
  Name: 0x08,
  BytePrefix: 0x0a,
  WordPrefix: 0x0b,
  DWordPrefix: 0x0c,
  StringPrefix: 0x0d,
  QWordPrefix: 0x0e,
  Scope: 0x10,
  Buffer: 0x11,
  Package: 0x12,
  VarPackage: 0x13,
  Method: 0x14,
  DualNamePrefix: 0x2e,
  MultiNamePrefix: 0x2f,
  ExtPrefix: 0x5b,
  RootChar: 0x5c,
  ParentPrefix: 0x5e,
  Local0: 0x60,
  Arg0: 0x68,
  Ones: 0xff,
} as const;

/** Joins byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Encodes a list of nodes back to back (a TermList). */
export function encodeAll(nodes: readonly AmlNode[]): Uint8Array {
  return concat(nodes.map((n) => n.encode()));
}

class RawNode implements AmlNode {
  constructor(private readonly bytes: Uint8Array) {}
  encode(): Uint8Array {
    return this.bytes;
  }
}

/** A node of literal bytes (already-encoded AML). */
export function raw(bytes: ArrayLike<number>): AmlNode {
  return new RawNode(Uint8Array.from(bytes));
}

/**
 * The PkgLength encoding of `value` as it stands (20.2.4): one byte for
 * values up to 63, else a lead byte holding the count of following bytes
 * (bits 7:6) and the low nibble, then the rest of the value a byte at a
 * time. Field elements use this form directly for their bit widths.
 */
export function encodePkgLength(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** 28) {
    throw new AmlError(`PkgLength ${value} is outside 0..2^28-1`);
  }
  if (value < 0x40) return Uint8Array.of(value);
  const follow = value < 2 ** 12 ? 1 : value < 2 ** 20 ? 2 : 3;
  const out = new Uint8Array(1 + follow);
  out[0] = (follow << 6) | (value & 0x0f);
  for (let i = 1; i <= follow; i++) out[i] = (value >>> (4 + 8 * (i - 1))) & 0xff;
  return out;
}

/**
 * The PkgLength of an object whose body after the PkgLength is
 * `bodyLength` bytes: the count includes the PkgLength's own bytes, so the
 * encoding grows a byte at the edges (62/63, 4093/4094, ...).
 */
export function pkgLength(bodyLength: number): Uint8Array {
  for (let size = 1; size <= 4; size++) {
    const total = bodyLength + size;
    const limit = size === 1 ? 0x40 : 2 ** (4 + 8 * (size - 1));
    if (total < limit) return encodePkgLength(total);
  }
  throw new AmlError(`object body of ${bodyLength} bytes is too long for a PkgLength`);
}

/** Opcode bytes, then a PkgLength, then the body: the shape of every sized object. */
export function sized(opcode: readonly number[], body: readonly Uint8Array[]): Uint8Array {
  const b = concat(body);
  return concat([Uint8Array.from(opcode), pkgLength(b.length), b]);
}

const SEG_LEAD = /^[A-Z_][A-Z0-9_]{0,3}$/;

/** A 4-character NameSeg; shorter names are padded with '_' (20.2.2). */
export function nameSeg(seg: string): Uint8Array {
  if (!SEG_LEAD.test(seg)) {
    throw new AmlError(`"${seg}" is not a NameSeg (1-4 of A-Z, 0-9, _; not starting with a digit)`);
  }
  const padded = seg.padEnd(4, '_');
  return Uint8Array.from(padded, (c) => c.charCodeAt(0));
}

/**
 * A NameString from ASL spelling: optional root ('\') or parent ('^')
 * prefixes, then dot-separated segments. One segment is bare, two use
 * DualNamePrefix, more use MultiNamePrefix; no segments is NullName.
 */
export function nameString(path: string): Uint8Array {
  const prefix: number[] = [];
  let rest = path;
  if (rest.startsWith('\\')) {
    prefix.push(Op.RootChar);
    rest = rest.slice(1);
  } else {
    while (rest.startsWith('^')) {
      prefix.push(Op.ParentPrefix);
      rest = rest.slice(1);
    }
  }
  const segs = rest === '' ? [] : rest.split('.').map(nameSeg);
  let head: number[];
  if (segs.length === 0) head = [Op.Zero];
  else if (segs.length === 1) head = [];
  else if (segs.length === 2) head = [Op.DualNamePrefix];
  else if (segs.length <= 255) head = [Op.MultiNamePrefix, segs.length];
  else throw new AmlError(`name "${path}" has more than 255 segments`);
  return concat([Uint8Array.from(prefix), Uint8Array.from(head), ...segs]);
}

/** A reference to a named object (or a call of a method without arguments). */
export function ref(path: string): AmlNode {
  return new RawNode(nameString(path));
}

function toBigInt(v: number | bigint): bigint {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) {
    throw new AmlError(`integer ${v} is not a safe integer; pass a bigint`);
  }
  const b = BigInt(v);
  if (b < 0n || b >= 1n << 64n) throw new AmlError(`integer ${v} does not fit in 64 bits unsigned`);
  return b;
}

function littleEndian(value: bigint, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) out.push(Number((value >> BigInt(8 * i)) & 0xffn));
  return out;
}

/**
 * An integer constant in its shortest form: ZeroOp, OneOp, then Byte,
 * Word, DWord or QWord prefix by size. All-ones is QWord here; use `ones`
 * for OnesOp, whose width depends on the table revision.
 */
export function integer(value: number | bigint): AmlNode {
  const v = toBigInt(value);
  if (v === 0n) return new RawNode(Uint8Array.of(Op.Zero));
  if (v === 1n) return new RawNode(Uint8Array.of(Op.One));
  if (v <= 0xffn) return new RawNode(Uint8Array.of(Op.BytePrefix, ...littleEndian(v, 1)));
  if (v <= 0xffffn) return new RawNode(Uint8Array.of(Op.WordPrefix, ...littleEndian(v, 2)));
  if (v <= 0xffffffffn) return new RawNode(Uint8Array.of(Op.DWordPrefix, ...littleEndian(v, 4)));
  return new RawNode(Uint8Array.of(Op.QWordPrefix, ...littleEndian(v, 8)));
}

/** ZeroOp. */
export const zero: AmlNode = new RawNode(Uint8Array.of(Op.Zero));
/** OneOp. */
export const one: AmlNode = new RawNode(Uint8Array.of(Op.One));
/** OnesOp: all bits set at the table's integer width (64 bits in revision-2 tables). */
export const ones: AmlNode = new RawNode(Uint8Array.of(Op.Ones));

/** A String constant: ASCII 0x01-0x7F, NUL-terminated. */
export function string(s: string): AmlNode {
  const bytes = new Uint8Array(s.length + 2);
  bytes[0] = Op.StringPrefix;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 1 || c > 0x7f) throw new AmlError(`string "${s}" has a character outside ASCII 0x01-0x7F`);
    bytes[i + 1] = c;
  }
  return new RawNode(bytes);
}

/** Turns a term argument into a node (numbers become integer constants). */
export function term(t: AmlTerm): AmlNode {
  return typeof t === 'number' || typeof t === 'bigint' ? integer(t) : t;
}

/** Turns a data argument into a node (JS strings become String constants). */
export function data(d: AmlData): AmlNode {
  return typeof d === 'string' ? string(d) : term(d);
}

/** A Buffer of the given bytes; its size is encoded as an integer term. */
export function buffer(bytes: ArrayLike<number>): AmlNode {
  const body = Uint8Array.from(bytes);
  return new RawNode(sized([Op.Buffer], [integer(body.length).encode(), body]));
}

/**
 * A Package of data objects (use `ref` for name references). Up to 255
 * elements use PackageOp's byte count; more use VarPackageOp.
 */
export function pkg(elements: readonly AmlData[]): AmlNode {
  const encoded = elements.map((e) => data(e).encode());
  if (elements.length <= 255) {
    return new RawNode(sized([Op.Package], [Uint8Array.of(elements.length), ...encoded]));
  }
  return new RawNode(sized([Op.VarPackage], [integer(elements.length).encode(), ...encoded]));
}

/**
 * The 32-bit value of a compressed EISA id ("PNP0501" -> 0x0105D041): three
 * letters of 5 bits each and four hex digits, stored big-endian, read as a
 * little-endian DWord.
 */
export function eisaIdValue(id: string): number {
  if (!/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) throw new AmlError(`"${id}" is not an EISA id like PNP0501`);
  const letters = ((id.charCodeAt(0) & 0x1f) << 10) | ((id.charCodeAt(1) & 0x1f) << 5) | (id.charCodeAt(2) & 0x1f);
  const product = Number.parseInt(id.slice(3), 16);
  const be = [letters >> 8, letters & 0xff, product >> 8, product & 0xff];
  return (be[0]! | (be[1]! << 8) | (be[2]! << 16) | (be[3]! << 24)) >>> 0;
}

/** An EISAID("...") constant, always a DWord as ASL compilers emit it. */
export function eisaId(id: string): AmlNode {
  const v = eisaIdValue(id);
  return raw([Op.DWordPrefix, ...littleEndian(BigInt(v), 4)]);
}

/**
 * The 16 bytes of ToUUID("aabbccdd-eeff-gghh-iijj-kkllmmnnoopp"): the first
 * three groups little-endian, the last two in the order written.
 */
export function uuidBytes(uuid: string): Uint8Array {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(uuid);
  if (!m) throw new AmlError(`"${uuid}" is not a UUID`);
  const hexBytes = (s: string) => (s.match(/../g) ?? []).map((h) => Number.parseInt(h, 16));
  return Uint8Array.from([
    ...hexBytes(m[1]!).reverse(),
    ...hexBytes(m[2]!).reverse(),
    ...hexBytes(m[3]!).reverse(),
    ...hexBytes(m[4]!),
    ...hexBytes(m[5]!),
  ]);
}

/** ToUUID(...): a 16-byte Buffer. */
export function toUuid(uuid: string): AmlNode {
  return buffer(uuidBytes(uuid));
}

/** LocalN (0-7), a method's scratch variable. */
export function local(n: number): AmlNode {
  if (!Number.isInteger(n) || n < 0 || n > 7) throw new AmlError(`Local${n} does not exist (0-7)`);
  return raw([Op.Local0 + n]);
}

/** ArgN (0-6), a method argument. */
export function arg(n: number): AmlNode {
  if (!Number.isInteger(n) || n < 0 || n > 6) throw new AmlError(`Arg${n} does not exist (0-6)`);
  return raw([Op.Arg0 + n]);
}
