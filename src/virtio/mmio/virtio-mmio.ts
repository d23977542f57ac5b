/**
 * The virtio-mmio transport, version 2 (virtio 1.2, 4.2): a page of
 * registers at a fixed address and one interrupt line. The device is
 * described to the OS by a DSDT node (LNRO0005 with its memory range and
 * interrupt), the only discovery path for kernels built without
 * CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES (Debian's).
 *
 * DEVNOTE: the interrupt is edge-triggered: each used-buffer or config
 * notification sets its InterruptStatus bit and pulses the GSI, and the
 * driver's handler reads the status and acknowledges the bits it saw (as
 * Firecracker and Cloud Hypervisor wire their virtio-mmio devices).
 */
import { type AmlNode, string } from '../../acpi/aml.js';
import { device, name } from '../../acpi/aml-ops.js';
import { interrupt, memory32Fixed, resourceTemplate } from '../../acpi/aml-resources.js';
import type { AcpiDevice } from '../../acpi/devices.js';
import { staPresent } from '../../acpi/devices.js';
import {
  type AccessSize,
  type InspectNode,
  type IoPart,
  type SavedState,
  type VmmDevice,
  checkSavedVersion,
  inspect,
  RestoreError,
} from '../../bus/device.js';
import type { IrqLine } from '../../bus/irq.js';
import { type LogSink, stderrSink } from '../../bus/log.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import { VirtioCore, type VirtioCoreSaved } from '../core.js';
import type { Interrupt, VirtioDeviceModel } from '../device.js';
import { type Field, RegisterBlock } from '../register-block.js';
import * as M from './regs.js';

/** Where the device sits. */
export interface VirtioMmioConfig {
  /** Base of its register page. */
  readonly base: number;
  /** Index for the DSDT name (VR00, VR01...) and _UID. */
  readonly index: number;
}

/** What the transport needs from the machine. */
export interface VirtioMmioContext {
  readonly memory: GuestMemory;
  readonly irq: IrqLine;
  readonly log?: LogSink;
  /** Offer packed virtqueues (default true). */
  readonly packedRings?: boolean;
}

/** Saved state, version 1. */
export interface VirtioMmioSaved extends SavedState {
  readonly version: 1;
  readonly interruptStatus: number;
  readonly virtio: VirtioCoreSaved;
}

const SAVED_VERSION = 1;

/** A virtio device on the MMIO transport. */
export class VirtioMmio implements VmmDevice, AcpiDevice {
  readonly mmio: IoPart;
  readonly core: VirtioCore;
  private interruptStatus = 0;
  private readonly regs: RegisterBlock;
  private pulses = 0;
  private badAccesses = 0;

  constructor(
    readonly id: string,
    readonly model: VirtioDeviceModel,
    readonly config: VirtioMmioConfig,
    private readonly ctx: VirtioMmioContext,
    saved?: SavedState,
  ) {
    const log = ctx.log ?? stderrSink;
    this.core = new VirtioCore(id, model, ctx.memory, {
      queueInterrupt: (q) => this.queueInterrupt(q),
      configInterrupt: { trigger: () => this.raise(M.INT_CONFIG) },
    }, log, ctx.packedRings ?? true);
    this.regs = this.registers();
    const base = config.base;
    this.mmio = {
      regions: [{ name: 'virtio-mmio', base, size: M.MMIO_STRIDE }],
      read: (addr, size) => this.read(addr - base, size),
      write: (addr, size, value) => this.write(addr - base, size, value),
    };
    if (saved) {
      const s = checkSavedVersion<VirtioMmioSaved>(id, saved, SAVED_VERSION);
      const err = this.core.restore(s.virtio);
      if (err) throw new RestoreError(id, err);
      this.interruptStatus = Number(s.interruptStatus) & 3;
    }
  }

  /** The used-buffer interrupt of queue `q` (one line for all queues). */
  queueInterrupt(_q: number): Interrupt {
    return { trigger: () => this.raise(M.INT_VRING) };
  }

  /** Entry point for a queue kick (the QueueNotify register, or an ioeventfd). */
  notify(q: number): void {
    this.core.notify(q);
  }

  private raise(bit: number): void {
    this.interruptStatus |= bit;
    this.pulses++;
    this.ctx.irq.pulse();
  }

  private registers(): RegisterBlock {
    const c = this.core;
    const q = () => c.selected;
    const ro = (offset: number, read: () => number): Field => ({ offset, size: 4, read });
    const wo = (offset: number, write: (v: number) => void): Field => ({ offset, size: 4, read: () => 0, write });
    // A queue register the driver may only set before DRIVER_OK (queue_select must name a queue).
    const qreg = (offset: number, set: (r: NonNullable<ReturnType<typeof q>>, v: number) => void, get: (r: NonNullable<ReturnType<typeof q>>) => number = () => 0): Field => ({
      offset,
      size: 4,
      read: () => {
        const r = q();
        return r ? get(r) : 0;
      },
      write: (v) => {
        const r = q();
        if (r && c.queuesOpen) set(r, v);
        else c.driverErrors++;
      },
    });
    return new RegisterBlock(M.REG.config, [
      ro(M.REG.magicValue, () => M.MAGIC),
      ro(M.REG.version, () => M.VERSION),
      ro(M.REG.deviceId, () => this.model.deviceType),
      ro(M.REG.vendorId, () => M.VENDOR_ID),
      ro(M.REG.deviceFeatures, () => c.deviceFeatures()),
      wo(M.REG.deviceFeaturesSel, (v) => (c.deviceFeatureSelect = v)),
      wo(M.REG.driverFeatures, (v) => c.writeDriverFeatures(v)),
      wo(M.REG.driverFeaturesSel, (v) => (c.driverFeatureSelect = v)),
      wo(M.REG.queueSel, (v) => (c.queueSelect = v)),
      ro(M.REG.queueNumMax, () => q()?.max ?? 0),
      qreg(M.REG.queueNum, (r, v) => {
        if (v >= 1 && v <= r.max) r.size = v;
        else c.driverErrors++;
      }),
      qreg(M.REG.queueReady, (r, v) => {
        if (v === 1) r.enabled = true;
        else c.driverErrors++;
      }, (r) => (r.enabled ? 1 : 0)),
      wo(M.REG.queueNotify, (v) => {
        if (v < c.queues.length) c.notify(v);
        else this.badAccesses++;
      }),
      ro(M.REG.interruptStatus, () => this.interruptStatus),
      wo(M.REG.interruptAck, (v) => (this.interruptStatus &= ~v & 3)),
      { offset: M.REG.status, size: 4, read: () => c.status, write: (v) => c.writeStatus(v) },
      qreg(M.REG.queueDescLow, (r, v) => (r.descLo = v)),
      qreg(M.REG.queueDescHigh, (r, v) => (r.descHi = v)),
      qreg(M.REG.queueDriverLow, (r, v) => (r.driverLo = v)),
      qreg(M.REG.queueDriverHigh, (r, v) => (r.driverHi = v)),
      qreg(M.REG.queueDeviceLow, (r, v) => (r.deviceLo = v)),
      qreg(M.REG.queueDeviceHigh, (r, v) => (r.deviceHi = v)),
      wo(M.REG.shmSel, () => {}),
      // No shared memory regions: a length of all-ones says "no such region" (4.2.2).
      ro(M.REG.shmLenLow, () => 0xffffffff),
      ro(M.REG.shmLenHigh, () => 0xffffffff),
      ro(M.REG.shmBaseLow, () => 0xffffffff),
      ro(M.REG.shmBaseHigh, () => 0xffffffff),
      ro(M.REG.queueReset, () => 0),
      ro(M.REG.configGeneration, () => c.configGeneration),
    ]);
  }

  private read(off: number, size: AccessSize): number {
    if (off >= M.REG.config) {
      const rel = off - M.REG.config;
      if (rel + size <= this.model.configSize) return this.model.readConfig(rel, size) >>> 0;
      this.badAccesses++;
      return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    }
    return this.regs.read(off, size);
  }

  private write(off: number, size: AccessSize, value: number): void {
    if (off >= M.REG.config) {
      const rel = off - M.REG.config;
      if (rel + size <= this.model.configSize) this.model.writeConfig(rel, size, value);
      else this.badAccesses++;
      return;
    }
    this.regs.write(off, size, value);
  }

  /** \_SB.VRnn: LNRO0005 with its register page and edge-triggered interrupt. */
  aml(): AmlNode[] {
    const n = this.config.index.toString(16).toUpperCase().padStart(2, '0');
    return [
      device(`VR${n}`, [
        name('_HID', string('LNRO0005')),
        name('_UID', this.config.index),
        // Device DMA is cache-coherent (x86).
        name('_CCA', 1),
        staPresent(),
        name('_CRS', resourceTemplate([
          memory32Fixed(this.config.base, M.MMIO_STRIDE),
          interrupt({ trigger: 'edge', polarity: 'high' }, [this.ctx.irq.gsi]),
        ])),
      ]),
    ];
  }

  reset(): void {
    this.core.reset();
    this.interruptStatus = 0;
  }

  save(): VirtioMmioSaved {
    return { version: SAVED_VERSION, interruptStatus: this.interruptStatus, virtio: this.core.save() };
  }

  inspect(): InspectNode {
    return inspect.tree({
      base: inspect.hex(this.config.base),
      gsi: this.ctx.irq.gsi,
      interruptStatus: inspect.hex(this.interruptStatus),
      interrupts: inspect.counter(this.pulses),
      badAccesses: inspect.counter(this.badAccesses + this.regs.ignoredWrites),
      virtio: this.core.inspect(),
    });
  }
}
