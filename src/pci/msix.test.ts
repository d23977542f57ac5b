import assert from 'node:assert/strict';
import test from 'node:test';
import type { MsiMessage } from '../bus/irq.js';
import { silentSink } from '../bus/log.js';
import { PciFunction } from './function.js';
import * as R from './regs.js';

function make(vectors = 3) {
  const sent: MsiMessage[] = [];
  const fn = new PciFunction({ id: 'msix-test' }, { vendorId: 0x1af4, deviceId: 0x1041, classCode: 0x020000 }, silentSink);
  fn.addBar({ index: 0, kind: 'mem32', size: 0x1000, read: () => 0, write: () => {} });
  const msix = fn.enableMsix({ vectors, tableBar: 0, tableOffset: 0x800, pbaBar: 0, pbaOffset: 0xc00 }, { signal: (m) => sent.push(m) });
  fn.finishSetup();
  const cap = msix.capOffset;
  /** Programs vector v as Linux does: address, data, then unmask. */
  const program = (v: number, addr: number, data: number, unmask = true) => {
    msix.tableWrite(v * 16, 4, addr);
    msix.tableWrite(v * 16 + 4, 4, 0);
    msix.tableWrite(v * 16 + 8, 4, data);
    if (unmask) msix.tableWrite(v * 16 + 12, 4, 0);
  };
  const ctrl = (bits: number) => fn.configWrite(cap + R.MSIX_MSG_CTRL, 2, bits);
  return { fn, msix, sent, cap, program, ctrl };
}

test('the capability describes table size, BIR and offsets as Linux reads them', () => {
  const { fn, cap } = make(3);
  assert.equal(fn.configRead(R.CAPABILITY_LIST, 1), cap);
  assert.equal(fn.configRead(cap, 1), R.CAP_ID_MSIX);
  assert.equal(fn.configRead(cap + 2, 2) & R.MSIX_CTRL_QSIZE_MASK, 2, 'table size minus one');
  assert.equal(fn.configRead(cap + 4, 4), 0x800, 'table in BAR 0 at 0x800');
  assert.equal(fn.configRead(cap + 8, 4), 0xc00, 'PBA in BAR 0 at 0xc00');
  fn.configWrite(cap + 2, 2, 0xffff);
  assert.equal(fn.configRead(cap + 2, 2), 0xc002, 'only enable and function mask are writable');
});

test('vectors come out of reset masked; a message is sent once enabled, unmasked and bus mastering', () => {
  const { fn, msix, sent, program, ctrl } = make();
  assert.equal(msix.tableRead(12, 4), 1, 'vector control mask bit set at reset');
  assert.equal(msix.notify(0), false, 'MSI-X disabled: caller falls back');
  ctrl(R.MSIX_CTRL_ENABLE);
  fn.configWrite(R.COMMAND, 2, R.COMMAND_MEMORY | R.COMMAND_MASTER);
  program(1, 0xfee0_1000, 0x4041);
  assert.equal(msix.notify(1), true);
  assert.deepEqual(sent, [{ addressLo: 0xfee0_1000, addressHi: 0, data: 0x4041 }]);
  assert.equal(msix.notify(7), false, 'no such vector');
});

test('a masked vector sets its PBA bit and fires when unmasked; the function mask holds every vector', () => {
  const { fn, msix, sent, program, ctrl } = make();
  fn.configWrite(R.COMMAND, 2, R.COMMAND_MASTER);
  ctrl(R.MSIX_CTRL_ENABLE);
  program(2, 0xfee0_0000, 0x30, false);
  msix.notify(2);
  assert.equal(sent.length, 0);
  assert.equal(msix.pbaRead(0, 4), 0b100);
  msix.tableWrite(2 * 16 + 12, 4, 0);
  assert.equal(sent.length, 1, 'unmasking delivers the pending message');
  assert.equal(msix.pbaRead(0, 4), 0);

  ctrl(R.MSIX_CTRL_ENABLE | R.MSIX_CTRL_MASKALL);
  msix.notify(2);
  msix.notify(2);
  assert.equal(sent.length, 1);
  assert.equal(msix.pbaRead(0, 1), 0b100, 'pending is one bit, not a count');
  ctrl(R.MSIX_CTRL_ENABLE);
  assert.equal(sent.length, 2, 'clearing the function mask delivers once');
  msix.tableWrite(0x1000, 4, 0);
  assert.equal(msix.tableRead(0x1000, 4), 0xffffffff, 'past the table');
});

test('table fields: address low bits and reserved vector-control bits read as zero; 8-byte writes land as two dwords', () => {
  const { msix } = make();
  msix.tableWrite(0, 4, 0xfee0_0003);
  assert.equal(msix.tableRead(0, 4), 0xfee0_0000);
  msix.tableWrite(12, 4, 0xffff_ffff);
  assert.equal(msix.tableRead(12, 4), 1);
  msix.tableWrite(16, 2, 0xabcd);
  assert.equal(msix.tableRead(16, 1), 0xcc);
  assert.equal(msix.tableRead(17, 1), 0xab);
});

test('without bus mastering the message is dropped and counted', () => {
  const { msix, sent, program, ctrl } = make();
  ctrl(R.MSIX_CTRL_ENABLE);
  program(0, 0xfee0_0000, 0x31);
  msix.notify(0);
  assert.equal(sent.length, 0);
  assert.equal(msix.dropped, 1);
});

test('save/restore keeps the table and the pending bits; reset masks everything', () => {
  const { fn, msix, sent, program, ctrl } = make();
  fn.configWrite(R.COMMAND, 2, R.COMMAND_MASTER);
  ctrl(R.MSIX_CTRL_ENABLE | R.MSIX_CTRL_MASKALL);
  program(1, 0xfee0_2000, 0x55);
  msix.notify(1);
  const saved = JSON.parse(JSON.stringify(fn.saveFunction()));
  const b = make();
  assert.equal(b.fn.restoreFunction(saved), null);
  assert.equal(b.msix.pbaRead(0, 1), 0b10);
  b.ctrl(R.MSIX_CTRL_ENABLE);
  assert.deepEqual(b.sent, [{ addressLo: 0xfee0_2000, addressHi: 0, data: 0x55 }]);
  assert.equal(sent.length, 0);
  fn.resetFunction();
  assert.equal(msix.enabled, false);
  assert.equal(msix.tableRead(16 + 12, 4), 1);
  assert.equal(msix.pbaRead(0, 1), 0);
  assert.match(b.fn.restoreFunction({ config: saved.config }) ?? '', /MSI-X/);
});
