/**
 * AML named objects and operators (ACPI 6.x 20.2.5): Scope, Device, Name,
 * Method, control flow, logic and arithmetic, OperationRegion and Field.
 * Function names follow ASL in camelCase; `ifThen` and `returnValue`
 * because `if` and `return` are JavaScript keywords.
 */
import {
  type AmlData,
  type AmlNode,
  type AmlTerm,
  AmlError,
  Op,
  concat,
  data,
  encodeAll,
  encodePkgLength,
  nameSeg,
  nameString,
  raw,
  sized,
  term,
} from './aml.js';

const NULL_NAME = Uint8Array.of(0x00);

/** Scope(path) { children }. */
export function scope(path: string, children: readonly AmlNode[]): AmlNode {
  return raw(sized([Op.Scope], [nameString(path), encodeAll(children)]));
}

/** Device(path) { children }. */
export function device(path: string, children: readonly AmlNode[]): AmlNode {
  return raw(sized([Op.ExtPrefix, 0x82], [nameString(path), encodeAll(children)]));
}

/** Name(path, value); JS strings become String constants. */
export function name(path: string, value: AmlData): AmlNode {
  return raw(concat([Uint8Array.of(Op.Name), nameString(path), data(value).encode()]));
}

/** Method flags: argument count, whether calls are serialized, sync level. */
export interface MethodOptions {
  /** 0-7 arguments. */
  readonly args?: number;
  /** Serialized methods get an implicit mutex (needed when they create named objects). */
  readonly serialized?: boolean;
  /** 0-15. */
  readonly syncLevel?: number;
}

/** Method(path, args, Serialized|NotSerialized) { body }. */
export function method(path: string, options: MethodOptions, body: readonly AmlNode[]): AmlNode {
  const args = options.args ?? 0;
  const sync = options.syncLevel ?? 0;
  if (!Number.isInteger(args) || args < 0 || args > 7) throw new AmlError(`method ${path}: ${args} arguments (0-7)`);
  if (!Number.isInteger(sync) || sync < 0 || sync > 15) throw new AmlError(`method ${path}: sync level ${sync} (0-15)`);
  const flags = args | (options.serialized ? 0x08 : 0) | (sync << 4);
  return raw(sized([Op.Method], [nameString(path), Uint8Array.of(flags), encodeAll(body)]));
}

/** Calls method `path` with arguments (the caller must match its declared count). */
export function call(path: string, args: readonly AmlTerm[] = []): AmlNode {
  return raw(concat([nameString(path), ...args.map((a) => term(a).encode())]));
}

/** Return(value). */
export function returnValue(value: AmlData): AmlNode {
  return raw(concat([Uint8Array.of(0xa4), data(value).encode()]));
}

/** Notify(object, value), e.g. Notify(\_SB.PWRB, 0x80). */
export function notify(target: AmlNode, value: AmlTerm): AmlNode {
  return raw(concat([Uint8Array.of(0x86), target.encode(), term(value).encode()]));
}

/** If (predicate) { body } [Else { elseBody }]. */
export function ifThen(predicate: AmlTerm, body: readonly AmlNode[], elseBody?: readonly AmlNode[]): AmlNode {
  const ifPart = sized([0xa0], [term(predicate).encode(), encodeAll(body)]);
  if (elseBody === undefined) return raw(ifPart);
  return raw(concat([ifPart, sized([0xa1], [encodeAll(elseBody)])]));
}

/** Store(source, destination). */
export function store(source: AmlData, destination: AmlNode): AmlNode {
  return raw(concat([Uint8Array.of(0x70), data(source).encode(), destination.encode()]));
}

function binary(opcode: number) {
  return (a: AmlTerm, b: AmlTerm, target?: AmlNode): AmlNode =>
    raw(concat([Uint8Array.of(opcode), term(a).encode(), term(b).encode(), target ? target.encode() : NULL_NAME]));
}

function logical(opcode: number) {
  return (a: AmlTerm, b: AmlTerm): AmlNode => raw(concat([Uint8Array.of(opcode), term(a).encode(), term(b).encode()]));
}

/** Add(a, b[, target]). */
export const add = binary(0x72);
/** Subtract(a, b[, target]). */
export const subtract = binary(0x74);
/** ShiftLeft(a, count[, target]). */
export const shiftLeft = binary(0x79);
/** ShiftRight(a, count[, target]). */
export const shiftRight = binary(0x7a);
/** And(a, b[, target]): bitwise. */
export const and = binary(0x7b);
/** Or(a, b[, target]): bitwise. */
export const or = binary(0x7d);
/** XOr(a, b[, target]): bitwise. */
export const xor = binary(0x7f);

/** LAnd(a, b). */
export const lAnd = logical(0x90);
/** LOr(a, b). */
export const lOr = logical(0x91);
/** LEqual(a, b). */
export const lEqual = logical(0x93);
/** LGreater(a, b). */
export const lGreater = logical(0x94);
/** LLess(a, b). */
export const lLess = logical(0x95);

/** LNot(a). */
export function lNot(a: AmlTerm): AmlNode {
  return raw(concat([Uint8Array.of(0x92), term(a).encode()]));
}

/** CreateDWordField(buffer, byteIndex, name): a named 32-bit view into a buffer (for _OSC, _CRS fixups). */
export function createDWordField(source: AmlNode, byteIndex: AmlTerm, fieldName: string): AmlNode {
  return raw(concat([Uint8Array.of(0x8a), source.encode(), term(byteIndex).encode(), nameString(fieldName)]));
}

/** Address spaces an OperationRegion can live in (Table 19.x RegionSpace). */
export const RegionSpace = {
  SystemMemory: 0,
  SystemIO: 1,
  PCI_Config: 2,
} as const;

/** OperationRegion(name, space, offset, length). */
export function operationRegion(
  regionName: string,
  space: keyof typeof RegionSpace,
  offset: AmlTerm,
  length: AmlTerm,
): AmlNode {
  return raw(
    concat([
      Uint8Array.of(Op.ExtPrefix, 0x80),
      nameString(regionName),
      Uint8Array.of(RegionSpace[space]),
      term(offset).encode(),
      term(length).encode(),
    ]),
  );
}

const ACCESS = { AnyAcc: 0, ByteAcc: 1, WordAcc: 2, DWordAcc: 3, QWordAcc: 4, BufferAcc: 5 } as const;
const UPDATE = { Preserve: 0, WriteAsOnes: 1, WriteAsZeros: 2 } as const;

/** Field access width. */
export type FieldAccess = keyof typeof ACCESS;
/** What happens to the bits of a field unit a write does not cover. */
export type FieldUpdate = keyof typeof UPDATE;

/** Field flags. */
export interface FieldOptions {
  readonly access: FieldAccess;
  /** Lock: take the global lock around accesses. */
  readonly lock?: boolean;
  readonly update?: FieldUpdate;
}

/** One element of a field list: a named field, skipped bits, or ASL's Offset(byte). */
export type FieldEntry =
  | { readonly name: string; readonly bits: number }
  | { readonly reserved: number }
  | { readonly offset: number };

/**
 * Field(region, access, lock, update) { entries }. Each named field is a
 * NameSeg followed by its width in bits in PkgLength form (the width alone,
 * without the self-count of package lengths); Offset() becomes skipped bits.
 */
export function field(region: string, options: FieldOptions, entries: readonly FieldEntry[]): AmlNode {
  const flags = ACCESS[options.access] | (options.lock ? 0x10 : 0) | (UPDATE[options.update ?? 'Preserve'] << 5);
  const parts: Uint8Array[] = [nameString(region), Uint8Array.of(flags)];
  let bit = 0;
  for (const e of entries) {
    if ('name' in e) {
      if (!Number.isInteger(e.bits) || e.bits < 1) throw new AmlError(`field ${e.name}: width ${e.bits} bits`);
      parts.push(nameSeg(e.name), encodePkgLength(e.bits));
      bit += e.bits;
    } else {
      const skip = 'reserved' in e ? e.reserved : e.offset * 8 - bit;
      if (!Number.isInteger(skip) || skip < 0) throw new AmlError(`field list of ${region} moves backwards at bit ${bit}`);
      if (skip > 0) parts.push(NULL_NAME, encodePkgLength(skip));
      bit += skip;
    }
  }
  return raw(sized([Op.ExtPrefix, 0x81], parts));
}
