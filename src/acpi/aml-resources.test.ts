import assert from 'node:assert/strict';
import test from 'node:test';
import { AmlError } from './aml.js';
import {
  dwordMemory,
  endTagChecksum,
  interrupt,
  io,
  irqNoFlags,
  memory32Fixed,
  qwordMemory,
  resourceTemplate,
  wordBusNumber,
  wordIo,
} from './aml-resources.js';

const b = (d: { bytes: Uint8Array }) => [...d.bytes];

test('IO: decode16 flag, min, max, alignment, length', () => {
  assert.deepEqual(b(io(0x3f8, 8)), [0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08]);
  assert.deepEqual(b(io(0x100, 4, { max: 0x1fc, alignment: 4, decode16: false })), [0x47, 0x00, 0x00, 0x01, 0xfc, 0x01, 0x04, 0x04]);
  assert.throws(() => io(0x10000, 1), AmlError);
  assert.throws(() => io(0x3f8, 256), AmlError);
});

test('IRQNoFlags: a 16-bit mask of ISA IRQs', () => {
  assert.deepEqual(b(irqNoFlags([4])), [0x22, 0x10, 0x00]);
  assert.deepEqual(b(irqNoFlags([3, 4])), [0x22, 0x18, 0x00]);
  assert.deepEqual(b(irqNoFlags([15])), [0x22, 0x00, 0x80]);
  assert.throws(() => irqNoFlags([16]), AmlError);
});

test('extended Interrupt: consumer, edge/level, polarity, sharing, wake and the GSI list', () => {
  assert.deepEqual(b(interrupt({ trigger: 'level', polarity: 'high' }, [9])), [0x89, 0x06, 0x00, 0x01, 0x01, 0x09, 0, 0, 0]);
  assert.deepEqual(b(interrupt({ trigger: 'edge', polarity: 'low', shared: true, wakeCapable: true }, [5, 0x123])), [
    0x89, 0x0a, 0x00, 0x1f, 0x02, 0x05, 0, 0, 0, 0x23, 0x01, 0, 0,
  ]);
  assert.deepEqual(b(interrupt({ trigger: 'edge', polarity: 'high', producer: true }, [16])).slice(3, 5), [0x02, 0x01]);
  assert.throws(() => interrupt({ trigger: 'edge', polarity: 'high' }, []), AmlError);
});

test('Memory32Fixed', () => {
  assert.deepEqual(b(memory32Fixed(0xfeb00000, 0x1000)), [0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0xb0, 0xfe, 0x00, 0x10, 0x00, 0x00]);
  assert.equal(memory32Fixed(0, 1, false).bytes[3], 0x00);
});

test('WordBusNumber and WordIO: resource type, MinFixed|MaxFixed, producer, _RNG, computed length', () => {
  assert.deepEqual(b(wordBusNumber({ min: 0, max: 0xff, producer: true })), [
    0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0, 0, 0, 0xff, 0, 0, 0, 0x00, 0x01,
  ]);
  assert.deepEqual(b(wordIo({ min: 0x0d00, max: 0xffff, producer: true })), [
    0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0, 0, 0x00, 0x0d, 0xff, 0xff, 0, 0, 0x00, 0xf3,
  ]);
  // Consumer, not fixed, subtractive, ISA-only ranges.
  assert.deepEqual(b(wordIo({ min: 0, max: 0xcf7, minFixed: false, maxFixed: false, subtractive: true, ranges: 'isa' })).slice(3, 6), [
    0x01, 0x03, 0x02,
  ]);
  assert.throws(() => wordBusNumber({ min: 0, max: 0x10000 }), AmlError);
});

test('DWordMemory and QWordMemory: caching and read-write flags, 32- and 64-bit fields', () => {
  assert.deepEqual(b(dwordMemory({ min: 0xc0000000, max: 0xdfffffff, producer: true })), [
    0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xff, 0xdf, 0, 0, 0, 0, 0x00, 0x00,
    0x00, 0x20,
  ]);
  assert.equal(dwordMemory({ min: 0, max: 0xfff, caching: 'cacheable', writable: false }).bytes[5], 0x02);
  const q = qwordMemory({ min: 0x10_0000_0000n, max: 0x1f_ffff_ffffn, producer: true, caching: 'prefetchable' });
  assert.deepEqual(b(q).slice(0, 6), [0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x07]);
  assert.equal(q.bytes.length, 46);
  const view = new DataView(q.bytes.buffer);
  assert.equal(view.getBigUint64(14, true), 0x10_0000_0000n);
  assert.equal(view.getBigUint64(22, true), 0x1f_ffff_ffffn);
  assert.equal(view.getBigUint64(38, true), 0x10_0000_0000n);
  assert.throws(() => qwordMemory({ min: 2 ** 60, max: 2 ** 61 }), /bigint/);
});

test('ResourceTemplate: a Buffer of the descriptors closed by an End Tag that checksums them to zero', () => {
  const t = [...resourceTemplate([io(0x3f8, 8), irqNoFlags([4])]).encode()];
  assert.deepEqual(t, [0x11, 0x10, 0x0a, 0x0d, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00, 0x79, 0x0e]);
  assert.equal(t.slice(4).reduce((s, x) => s + x, 0) % 256, 0);
  assert.deepEqual([...resourceTemplate([]).encode()], [0x11, 0x05, 0x0a, 0x02, 0x79, 0x87]);
  assert.equal(endTagChecksum(new Uint8Array([0x87])), 0);
});
