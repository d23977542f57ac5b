import assert from 'node:assert/strict';
import test from 'node:test';
import type { AccessSize, ChipsetDevice } from '../bus/device.js';
import { IoBus } from '../bus/io-bus.js';
import { silentSink } from '../bus/log.js';
import { ConfigSpace } from './config-space.js';
import { type BarDefinition, PciFunction } from './function.js';
import * as R from './regs.js';

/** A BAR whose registers are a plain byte array. */
function ramBar(index: number, kind: BarDefinition['kind'], size: number, prefetchable = false): BarDefinition & { mem: Uint8Array } {
  const mem = new Uint8Array(size);
  return {
    index,
    kind,
    size,
    prefetchable,
    mem,
    read: (off: number, s: AccessSize) => {
      let v = 0;
      for (let i = 0; i < s; i++) v |= (mem[off + i] ?? 0xff) << (8 * i);
      return v >>> 0;
    },
    write: (off: number, s: AccessSize, value: number) => {
      for (let i = 0; i < s; i++) if (off + i < size) mem[off + i] = (value >>> (8 * i)) & 0xff;
    },
  };
}

function makeFunction() {
  const owner: ChipsetDevice = { id: 'testdev' };
  const fn = new PciFunction(owner, { vendorId: 0x1af4, deviceId: 0x1042, classCode: 0x018000, revision: 1, subsystemVendorId: 0x1af4, subsystemId: 0x1100 }, silentSink);
  const b0 = ramBar(0, 'mem32', 0x1000);
  const b2 = ramBar(2, 'mem64', 0x4000, true);
  const b4 = ramBar(4, 'io', 0x20);
  fn.addBar(b0);
  fn.addBar(b2);
  fn.addBar(b4);
  fn.finishSetup();
  const mmio = new IoBus('mmio', 2 ** 52, silentSink, false);
  const pio = new IoBus('pio', 0x10000, silentSink, false);
  fn.assignBar(0, 0xc000_0000);
  fn.assignBar(2, 0x1_0000_0000);
  fn.assignBar(4, 0x1000);
  fn.attach({ mmio, pio });
  return { fn, owner, b0, b2, b4, mmio, pio };
}

test('type 0 header: identity registers read back, read-only ones ignore writes', () => {
  const { fn } = makeFunction();
  assert.equal(fn.configRead(R.VENDOR_ID, 4), 0x1042_1af4);
  assert.equal(fn.configRead(R.REVISION_ID, 4), 0x0180_0001, 'class 01 80 00, revision 1');
  assert.equal(fn.configRead(R.HEADER_TYPE, 1), 0);
  assert.equal(fn.configRead(R.SUBSYSTEM_VENDOR_ID, 4), 0x1100_1af4);
  assert.equal(fn.configRead(R.INTERRUPT_PIN, 1), 0, 'no INTx: MSI-X only');
  fn.configWrite(R.VENDOR_ID, 4, 0);
  fn.configWrite(R.REVISION_ID, 4, 0);
  assert.equal(fn.configRead(R.VENDOR_ID, 2), 0x1af4);
  assert.equal(fn.configRead(R.CLASS_PROG, 1), 0);
  fn.configWrite(R.INTERRUPT_LINE, 1, 0x2b);
  assert.equal(fn.configRead(R.INTERRUPT_LINE, 1), 0x2b, 'interrupt line is scratch for software');
  assert.equal(fn.configRead(4095, 4), 0xffffff00, 'bytes past the end read as ones');
});

test('command register keeps only defined bits; status error bits are write-one-to-clear', () => {
  const { fn } = makeFunction();
  fn.configWrite(R.COMMAND, 2, 0xffff);
  assert.equal(fn.command, 0x0547);
  fn.config.set(R.STATUS, 2, 0x8000 | R.STATUS_CAP_LIST);
  fn.configWrite(R.STATUS, 2, 0x0010);
  assert.equal(fn.configRead(R.STATUS, 2), 0x8010, 'writing the RO cap bit changes nothing');
  fn.configWrite(R.STATUS, 2, 0x8000);
  assert.equal(fn.configRead(R.STATUS, 2), 0x0010, 'the error bit cleared');
});

test('BAR sizing: all-ones reads back the size mask with the type bits, for 32-bit, 64-bit and I/O BARs', () => {
  const { fn } = makeFunction();
  for (const [off, want] of [
    [R.BAR0, 0xfffff000],
    [R.BAR0 + 8, 0xffffc00c],
    [R.BAR0 + 12, 0xffffffff],
    [R.BAR0 + 16, 0x0000ffe1], // I/O BARs decode 16 bits: the upper half is hardwired zero
    [R.BAR0 + 4, 0],
    [R.BAR0 + 20, 0],
  ] as const) {
    const orig = fn.configRead(off, 4);
    fn.configWrite(off, 4, 0xffffffff);
    assert.equal(fn.configRead(off, 4), want, `BAR at 0x${off.toString(16)}`);
    fn.configWrite(off, 4, orig);
  }
  assert.equal(fn.configRead(R.BAR0, 4), 0xc000_0000);
  assert.equal(fn.configRead(R.BAR0 + 8, 4), 0x0000_000c);
  assert.equal(fn.configRead(R.BAR0 + 12, 4), 1);
  assert.equal(fn.barAddress(2), 0x1_0000_0000);
  assert.equal(fn.configRead(R.BAR0 + 16, 4), 0x1001);
});

test('BARs map on the buses only while decoding is enabled, and follow the guest when it moves them', () => {
  const { fn, owner, b0, b2, b4, mmio, pio } = makeFunction();
  assert.equal(mmio.deviceAt(0xc000_0000), undefined, 'memory decoding is off at power-on');
  fn.configWrite(R.COMMAND, 2, R.COMMAND_MEMORY);
  assert.equal(mmio.deviceAt(0xc000_0000), owner);
  assert.equal(mmio.deviceAt(0x1_0000_3fff), owner);
  assert.equal(pio.deviceAt(0x1000), undefined, 'I/O decoding still off');
  mmio.write(0xc000_0010, 4, 0xdeadbeef);
  assert.equal(b0.read(0x10, 4), 0xdeadbeef, 'accesses reach the BAR at its offset');
  mmio.write(0x1_0000_0004, 2, 0x1234);
  assert.equal(b2.mem[4], 0x34);

  // Move the 64-bit BAR: low half then high half, as Linux does.
  fn.configWrite(R.BAR0 + 8, 4, 0x8000_0000);
  fn.configWrite(R.BAR0 + 12, 4, 2);
  assert.equal(fn.barAddress(2), 0x2_8000_0000);
  assert.equal(mmio.deviceAt(0x1_0000_0000), undefined);
  assert.equal(mmio.read(0x2_8000_0004, 2), 0x1234);

  fn.configWrite(R.COMMAND, 2, R.COMMAND_IO);
  assert.equal(mmio.deviceAt(0xc000_0000), undefined, 'memory decoding off unmaps');
  pio.write(0x1004, 1, 0x77);
  assert.equal(b4.mem[4], 0x77);
  fn.configWrite(R.BAR0 + 16, 4, 0x2000);
  assert.equal(pio.read(0x2004, 1), 0x77);
  assert.equal(pio.deviceAt(0x1004), undefined);
});

test('a BAR moved over another device or beyond the address space decodes nothing, and no exception escapes', () => {
  const { fn, mmio } = makeFunction();
  const other: ChipsetDevice = { id: 'lapic', mmio: { regions: [{ name: 'lapic', base: 0xfee0_0000, size: 0x1000 }], read: () => 0x11, write: () => {} } };
  mmio.register([other]);
  fn.configWrite(R.COMMAND, 2, R.COMMAND_MEMORY);
  fn.configWrite(R.BAR0, 4, 0xfee0_0000);
  assert.equal(mmio.read(0xfee0_0000, 4), 0x11, 'the LAPIC still answers');
  assert.equal(fn.barMapping(0), null);
  fn.configWrite(R.BAR0 + 12, 4, 0xffffffff);
  assert.equal(fn.barMapping(2), null, 'a 64-bit address beyond 2^52 is not mapped');
  assert.equal(fn.mapFailures, 2);
  fn.configWrite(R.BAR0, 4, 0xd000_0000);
  assert.equal(fn.barMapping(0)?.base, 0xd000_0000);
});

test('reset returns BARs to their assigned addresses with decoding off; save/restore keeps moved BARs mapped', () => {
  const { fn, mmio, owner } = makeFunction();
  fn.configWrite(R.COMMAND, 2, R.COMMAND_MEMORY | R.COMMAND_MASTER);
  fn.configWrite(R.BAR0, 4, 0xd000_0000);
  const saved = JSON.parse(JSON.stringify(fn.saveFunction()));
  fn.resetFunction();
  assert.equal(fn.command, 0);
  assert.equal(fn.barAddress(0), 0xc000_0000);
  assert.equal(mmio.deviceAt(0xd000_0000), undefined);
  assert.equal(fn.restoreFunction(saved), null);
  assert.equal(mmio.deviceAt(0xd000_0000), owner);
  assert.equal(fn.command, R.COMMAND_MEMORY | R.COMMAND_MASTER);
  assert.match(fn.restoreFunction({ config: 'zz' }) ?? '', /wrong size/);
  assert.match(fn.restoreFunction({ config: '00'.repeat(4097) }) ?? '', /wrong size/);
});

test('capabilities: each is linked from the previous one, dword aligned, and the status bit says the list exists', () => {
  const c = new ConfigSpace(256);
  assert.equal(c.read(R.STATUS, 2) & R.STATUS_CAP_LIST, 0);
  const a = c.addCapability(R.CAP_ID_VNDR, 17);
  const b = c.addCapability(R.CAP_ID_MSIX, 12);
  assert.equal(c.read(R.CAPABILITY_LIST, 1), a);
  assert.equal(a, 0x40);
  assert.equal(b, 0x54);
  assert.equal(c.read(a, 2), (b << 8) | R.CAP_ID_VNDR);
  assert.equal(c.read(b + 1, 1), 0, 'the last capability ends the list');
  assert.ok(c.read(R.STATUS, 2) & R.STATUS_CAP_LIST);
  assert.throws(() => c.addCapability(R.CAP_ID_VNDR, 200), RangeError);
});

test('BAR definitions are checked when the device is built', () => {
  const fn = new PciFunction({ id: 'x' }, { vendorId: 1, deviceId: 2, classCode: 0 }, silentSink);
  assert.throws(() => fn.addBar(ramBar(0, 'mem32', 0x1800)), RangeError);
  assert.throws(() => fn.addBar(ramBar(5, 'mem64', 0x1000)), RangeError);
  assert.throws(() => fn.addBar(ramBar(0, 'io', 0x1000)), RangeError);
  fn.addBar(ramBar(0, 'mem64', 0x1000));
  assert.throws(() => fn.addBar(ramBar(1, 'mem32', 0x1000)), RangeError, 'slot 1 is the upper half of BAR 0');
  assert.throws(() => fn.assignBar(0, 0x800), RangeError, 'unaligned');
});

test('after a restore, build-time BAR assignment sets only the reset value, not the live BAR', () => {
  const a = makeFunction();
  a.fn.configWrite(R.COMMAND, 2, R.COMMAND_MEMORY);
  a.fn.configWrite(R.BAR0, 4, 0xd000_0000);
  const saved = JSON.parse(JSON.stringify(a.fn.saveFunction()));
  const fn = new PciFunction({ id: 'again' }, { vendorId: 0x1af4, deviceId: 0x1042, classCode: 0x018000 }, silentSink);
  fn.addBar(ramBar(0, 'mem32', 0x1000));
  fn.addBar(ramBar(2, 'mem64', 0x4000, true));
  fn.finishSetup();
  assert.equal(fn.restoreFunction(saved), null);
  fn.assignBar(0, 0xc000_0000);
  fn.assignBar(2, 0x1_0000_0000);
  assert.equal(fn.barAddress(0), 0xd000_0000);
  fn.resetFunction();
  assert.equal(fn.barAddress(0), 0xc000_0000);
  assert.equal(fn.barAddress(2), 0x1_0000_0000);
});
