/**
 * The PCI subsystem as a machine part: the host bridge (ECAM, 0xCF8/0xCFC,
 * the DSDT root bridge and MCFG) and, on bus 0, a virtio-blk device per
 * disk and a virtio-net device per network backend, each with its BAR
 * placed by the VMM and MSI-X delivered through the machine's MsiTarget.
 *
 * Ownership: the caller opens the disks and network backends and closes
 * them after the last machine that uses them is gone (a guest reboot
 * builds a new machine over the same backends). The part's close() only
 * waits for in-flight requests and flushes the disks, so what the guest
 * wrote is durable when the VM stops.
 */
import type { VmmDevice } from '../bus/device.js';
import { ramEnd } from '../memory/layout.js';
import type { NetBackend } from '../net/backend.js';
import { BarAllocator, IO_WINDOW, MMIO32_WINDOW, mmio64Window } from '../pci/allocator.js';
import { createPciHostBridge, ECAM_BASE, ECAM_SIZE, type PciHostBridge } from '../pci/host-bridge.js';
import type { Disk } from '../storage/disk.js';
import { VirtioBlk } from '../virtio/blk/virtio-blk.js';
import type { VirtioDeviceModel } from '../virtio/device.js';
import { VirtioNet, defaultMac } from '../virtio/net/virtio-net.js';
import { VirtioPci } from '../virtio/pci/virtio-pci.js';
import { VirtioMmio } from '../virtio/mmio/virtio-mmio.js';
import { MMIO_BASE, MMIO_GSIS, MMIO_STRIDE } from '../virtio/mmio/regs.js';
import { GsiLine } from '../bus/irq.js';
import type { MachineContext, MachinePart } from './machine-part.js';

/** What to put on the PCI bus. */
export interface PciPartOptions {
  /** One virtio-blk device each, in this order (the guest's vda, vdb, ...). */
  readonly disks?: readonly Disk[];
  /** One virtio-net device each, in this order (eth0, eth1, ...). */
  readonly nets?: readonly NetBackend[];
  /** MAC addresses for the NICs ("52:54:00:..."); default 52:54:00:12:34:56 + index. */
  readonly macs?: readonly string[];
  /** Request queues per disk; default one per vCPU, at most 4. */
  readonly blkQueues?: number;
  /**
   * "pci" (default): virtio-pci devices on bus 0 with MSI-X. "mmio": the
   * same devices on virtio-mmio (0xFEB0_0000 + 4 KiB each, GSIs 5, 6, 7,
   * 10, 11, ...), for guests without PCI; the host bridge is still there.
   */
  readonly transport?: 'pci' | 'mmio';
  /** Offer packed virtqueues (default true; Linux then prefers them). False: split rings only. */
  readonly packedRings?: boolean;
}

/** The devices a PCI part built, for callers that want to reach them (tests, inspect). */
export interface PciPartDevices {
  readonly bridge: PciHostBridge;
  readonly blk: readonly (VirtioPci | VirtioMmio)[];
  readonly net: readonly (VirtioPci | VirtioMmio)[];
}

/** A MachinePart with handles on its devices. */
export type PciMachinePart = MachinePart & PciPartDevices;

/** The factory Machine takes in `parts`. */
export function pciPart(options: PciPartOptions = {}): (ctx: MachineContext) => PciMachinePart {
  return (ctx) => {
    const windows = { mmio32: MMIO32_WINDOW, mmio64: mmio64Window(ramEnd(ctx.memory.regions)), io: IO_WINDOW };
    // Restoring, each device is built from its saved state (by its stable id): the one path.
    const saved = ctx.savedState ?? (() => undefined);
    const bridge = createPciHostBridge({ windows }, { log: ctx.log }, saved('pci-host'));
    const alloc = new BarAllocator(windows);
    let mmioIndex = 0;
    const packedRings = options.packedRings ?? true;
    const plug = (id: string, model: VirtioDeviceModel): VirtioPci | VirtioMmio => {
      if (options.transport === 'mmio') {
        const i = mmioIndex++;
        const gsi = MMIO_GSIS[i];
        if (gsi === undefined) throw new RangeError(`at most ${MMIO_GSIS.length} virtio-mmio devices`);
        return new VirtioMmio(id, model, { base: MMIO_BASE + i * MMIO_STRIDE, index: i }, { memory: ctx.memory, irq: new GsiLine(gsi, ctx.irq), log: ctx.log, packedRings }, saved(id));
      }
      const dev = new VirtioPci(id, model, { memory: ctx.memory, msi: ctx.msi, log: ctx.log, packedRings }, saved(id));
      alloc.assign(dev.fn);
      dev.fn.attach({ mmio: ctx.mmio, pio: ctx.pio });
      const slot = bridge.freeSlot();
      if (slot < 0) throw new RangeError('no free PCI slot (31 devices at most)');
      bridge.plug(slot, dev.pci);
      return dev;
    };
    const queues = options.blkQueues ?? Math.min(ctx.config.cpus, 4);
    const blkModels = (options.disks ?? []).map((disk) => new VirtioBlk(disk, { queues }));
    const blk = blkModels.map((m, i) => plug(`virtio-blk${i}`, m));
    const netModels = (options.nets ?? []).map((backend, i) => new VirtioNet(backend, { mac: options.macs?.[i] ?? defaultMac(i) }));
    const net = netModels.map((m, i) => plug(`virtio-net${i}`, m));
    const devices: VmmDevice[] = [bridge, ...blk, ...net];
    return {
      devices,
      acpi: [bridge, ...[...blk, ...net].filter((d): d is VirtioMmio => d instanceof VirtioMmio)],
      // Linux trusts MCFG only where the memory map reserves the ECAM window.
      reserved: [{ addr: ECAM_BASE, size: ECAM_SIZE }],
      mcfg: true,
      bridge,
      blk,
      net,
      async close() {
        for (const n of netModels) n.detach();
        // Guest RAM goes away after this: nothing new may start, and what runs must finish first.
        for (const m of blkModels) m.stop();
        await Promise.all(blkModels.map((m) => m.drain()));
        await Promise.all(blkModels.filter((m) => !m.disk.readOnly).map((m) => m.disk.flush()));
      },
    };
  };
}
