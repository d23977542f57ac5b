import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeStruct, encodeStruct, fieldAt, offsetOfPath } from '../struct.js';
import { KVM_IRQ_ROUTING_MSI, KVM_IRQ_ROUTING_IRQCHIP } from './constants.js';
import { buildSignalMask, kvmStructs, type KvmCpuidEntry2, type KvmRegs, type KvmSregs } from './structs.js';

test('kvm_regs round-trips, 64-bit values above 2^53 as BigInt', () => {
  const T = kvmStructs();
  const buf = encodeStruct(T.kvm_regs, { rip: 0xffffffff81000000n, rsp: 0x8000, rflags: 2 });
  const dv = new DataView(buf.buffer);
  assert.equal(dv.getBigUint64(offsetOfPath(T.kvm_regs, 'rip'), true), 0xffffffff81000000n);
  const regs = decodeStruct<KvmRegs>(T.kvm_regs, buf);
  assert.equal(regs.rip, 0xffffffff81000000n);
  assert.equal(regs.rsp, 0x8000);
  assert.equal(regs.rax, 0, 'fields left out encode as zero');
});

test('nested paths resolve (sregs.cs.base, irq routing union)', () => {
  const T = kvmStructs();
  assert.equal(offsetOfPath(T.kvm_sregs, 'cs.base'), 0);
  assert.equal(offsetOfPath(T.kvm_sregs, 'ds.selector'), 24 + 12);
  assert.equal(fieldAt(T.kvm_irq_routing_entry, 'u.msi.data').offset, 16 + 8);
  assert.throws(() => fieldAt(T.kvm_sregs, 'cs.nope'), /kvm_sregs has no member cs\.nope/);
  const sregs = decodeStruct<KvmSregs>(T.kvm_sregs, encodeStruct(T.kvm_sregs, { cs: { selector: 0x10, l: 1 }, efer: 0x500 }));
  assert.equal(sregs.cs.selector, 0x10);
  assert.equal(sregs.cs.l, 1);
  assert.equal(sregs.efer, 0x500);
});

test('kvm_cpuid2 builds with N entries and reads back', () => {
  const T = kvmStructs();
  const entries: KvmCpuidEntry2[] = [
    { function: 0, index: 0, flags: 0, eax: 0xd, ebx: 0x756e6547, ecx: 0x6c65746e, edx: 0x49656e69 },
    { function: 7, index: 0, flags: 1, eax: 0, ebx: 0x1234, ecx: 0, edx: 0 },
  ];
  const buf = T.cpuid2.build({}, entries, 4);
  assert.equal(buf.byteLength, 8 + 4 * 40);
  const back = T.cpuid2.read(buf);
  assert.equal(back.nent, 2);
  assert.equal(back.entries.length, 2);
  assert.equal(back.entries[1]!.ebx, 0x1234);
  // An empty request for KVM_GET_SUPPORTED_CPUID: nent = capacity.
  const req = T.cpuid2.build({ nent: 100 }, [], 100);
  assert.equal(new DataView(req.buffer).getUint32(0, true), 100);
  assert.equal(T.cpuid2.read(req).entries.length, 100);
});

test('kvm_irq_routing with MSI and irqchip entries', () => {
  const T = kvmStructs();
  const buf = T.irqRouting.build({ flags: 0 }, [
    { gsi: 4, type: KVM_IRQ_ROUTING_IRQCHIP, flags: 0, u: { irqchip: { irqchip: 2, pin: 4 } } },
    { gsi: 24, type: KVM_IRQ_ROUTING_MSI, flags: 0, u: { msi: { address_lo: 0xfee00000, address_hi: 0, data: 0x4041, devid: 0 } } },
  ]);
  const dv = new DataView(buf.buffer);
  assert.equal(dv.getUint32(0, true), 2);
  const e1 = T.irqRouting.entriesOffset + T.irqRouting.entry.size;
  assert.equal(dv.getUint32(e1 + offsetOfPath(T.kvm_irq_routing_entry, 'u.msi.address_lo'), true), 0xfee00000);
  assert.equal(dv.getUint32(e1 + offsetOfPath(T.kvm_irq_routing_entry, 'u.msi.data'), true), 0x4041);
});

test('kvm_msrs and signal mask buffers', () => {
  const T = kvmStructs();
  const buf = T.msrs.build({}, [{ index: 0x10, data: 0n }, { index: 0xc0000080, data: 0x500 }]);
  const back = T.msrs.read(buf);
  assert.deepEqual(back.entries.map((e) => e.index), [0x10, 0xc0000080]);
  assert.equal(back.entries[1]!.data, 0x500);
  const mask = buildSignalMask(new Uint8Array(8).fill(0xff));
  assert.equal(new DataView(mask.buffer).getUint32(0, true), 8);
  assert.equal(mask.byteLength, 12);
});
