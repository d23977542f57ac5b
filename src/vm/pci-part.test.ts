import assert from 'node:assert/strict';
import test from 'node:test';
import { encodeAll } from '../acpi/aml.js';
import type { InspectNode } from '../bus/device.js';
import { IoBus } from '../bus/io-bus.js';
import type { IrqSink } from '../bus/irq.js';
import { silentSink } from '../bus/log.js';
import { RecordingMachineControl } from '../bus/machine.js';
import { GuestMemory } from '../memory/guest-memory.js';
import type { NetBackend } from '../net/backend.js';
import { ECAM_BASE, ECAM_SIZE } from '../pci/host-bridge.js';
import * as R from '../pci/regs.js';
import { MsiRecorder } from '../virtio/testing/pci-driver.js';
import { TestDisk } from '../virtio/testing/test-disk.js';
import { parseVmConfig } from './config.js';
import type { MachineContext } from './machine-part.js';
import { pciPart } from './pci-part.js';

const MiB = 1 << 20;

function context(memoryBytes = 64 * MiB): MachineContext & { edges: number[] } {
  const edges: number[] = [];
  const irq: IrqSink = { setIrq: (gsi, level) => level && edges.push(gsi) };
  return {
    config: parseVmConfig({ memory: memoryBytes, cpus: 2 }),
    memory: GuestMemory.create(memoryBytes, { backing: 'shared' }),
    pio: new IoBus('pio', 0x10000, silentSink, false),
    mmio: new IoBus('mmio', 2 ** 52, silentSink, false),
    irq,
    msi: new MsiRecorder(),
    // The PCI part uses no timers or clock.
    timers: undefined as never,
    clock: undefined as never,
    control: new RecordingMachineControl(),
    log: silentSink,
    edges,
  };
}

class NullNet implements NetBackend {
  deliver: ((f: Uint8Array) => boolean) | null = null;
  send(): void {}
  resume(): void {}
  async close(): Promise<void> {}
  inspect(): InspectNode {
    return { children: {} };
  }
}

test('the PCI part: host bridge at 00.0, a virtio-blk per disk then a virtio-net per backend, BARs above RAM', () => {
  const ctx = context();
  const disks = [new TestDisk(MiB), new TestDisk(2 * MiB)];
  const net = new NullNet();
  const part = pciPart({ disks, nets: [net] })(ctx);
  ctx.mmio.register(part.devices);
  ctx.pio.register(part.devices);
  assert.deepEqual(part.devices.map((d) => d.id), ['pci-host', 'virtio-blk0', 'virtio-blk1', 'virtio-net0']);
  assert.equal(part.mcfg, true);
  assert.deepEqual(part.reserved, [{ addr: ECAM_BASE, size: ECAM_SIZE }]);
  const cfg = (dev: number, reg: number, size: 1 | 2 | 4) => ctx.mmio.read(ECAM_BASE + (dev << 15) + reg, size);
  assert.equal(cfg(0, R.CLASS_PROG + 1, 2), 0x0600);
  assert.deepEqual([1, 2, 3].map((d) => cfg(d, R.DEVICE_ID, 2)), [0x1042, 0x1042, 0x1041]);
  const bars = [1, 2, 3].map((d) => cfg(d, R.BAR0, 4) + cfg(d, R.BAR0 + 4, 4) * 2 ** 32 - 4);
  assert.deepEqual(bars, [0x1_0000_0000, 0x1_0000_8000, 0x1_0001_0000], '64-bit BARs from 4 GiB, 32 KiB apart');
  assert.ok(net.deliver, 'the NIC took the backend');
  const aml = Buffer.from(encodeAll(part.acpi!.flatMap((a) => a.aml())));
  assert.ok(aml.includes(Buffer.from('PCI0')));
  assert.ok(!aml.includes(Buffer.from('LNRO0005')));
  // Two vCPUs: two request queues per disk.
  assert.equal(part.blk[0]!.core.queues.length, 2);
});

test('with transport "mmio" the devices are virtio-mmio at 0xFEB0_0000 + 4 KiB with GSIs 5, 6, 7 and DSDT nodes', () => {
  const ctx = context();
  const part = pciPart({ disks: [new TestDisk(MiB), new TestDisk(MiB)], nets: [new NullNet()], transport: 'mmio' })(ctx);
  ctx.mmio.register(part.devices);
  assert.equal(ctx.mmio.read(0xfeb0_0000, 4), 0x74726976);
  assert.equal(ctx.mmio.read(0xfeb0_2008, 4), 1, 'the third device is the NIC');
  assert.equal(ctx.mmio.read(0xe000_0000 + (1 << 15), 2), 0xffff, 'nothing in PCI slot 1');
  const aml = Buffer.from(encodeAll(part.acpi!.flatMap((a) => a.aml())));
  assert.equal(aml.toString('latin1').split('LNRO0005').length - 1, 3);
  assert.deepEqual(part.blk.map((d) => d.inspect().children!.gsi!.value), [5, 6]);
});

test('close() waits for in-flight requests and flushes writable disks, and leaves them open for the caller', async () => {
  const ctx = context();
  const ro = new TestDisk(MiB, true);
  const rw = new TestDisk(MiB);
  const part = pciPart({ disks: [ro, rw] })(ctx);
  await part.close!();
  assert.equal(rw.flushesDone, 1);
  assert.equal(ro.flushesDone, 0);
});
