import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KVM_EXIT_IO, KVM_EXIT_IO_OUT, KVM_EXIT_MMIO, KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_RESET, exitReasonName } from './exits.js';
import { KVM_RUN_LAYOUT as L, KvmRun } from './run.js';

function page(): { run: KvmRun; dv: DataView } {
  const buf = new ArrayBuffer(3 * 4096);
  return { run: new KvmRun(buf), dv: new DataView(buf) };
}

test('io exit: fields and data at data_offset', () => {
  const { run, dv } = page();
  dv.setUint32(L.exit_reason.offset, KVM_EXIT_IO, true);
  dv.setUint8(L['io.direction'].offset, KVM_EXIT_IO_OUT);
  dv.setUint8(L['io.size'].offset, 2);
  dv.setUint16(L['io.port'].offset, 0x3f8, true);
  dv.setUint32(L['io.count'].offset, 2, true);
  dv.setBigUint64(L['io.data_offset'].offset, 4096n, true);
  dv.setUint16(4096, 0x1234, true);
  dv.setUint16(4098, 0xabcd, true);
  assert.equal(run.exitReason, KVM_EXIT_IO);
  assert.equal(run.ioPort, 0x3f8);
  assert.equal(run.ioCount, 2);
  assert.equal(run.ioRead(0), 0x1234);
  assert.equal(run.ioRead(1), 0xabcd);
  run.ioWrite(0, 0x55aa);
  assert.equal(dv.getUint16(4096, true), 0x55aa);
  assert.match(run.describe(), /^IO out port=0x3f8 size=2 count=2$/);
});

test('mmio exit: address, length, data in and out', () => {
  const { run, dv } = page();
  dv.setUint32(L.exit_reason.offset, KVM_EXIT_MMIO, true);
  dv.setBigUint64(L['mmio.phys_addr'].offset, 0x1_fee0_0030n, true);
  dv.setUint32(L['mmio.len'].offset, 4, true);
  dv.setUint8(L['mmio.is_write'].offset, 1);
  dv.setUint32(L['mmio.data'].offset, 0xdeadbeef, true);
  assert.equal(run.mmioPhysAddr, 0x1_fee0_0030);
  assert.equal(run.mmioIsWrite, true);
  assert.equal(run.mmioRead(), 0xdeadbeef);
  run.mmioWrite(0x11223344);
  assert.equal(run.mmioDword(0), 0x11223344);
  run.setMmioDword(1, 0xffffffff);
  assert.equal(dv.getUint32(L['mmio.data'].offset + 4, true), 0xffffffff);
});

test('immediate_exit, system event, names', () => {
  const { run, dv } = page();
  run.immediateExit = 1;
  assert.equal(dv.getUint8(L.immediate_exit.offset), 1);
  dv.setUint32(L.exit_reason.offset, KVM_EXIT_SYSTEM_EVENT, true);
  dv.setUint32(L['system_event.type'].offset, KVM_SYSTEM_EVENT_RESET, true);
  dv.setUint32(L['system_event.ndata'].offset, 1, true);
  dv.setBigUint64(L['system_event.data'].offset, 0xffff_ffff_ffff_fff0n, true);
  assert.equal(run.systemEventType, KVM_SYSTEM_EVENT_RESET);
  assert.equal(run.systemEventData(0), 0xffff_ffff_ffff_fff0n);
  assert.equal(exitReasonName(KVM_EXIT_MMIO), 'MMIO');
  assert.equal(exitReasonName(999), 'unknown exit 999');
  assert.throws(() => new KvmRun(new ArrayBuffer(100)), RangeError);
});
