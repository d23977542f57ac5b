import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import {
  AmlError,
  arg,
  buffer,
  eisaId,
  eisaIdValue,
  encodePkgLength,
  integer,
  local,
  nameSeg,
  nameString,
  ones,
  pkg,
  pkgLength,
  ref,
  string,
  toUuid,
  uuidBytes,
} from './aml.js';
import {
  add,
  and,
  call,
  createDWordField,
  device,
  field,
  ifThen,
  lAnd,
  lEqual,
  lGreater,
  lLess,
  lNot,
  lOr,
  method,
  name,
  notify,
  operationRegion,
  or,
  returnValue,
  scope,
  shiftLeft,
  shiftRight,
  store,
  subtract,
  xor,
} from './aml-ops.js';

const bytes = (node: { encode(): Uint8Array }) => [...node.encode()];
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** Decodes a PkgLength the way an AML parser does; returns [value, bytes used]. */
function decodePkgLength(b: Uint8Array): [number, number] {
  const follow = b[0]! >> 6;
  if (follow === 0) return [b[0]! & 0x3f, 1];
  let v = b[0]! & 0x0f;
  for (let i = 1; i <= follow; i++) v |= b[i]! << (4 + 8 * (i - 1));
  return [v, follow + 1];
}

test('PkgLength: the raw encoding at every size boundary', () => {
  assert.deepEqual([...encodePkgLength(0)], [0x00]);
  assert.deepEqual([...encodePkgLength(63)], [0x3f]);
  assert.deepEqual([...encodePkgLength(64)], [0x40, 0x04]);
  assert.deepEqual([...encodePkgLength(4095)], [0x4f, 0xff]);
  assert.deepEqual([...encodePkgLength(4096)], [0x80, 0x00, 0x01]);
  assert.deepEqual([...encodePkgLength(0xfffff)], [0x8f, 0xff, 0xff]);
  assert.deepEqual([...encodePkgLength(0x100000)], [0xc0, 0x00, 0x00, 0x01]);
  assert.deepEqual([...encodePkgLength(2 ** 28 - 1)], [0xcf, 0xff, 0xff, 0xff]);
  assert.throws(() => encodePkgLength(2 ** 28), AmlError);
  assert.throws(() => encodePkgLength(-1), AmlError);
});

test('PkgLength of an object counts its own bytes, so it grows one body byte early', () => {
  // 62 body bytes + 1 = 63 fits one byte; 63 + 1 = 64 does not, so two bytes: 65.
  assert.deepEqual([...pkgLength(62)], [0x3f]);
  assert.deepEqual([...pkgLength(63)], [0x41, 0x04]);
  assert.deepEqual([...pkgLength(64)], [0x42, 0x04]);
  // 4093 + 2 = 4095 is the largest two-byte value; 4094 needs three: 4097.
  assert.deepEqual([...pkgLength(4093)], [0x4f, 0xff]);
  assert.deepEqual([...pkgLength(4094)], [0x81, 0x00, 0x01]);
  assert.deepEqual([...pkgLength(4096)], [0x83, 0x00, 0x01]);
  assert.deepEqual([...pkgLength(0xfffff - 3)], [0x8f, 0xff, 0xff]);
  assert.deepEqual([...pkgLength(0xfffff - 2)], [0xc1, 0x00, 0x00, 0x01]);
  assert.throws(() => pkgLength(2 ** 28), AmlError);
});

test('property: PkgLength decodes to body + its own size and is the shortest that fits', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 28 - 5 }), (body) => {
      const enc = pkgLength(body);
      const [value, used] = decodePkgLength(enc);
      assert.equal(used, enc.length);
      assert.equal(value, body + enc.length);
      if (enc.length > 1) {
        // One byte fewer could not have held body + (size - 1).
        const smaller = enc.length - 1;
        const limit = smaller === 1 ? 0x40 : 2 ** (4 + 8 * (smaller - 1));
        assert.ok(body + smaller >= limit);
      }
    }),
  );
});

test('a 62-byte buffer payload crosses into a two-byte PkgLength', () => {
  // Body = BytePrefix size (2 bytes) + payload.
  assert.deepEqual(bytes(buffer(new Uint8Array(60))).slice(0, 4), [0x11, 0x3f, 0x0a, 60]);
  assert.deepEqual(bytes(buffer(new Uint8Array(61))).slice(0, 5), [0x11, 0x41, 0x04, 0x0a, 61]);
  const big = buffer(new Uint8Array(5000)).encode();
  assert.deepEqual([...big.subarray(0, 7)], [0x11, 0x8e, 0x38, 0x01, 0x0b, 0x88, 0x13]);
  assert.equal(decodePkgLength(big.subarray(1))[0], big.length - 1);
});

test('integers use Zero/One and the smallest prefix', () => {
  assert.deepEqual(bytes(integer(0)), [0x00]);
  assert.deepEqual(bytes(integer(1)), [0x01]);
  assert.deepEqual(bytes(integer(2)), [0x0a, 0x02]);
  assert.deepEqual(bytes(integer(0xff)), [0x0a, 0xff]);
  assert.deepEqual(bytes(integer(0x100)), [0x0b, 0x00, 0x01]);
  assert.deepEqual(bytes(integer(0xffff)), [0x0b, 0xff, 0xff]);
  assert.deepEqual(bytes(integer(0x10000)), [0x0c, 0x00, 0x00, 0x01, 0x00]);
  assert.deepEqual(bytes(integer(0xffffffff)), [0x0c, 0xff, 0xff, 0xff, 0xff]);
  assert.deepEqual(bytes(integer(0x1_0000_0000)), [0x0e, 0, 0, 0, 0, 1, 0, 0, 0]);
  assert.deepEqual(bytes(integer(0xffff_ffff_ffff_ffffn)), [0x0e, ...new Array(8).fill(0xff)]);
  assert.deepEqual(bytes(integer(0x1234_5678_9abc_def0n)), [0x0e, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12]);
  assert.deepEqual(bytes(ones), [0xff]);
  assert.throws(() => integer(-1), AmlError);
  assert.throws(() => integer(1n << 64n), AmlError);
  assert.throws(() => integer(2 ** 60), /bigint/);
  assert.throws(() => integer(1.5), AmlError);
});

test('name segments are padded with _ and validated', () => {
  assert.deepEqual([...nameSeg('_SB')], ascii('_SB_'));
  assert.deepEqual([...nameSeg('A')], ascii('A___'));
  assert.deepEqual([...nameSeg('PCI0')], ascii('PCI0'));
  for (const bad of ['', '1ABC', 'ABCDE', 'pci0', 'A-B', 'A B']) assert.throws(() => nameSeg(bad), AmlError, bad);
});

test('name strings: root and parent prefixes, dual and multi-segment paths, NullName', () => {
  assert.deepEqual([...nameString('_SB')], ascii('_SB_'));
  assert.deepEqual([...nameString('\\')], [0x5c, 0x00]);
  assert.deepEqual([...nameString('')], [0x00]);
  assert.deepEqual([...nameString('\\_SB')], [0x5c, ...ascii('_SB_')]);
  assert.deepEqual([...nameString('\\_SB.PCI0')], [0x5c, 0x2e, ...ascii('_SB_PCI0')]);
  assert.deepEqual([...nameString('\\_SB.PCI0.S08')], [0x5c, 0x2f, 0x03, ...ascii('_SB_PCI0S08_')]);
  assert.deepEqual([...nameString('^^FOO')], [0x5e, 0x5e, ...ascii('FOO_')]);
  assert.deepEqual([...nameString('^PCI0.S00')], [0x5e, 0x2e, ...ascii('PCI0S00_')]);
  assert.deepEqual([...nameString('A.B.C.D')], [0x2f, 0x04, ...ascii('A___B___C___D___')]);
  assert.throws(() => nameString('\\\\X'), AmlError);
  assert.throws(() => nameString('A..B'), AmlError);
  assert.throws(() => nameString('\\^A'), AmlError);
});

test('strings, buffers and packages', () => {
  assert.deepEqual(bytes(string('ACPI0013')), [0x0d, ...ascii('ACPI0013'), 0x00]);
  assert.deepEqual(bytes(string('')), [0x0d, 0x00]);
  assert.throws(() => string('é'), AmlError);
  assert.throws(() => string('a\0b'), AmlError);
  assert.deepEqual(bytes(buffer([1, 2, 3])), [0x11, 0x06, 0x0a, 0x03, 1, 2, 3]);
  assert.deepEqual(bytes(buffer([])), [0x11, 0x02, 0x00]);
  assert.deepEqual(bytes(pkg([5, 0, 0, 0])), [0x12, 0x07, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00]);
  assert.deepEqual(bytes(pkg(['A', ref('FOO')])), [0x12, 0x09, 0x02, 0x0d, 0x41, 0x00, ...ascii('FOO_')]);
  // Past 255 elements the count becomes a term of VarPackageOp.
  const many = pkg(new Array(256).fill(0)).encode();
  assert.deepEqual([...many.subarray(0, 6)], [0x13, 0x45, 0x10, 0x0b, 0x00, 0x01]);
});

test('EISAID compresses three letters and four hex digits into a DWord', () => {
  assert.equal(eisaIdValue('PNP0501'), 0x0105d041);
  assert.equal(eisaIdValue('PNP0A08'), 0x080ad041);
  assert.equal(eisaIdValue('PNP0C0C'), 0x0c0cd041);
  assert.deepEqual(bytes(eisaId('PNP0501')), [0x0c, 0x41, 0xd0, 0x05, 0x01]);
  for (const bad of ['PNP050', 'pnp0501', 'PNP050G', 'P1P0501']) assert.throws(() => eisaIdValue(bad), AmlError, bad);
});

test('ToUUID stores the first three groups little-endian', () => {
  const pciHostBridgeOsc = '33DB4D5B-1FF7-401C-9657-7441C03DD766';
  assert.deepEqual(
    [...uuidBytes(pciHostBridgeOsc)],
    [0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f, 0x1c, 0x40, 0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66],
  );
  assert.deepEqual(bytes(toUuid(pciHostBridgeOsc)).slice(0, 4), [0x11, 0x13, 0x0a, 0x10]);
  assert.throws(() => uuidBytes('33DB4D5B-1FF7-401C-9657'), AmlError);
});

test('Local and Arg objects', () => {
  assert.deepEqual(bytes(local(0)), [0x60]);
  assert.deepEqual(bytes(local(7)), [0x67]);
  assert.deepEqual(bytes(arg(0)), [0x68]);
  assert.deepEqual(bytes(arg(6)), [0x6e]);
  assert.throws(() => local(8), AmlError);
  assert.throws(() => arg(7), AmlError);
});

test('Scope, Device, Name and Method', () => {
  assert.deepEqual(bytes(scope('\\_SB', [])), [0x10, 0x06, 0x5c, ...ascii('_SB_')]);
  assert.deepEqual(bytes(device('COM1', [])), [0x5b, 0x82, 0x05, ...ascii('COM1')]);
  assert.deepEqual(bytes(name('_UID', 1)), [0x08, ...ascii('_UID'), 0x01]);
  assert.deepEqual(bytes(name('_HID', 'ACPI0013')), [0x08, ...ascii('_HID'), 0x0d, ...ascii('ACPI0013'), 0x00]);
  assert.deepEqual(bytes(name('\\_S5_', pkg([5, 0, 0, 0]))), [0x08, 0x5c, ...ascii('_S5_'), 0x12, 0x07, 0x04, 0x0a, 5, 0, 0, 0]);
  assert.deepEqual(bytes(method('_STA', {}, [returnValue(0x0f)])), [0x14, 0x09, ...ascii('_STA'), 0x00, 0xa4, 0x0a, 0x0f]);
  assert.deepEqual(bytes(method('_EVT', { args: 1, serialized: true }, [])).slice(6), [0x09]);
  assert.deepEqual(bytes(method('M', { args: 7, serialized: true, syncLevel: 15 }, [])).slice(6), [0xff]);
  assert.throws(() => method('M', { args: 8 }, []), AmlError);
  assert.throws(() => method('M', { syncLevel: 16 }, []), AmlError);
  const inner = device('DEV', [name('_ADR', 0)]);
  assert.deepEqual(bytes(scope('_SB', [inner])), [0x10, 0x12, ...ascii('_SB_'), ...bytes(inner)]);
});

test('Notify, If/Else, Return, Store and calls', () => {
  assert.deepEqual(bytes(notify(ref('\\_SB.PWRB'), 0x80)), [0x86, 0x5c, 0x2e, ...ascii('_SB_PWRB'), 0x0a, 0x80]);
  assert.deepEqual(bytes(ifThen(lEqual(arg(0), 1), [returnValue(1)])), [0xa0, 0x06, 0x93, 0x68, 0x01, 0xa4, 0x01]);
  assert.deepEqual(bytes(ifThen(lEqual(arg(0), 1), [returnValue(1)], [returnValue(0)])), [
    0xa0, 0x06, 0x93, 0x68, 0x01, 0xa4, 0x01, 0xa1, 0x03, 0xa4, 0x00,
  ]);
  assert.deepEqual(bytes(store(ref('GEVT'), local(0))), [0x70, ...ascii('GEVT'), 0x60]);
  assert.deepEqual(bytes(store('x', local(1))), [0x70, 0x0d, 0x78, 0x00, 0x61]);
  assert.deepEqual(bytes(call('\\_SB.FOO', [1, arg(0)])), [0x5c, 0x2e, ...ascii('_SB_FOO_'), 0x01, 0x68]);
});

test('logic and arithmetic operators: opcodes, operands, and a NullName target when none is given', () => {
  assert.deepEqual(bytes(and(local(0), 1)), [0x7b, 0x60, 0x01, 0x00]);
  assert.deepEqual(bytes(and(local(0), 1, local(1))), [0x7b, 0x60, 0x01, 0x61]);
  assert.deepEqual(bytes(or(1, 2, local(0))), [0x7d, 0x01, 0x0a, 0x02, 0x60]);
  assert.deepEqual(bytes(xor(local(0), 0xff)), [0x7f, 0x60, 0x0a, 0xff, 0x00]);
  assert.deepEqual(bytes(add(local(0), 1, local(0))), [0x72, 0x60, 0x01, 0x60]);
  assert.deepEqual(bytes(subtract(local(0), 1)), [0x74, 0x60, 0x01, 0x00]);
  assert.deepEqual(bytes(shiftLeft(1, 3, local(2))), [0x79, 0x01, 0x0a, 0x03, 0x62]);
  assert.deepEqual(bytes(shiftRight(arg(0), 8)), [0x7a, 0x68, 0x0a, 0x08, 0x00]);
  assert.deepEqual(bytes(lAnd(arg(0), arg(1))), [0x90, 0x68, 0x69]);
  assert.deepEqual(bytes(lOr(arg(0), 0)), [0x91, 0x68, 0x00]);
  assert.deepEqual(bytes(lNot(arg(0))), [0x92, 0x68]);
  assert.deepEqual(bytes(lGreater(arg(0), 2)), [0x94, 0x68, 0x0a, 0x02]);
  assert.deepEqual(bytes(lLess(arg(0), 2)), [0x95, 0x68, 0x0a, 0x02]);
  assert.deepEqual(bytes(createDWordField(arg(3), 4, 'CDW2')), [0x8a, 0x6b, 0x0a, 0x04, ...ascii('CDW2')]);
});

test('OperationRegion and Field', () => {
  assert.deepEqual(bytes(operationRegion('GDST', 'SystemIO', 0x610, 4)), [
    0x5b, 0x80, ...ascii('GDST'), 0x01, 0x0b, 0x10, 0x06, 0x0a, 0x04,
  ]);
  assert.deepEqual(bytes(operationRegion('MEM', 'SystemMemory', 0xfeb00000, 0x1000)).slice(6, 13), [
    0x00, 0x0c, 0x00, 0x00, 0xb0, 0xfe, 0x0b,
  ]);
  // DWordAcc = 3, NoLock, WriteAsZeros = 2 << 5: flags 0x43.
  assert.deepEqual(bytes(field('GDST', { access: 'DWordAcc', update: 'WriteAsZeros' }, [{ name: 'GEVT', bits: 32 }])), [
    0x5b, 0x81, 0x0b, ...ascii('GDST'), 0x43, ...ascii('GEVT'), 0x20,
  ]);
  // Offset(2) skips 16 bits; widths past 63 bits take a two-byte length (without self-count).
  const f = field('REGS', { access: 'ByteAcc', lock: true }, [
    { offset: 2 },
    { name: 'CTRL', bits: 8 },
    { reserved: 4 },
    { name: 'FLAG', bits: 4 },
    { name: 'WIDE', bits: 100 },
  ]);
  assert.deepEqual(bytes(f), [
    0x5b, 0x81, 0x1a, ...ascii('REGS'), 0x11, 0x00, 0x10, ...ascii('CTRL'), 0x08, 0x00, 0x04, ...ascii('FLAG'), 0x04,
    ...ascii('WIDE'), 0x44, 0x06,
  ]);
  assert.throws(() => field('R', { access: 'AnyAcc' }, [{ name: 'A', bits: 16 }, { offset: 1 }]), /backwards/);
  assert.throws(() => field('R', { access: 'AnyAcc' }, [{ name: 'A', bits: 0 }]), AmlError);
});
