/**
 * The pieces every ACPI table shares (ACPI 6.x chapter 5.2): the 36-byte
 * system description table header, checksums, Generic Address Structures,
 * and the small tables (RSDP, XSDT, MCFG, DSDT) that are little more than a
 * header and a list.
 *
 * Spec: https://uefi.org/specs/ACPI/6.5/05_ACPI_Software_Programming_Model.html
 */
import { type AmlNode, encodeAll } from './aml.js';

/** OEMID in every table and the RSDP (6 bytes, space-padded). */
export const OEM_ID = 'TSVMM ';
/** OEM Table ID in every table header (8 bytes). */
export const OEM_TABLE_ID = 'TSVMM   ';
/** Creator ID: the tool that built the table (4 bytes). */
export const CREATOR_ID = 'TSVM';
/** Length of the common table header. */
export const HEADER_SIZE = 36;

/** The byte that makes `bytes` sum to 0 mod 256 once stored at `at` (whose current value is ignored). */
export function checksumFor(bytes: Uint8Array, at: number, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) if (i !== at) sum += bytes[i]!;
  return (256 - (sum & 0xff)) & 0xff;
}

/** Sum of `bytes[start, end)` mod 256; 0 for a valid table. */
export function byteSum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += bytes[i]!;
  return sum & 0xff;
}

/** Writes ASCII `s` at `offset`. */
export function putAscii(bytes: Uint8Array, offset: number, s: string): void {
  for (let i = 0; i < s.length; i++) bytes[offset + i] = s.charCodeAt(i);
}

/**
 * A table of `length` bytes with its header filled in except the checksum
 * (call `seal` after writing the body). Table revisions follow the ACPI
 * version each layout comes from.
 */
export function newTable(signature: string, revision: number, length: number): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  putAscii(bytes, 0, signature);
  view.setUint32(4, length, true);
  bytes[8] = revision;
  putAscii(bytes, 10, OEM_ID);
  putAscii(bytes, 16, OEM_TABLE_ID);
  view.setUint32(24, 1, true); // OEM revision
  putAscii(bytes, 28, CREATOR_ID);
  view.setUint32(32, 1, true); // creator revision
  return { bytes, view };
}

/** Sets the header checksum (byte 9) so the whole table sums to zero. */
export function seal(bytes: Uint8Array): Uint8Array {
  bytes[9] = checksumFor(bytes, 9);
  return bytes;
}

/** Address space of a Generic Address Structure. */
export type GasSpace = 'memory' | 'io';

/** A Generic Address Structure (5.2.3.2), as the FADT's register fields hold. */
export interface Gas {
  readonly space: GasSpace;
  readonly address: number;
  readonly bitWidth: number;
  readonly bitOffset?: number;
  /** 1 byte, 2 word, 3 dword, 4 qword (0 undefined). */
  readonly accessSize: 0 | 1 | 2 | 3 | 4;
}

/** Writes a 12-byte GAS at `offset`. */
export function putGas(view: DataView, offset: number, gas: Gas): void {
  view.setUint8(offset, gas.space === 'memory' ? 0 : 1);
  view.setUint8(offset + 1, gas.bitWidth);
  view.setUint8(offset + 2, gas.bitOffset ?? 0);
  view.setUint8(offset + 3, gas.accessSize);
  view.setBigUint64(offset + 4, BigInt(gas.address), true);
}

/** A byte-wide port register as a GAS (the sleep and reset registers). */
export function ioByteGas(port: number): Gas {
  return { space: 'io', address: port, bitWidth: 8, accessSize: 1 };
}

/** Size of the ACPI 2.0+ RSDP. */
export const RSDP_SIZE = 36;

/**
 * RSDP revision 2 (5.2.5.3): no RSDT (its address is 0; every OS that reads
 * revision 2 uses the XSDT), a checksum over the first 20 bytes (the ACPI
 * 1.0 part) and an extended checksum over all 36.
 */
export function rsdp(xsdtAddress: number): Uint8Array {
  const bytes = new Uint8Array(RSDP_SIZE);
  const view = new DataView(bytes.buffer);
  putAscii(bytes, 0, 'RSD PTR ');
  putAscii(bytes, 9, OEM_ID);
  bytes[15] = 2;
  view.setUint32(16, 0, true);
  view.setUint32(20, RSDP_SIZE, true);
  view.setBigUint64(24, BigInt(xsdtAddress), true);
  bytes[8] = checksumFor(bytes, 8, 0, 20);
  bytes[32] = checksumFor(bytes, 32, 0, RSDP_SIZE);
  return bytes;
}

/** XSDT (5.2.8): 64-bit pointers to every table but the DSDT and FACS. */
export function xsdt(entries: readonly number[]): Uint8Array {
  const { bytes, view } = newTable('XSDT', 1, HEADER_SIZE + 8 * entries.length);
  entries.forEach((gpa, i) => view.setBigUint64(HEADER_SIZE + 8 * i, BigInt(gpa), true));
  return seal(bytes);
}

/** One ECAM window of the MCFG. */
export interface EcamWindow {
  readonly base: number;
  readonly segment: number;
  readonly startBus: number;
  readonly endBus: number;
}

/** MCFG (PCI Firmware Specification 3.x, 4.1.2): where PCIe configuration space is memory-mapped. */
export function mcfg(windows: readonly EcamWindow[]): Uint8Array {
  const { bytes, view } = newTable('MCFG', 1, HEADER_SIZE + 8 + 16 * windows.length);
  windows.forEach((w, i) => {
    const at = HEADER_SIZE + 8 + 16 * i;
    view.setBigUint64(at, BigInt(w.base), true);
    view.setUint16(at + 8, w.segment, true);
    view.setUint8(at + 10, w.startBus);
    view.setUint8(at + 11, w.endBus);
  });
  return seal(bytes);
}

/** DSDT: the header and an AML body. Revision 2 makes AML integers 64-bit. */
export function dsdt(body: readonly AmlNode[]): Uint8Array {
  const aml = encodeAll(body);
  const { bytes } = newTable('DSDT', 2, HEADER_SIZE + aml.length);
  bytes.set(aml, HEADER_SIZE);
  return seal(bytes);
}
