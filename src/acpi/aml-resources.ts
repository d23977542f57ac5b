/**
 * Resource descriptors for _CRS and friends (ACPI 6.x section 6.4), and
 * ResourceTemplate(), which wraps them in a Buffer closed by an End Tag
 * whose checksum byte makes the whole template sum to zero.
 *
 * Spec: https://uefi.org/specs/ACPI/6.5/06_Device_Configuration.html#resource-data-types-for-acpi
 */
import { type AmlNode, AmlError, buffer, concat } from './aml.js';

/** One encoded resource descriptor (not an AML object by itself). */
export interface ResourceDescriptor {
  readonly bytes: Uint8Array;
}

function u16(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff];
}

function u32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

function u64(v: bigint): number[] {
  const out: number[] = [];
  for (let i = 0; i < 8; i++) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
  return out;
}

function checkRange(what: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new AmlError(`${what} ${v} is outside 0..0x${max.toString(16)}`);
  return v;
}

function descriptor(bytes: number[]): ResourceDescriptor {
  return { bytes: Uint8Array.from(bytes) };
}

/** The End Tag's checksum: the byte that makes all descriptor bytes plus the tag sum to 0 mod 256. */
export function endTagChecksum(descriptors: Uint8Array): number {
  let sum = 0x79;
  for (const b of descriptors) sum += b;
  return (256 - (sum & 0xff)) & 0xff;
}

/** ResourceTemplate() { descriptors }: a Buffer ending with a checksummed End Tag. */
export function resourceTemplate(descriptors: readonly ResourceDescriptor[]): AmlNode {
  const body = concat(descriptors.map((d) => d.bytes));
  return buffer(concat([body, Uint8Array.of(0x79, endTagChecksum(body))]));
}

/** IO(Decode16|Decode10, min, max, alignment, length): small descriptor 0x47. */
export function io(min: number, length: number, options: { max?: number; alignment?: number; decode16?: boolean } = {}): ResourceDescriptor {
  const max = options.max ?? min;
  return descriptor([
    0x47,
    options.decode16 === false ? 0 : 1,
    ...u16(checkRange('IO minimum', min, 0xffff)),
    ...u16(checkRange('IO maximum', max, 0xffff)),
    checkRange('IO alignment', options.alignment ?? 1, 0xff),
    checkRange('IO length', length, 0xff),
  ]);
}

/** IRQNoFlags() { irqs }: ISA IRQs, edge-triggered, active-high, exclusive (small descriptor 0x22). */
export function irqNoFlags(irqs: readonly number[]): ResourceDescriptor {
  let mask = 0;
  for (const irq of irqs) mask |= 1 << checkRange('ISA IRQ', irq, 15);
  return descriptor([0x22, ...u16(mask)]);
}

/** Trigger mode and polarity of an interrupt. */
export interface InterruptMode {
  readonly trigger: 'edge' | 'level';
  readonly polarity: 'high' | 'low';
  readonly shared?: boolean;
  readonly wakeCapable?: boolean;
  /** The device consumes the interrupt (the default) rather than producing it for children. */
  readonly producer?: boolean;
}

/** Interrupt(ResourceConsumer, Edge|Level, ActiveHigh|ActiveLow, Exclusive|Shared) { gsis }: large descriptor 0x89. */
export function interrupt(mode: InterruptMode, gsis: readonly number[]): ResourceDescriptor {
  if (gsis.length === 0 || gsis.length > 255) throw new AmlError(`Interrupt() needs 1-255 GSIs, got ${gsis.length}`);
  const flags =
    (mode.producer ? 0 : 0x01) |
    (mode.trigger === 'edge' ? 0x02 : 0) |
    (mode.polarity === 'low' ? 0x04 : 0) |
    (mode.shared ? 0x08 : 0) |
    (mode.wakeCapable ? 0x10 : 0);
  const ints = gsis.flatMap((g) => u32(checkRange('GSI', g, 0xffffffff)));
  return descriptor([0x89, ...u16(2 + ints.length), flags, gsis.length, ...ints]);
}

/** Memory32Fixed(ReadWrite|ReadOnly, base, length): large descriptor 0x86. */
export function memory32Fixed(base: number, length: number, writable = true): ResourceDescriptor {
  return descriptor([
    0x86,
    ...u16(9),
    writable ? 1 : 0,
    ...u32(checkRange('Memory32Fixed base', base, 0xffffffff)),
    ...u32(checkRange('Memory32Fixed length', length, 0xffffffff)),
  ]);
}

/** Fields shared by Word/DWord/QWord address space descriptors. */
export interface AddressSpace<N> {
  readonly min: N;
  readonly max: N;
  /** Defaults to max - min + 1. */
  readonly length?: N;
  readonly granularity?: N;
  readonly translation?: N;
  /** ResourceProducer: a bridge window handed to children (PCI root). Default consumer, as ASL. */
  readonly producer?: boolean;
  readonly subtractive?: boolean;
  /** MinFixed/MaxFixed, both default true. */
  readonly minFixed?: boolean;
  readonly maxFixed?: boolean;
}

const RESOURCE_TYPE = { memory: 0, io: 1, bus: 2 } as const;

function generalFlags(a: AddressSpace<unknown>): number {
  return (
    (a.producer ? 0 : 0x01) |
    (a.subtractive ? 0x02 : 0) |
    (a.minFixed === false ? 0 : 0x04) |
    (a.maxFixed === false ? 0 : 0x08)
  );
}

function wordSpace(kind: keyof typeof RESOURCE_TYPE, typeFlags: number, a: AddressSpace<number>): ResourceDescriptor {
  const field = (what: string, v: number) => u16(checkRange(what, v, 0xffff));
  return descriptor([
    0x88,
    ...u16(13),
    RESOURCE_TYPE[kind],
    generalFlags(a),
    typeFlags,
    ...field('granularity', a.granularity ?? 0),
    ...field('minimum', a.min),
    ...field('maximum', a.max),
    ...field('translation', a.translation ?? 0),
    ...field('length', a.length ?? a.max - a.min + 1),
  ]);
}

/** WordBusNumber(...): the bus numbers a PCI host bridge decodes. */
export function wordBusNumber(a: AddressSpace<number>): ResourceDescriptor {
  return wordSpace('bus', 0, a);
}

/** Which ranges an I/O window decodes (_RNG). */
export type IoRanges = 'non-isa' | 'isa' | 'entire';

/** WordIO(...): an I/O port window. */
export function wordIo(a: AddressSpace<number> & { readonly ranges?: IoRanges }): ResourceDescriptor {
  const rng = { 'non-isa': 1, isa: 2, entire: 3 }[a.ranges ?? 'entire'];
  return wordSpace('io', rng, a);
}

/** Caching of a memory window (_MEM). */
export type MemoryCaching = 'non-cacheable' | 'cacheable' | 'write-combining' | 'prefetchable';

/** Options of DWordMemory/QWordMemory beyond the address fields. */
export interface MemoryFlags {
  readonly caching?: MemoryCaching;
  /** Default true. */
  readonly writable?: boolean;
}

function memoryTypeFlags(m: MemoryFlags): number {
  const mem = { 'non-cacheable': 0, cacheable: 1, 'write-combining': 2, prefetchable: 3 }[m.caching ?? 'non-cacheable'];
  return (m.writable === false ? 0 : 1) | (mem << 1);
}

/** DWordMemory(...): a 32-bit memory window (large descriptor 0x87). */
export function dwordMemory(a: AddressSpace<number> & MemoryFlags): ResourceDescriptor {
  const field = (what: string, v: number) => u32(checkRange(what, v, 0xffffffff));
  return descriptor([
    0x87,
    ...u16(23),
    RESOURCE_TYPE.memory,
    generalFlags(a),
    memoryTypeFlags(a),
    ...field('granularity', a.granularity ?? 0),
    ...field('minimum', a.min),
    ...field('maximum', a.max),
    ...field('translation', a.translation ?? 0),
    ...field('length', a.length ?? a.max - a.min + 1),
  ]);
}

function big(what: string, v: number | bigint): bigint {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new AmlError(`${what} ${v} is not a safe integer; pass a bigint`);
  const b = BigInt(v);
  if (b < 0n || b >= 1n << 64n) throw new AmlError(`${what} ${v} does not fit in 64 bits`);
  return b;
}

/** QWordMemory(...): a 64-bit memory window (large descriptor 0x8A). */
export function qwordMemory(a: AddressSpace<number | bigint> & MemoryFlags): ResourceDescriptor {
  const min = big('minimum', a.min);
  const max = big('maximum', a.max);
  return descriptor([
    0x8a,
    ...u16(43),
    RESOURCE_TYPE.memory,
    generalFlags(a),
    memoryTypeFlags(a),
    ...u64(big('granularity', a.granularity ?? 0)),
    ...u64(min),
    ...u64(max),
    ...u64(big('translation', a.translation ?? 0)),
    ...u64(big('length', a.length ?? max - min + 1n)),
  ]);
}
