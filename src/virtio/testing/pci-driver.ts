/**
 * Test support: a virtio-pci driver that finds and programs a device the
 * way Linux's virtio_pci_modern_dev.c does: walk the capability list for
 * vendor capabilities, map each structure from its BAR, negotiate
 * features, set up split queues with MSI-X vectors, DRIVER_OK, and kick
 * through the notify area at queue_notify_off * notify_off_multiplier.
 */
import type { ChipsetDevice, PciPart } from '../../bus/device.js';
import type { PciFunction } from '../../pci/function.js';
import type { IoBus } from '../../bus/io-bus.js';
import type { MsiMessage } from '../../bus/irq.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import * as R from '../../pci/regs.js';
import * as V from '../regs.js';
import * as P from '../pci/regs.js';
import { PackedDriver } from './packed-driver.js';
import { SplitDriver } from './split-driver.js';

/** A structure a vendor capability located. */
export interface FoundCap {
  readonly cfgType: number;
  readonly bar: number;
  readonly offset: number;
  readonly length: number;
  /** Where the capability itself sits in config space. */
  readonly at: number;
  /** notify_off_multiplier (notify capability only). */
  readonly multiplier?: number;
}

/** MSI data the driver programs for vector `v` (vector number 0x40 + v). */
export const vectorData = (v: number) => 0x40 + v;

/** The driver. */
export class PciDriver {
  readonly caps = new Map<number, FoundCap>();
  /** Split rings, after init() without `packed`. */
  readonly queues: SplitDriver[] = [];
  /** Packed rings, after init({ packed: true }). */
  readonly packedQueues: PackedDriver[] = [];
  private bar0 = 0;
  private msixCap = 0;

  constructor(
    readonly pci: PciPart,
    readonly mmio: IoBus,
    readonly memory: GuestMemory,
  ) {}

  /** Reads the capability list as vp_modern_probe() does; returns the caps by cfg_type (first of each type wins). */
  probe(): Map<number, FoundCap> {
    const c = this.pci;
    if (c.configRead(R.VENDOR_ID, 2) !== P.VIRTIO_PCI_VENDOR) throw new Error('not a virtio device');
    if (c.configRead(R.DEVICE_ID, 2) < P.VIRTIO_PCI_DEVICE_BASE) throw new Error('not a modern virtio device');
    if (!(c.configRead(R.STATUS, 2) & R.STATUS_CAP_LIST)) throw new Error('no capability list');
    let at = c.configRead(R.CAPABILITY_LIST, 1) & 0xfc;
    for (let guard = 0; at !== 0 && guard < 48; guard++) {
      const id = c.configRead(at, 1);
      if (id === R.CAP_ID_MSIX) this.msixCap = at;
      if (id === R.CAP_ID_VNDR) {
        const cfgType = c.configRead(at + P.CAP_CFG_TYPE, 1);
        const cap: FoundCap = {
          cfgType,
          bar: c.configRead(at + P.CAP_BAR, 1),
          offset: c.configRead(at + P.CAP_OFFSET, 4),
          length: c.configRead(at + P.CAP_LENGTH, 4),
          at,
          ...(cfgType === P.CAP_NOTIFY_CFG ? { multiplier: c.configRead(at + P.NOTIFY_CAP_MULTIPLIER, 4) } : {}),
        };
        if (!this.caps.has(cfgType)) this.caps.set(cfgType, cap);
      }
      at = c.configRead(at + 1, 1) & 0xfc;
    }
    const lo = c.configRead(R.BAR0, 4);
    this.bar0 = (lo & ~0xf) + (lo & R.BAR_MEM_TYPE_64 ? c.configRead(R.BAR0 + 4, 4) * 2 ** 32 : 0);
    c.configWrite(R.COMMAND, 2, R.COMMAND_MEMORY | R.COMMAND_MASTER);
    return this.caps;
  }

  /** Guest-physical address of byte `off` of the structure of `cfgType`. */
  addr(cfgType: number, off = 0): number {
    const cap = this.caps.get(cfgType);
    if (!cap) throw new Error(`no capability of type ${cfgType}`);
    return this.bar0 + cap.offset + off;
  }

  /** Common config accessors. */
  read(off: number, size: 1 | 2 | 4): number {
    return this.mmio.read(this.addr(P.CAP_COMMON_CFG, off), size);
  }
  write(off: number, size: 1 | 2 | 4, v: number): void {
    this.mmio.write(this.addr(P.CAP_COMMON_CFG, off), size, v);
  }

  /** Device config bytes. */
  deviceConfig(off: number, size: 1 | 2 | 4): number {
    return this.mmio.read(this.addr(P.CAP_DEVICE_CFG, off), size);
  }

  /** Reads and clears the ISR. */
  isr(): number {
    return this.mmio.read(this.addr(P.CAP_ISR_CFG), 1);
  }

  /** The 64 offered feature bits. */
  deviceFeatures(): V.FeatureWords {
    this.write(P.COMMON.deviceFeatureSelect, 4, 0);
    const lo = this.read(P.COMMON.deviceFeature, 4);
    this.write(P.COMMON.deviceFeatureSelect, 4, 1);
    return [lo, this.read(P.COMMON.deviceFeature, 4)];
  }

  /** Enables MSI-X with vector v -> APIC vector 0x40 + v on CPU 0. */
  enableMsix(vectors: number): void {
    const table = this.bar0 + (this.pci.configRead(this.msixCap + R.MSIX_TABLE, 4) & ~7);
    for (let v = 0; v < vectors; v++) {
      this.mmio.write(table + 16 * v, 4, 0xfee0_0000);
      this.mmio.write(table + 16 * v + 4, 4, 0);
      this.mmio.write(table + 16 * v + 8, 4, vectorData(v));
      this.mmio.write(table + 16 * v + 12, 4, 0);
    }
    this.pci.configWrite(this.msixCap + R.MSIX_MSG_CTRL, 2, R.MSIX_CTRL_ENABLE);
  }

  /**
   * The whole bring-up: reset, ACKNOWLEDGE, DRIVER, features (default: all
   * offered but RING_PACKED unless `packed`), FEATURES_OK, queues at `ringBase` (one 64 KiB area each, size
   * `queueSize` or the maximum), vectors (config 0, queue i -> i + 1),
   * DRIVER_OK. Returns the status read back.
   */
  init(options: { features?: V.FeatureWords; queueSize?: number; ringBase?: number; msix?: boolean; packed?: boolean } = {}): number {
    if (this.caps.size === 0) this.probe();
    this.write(P.COMMON.deviceStatus, 1, 0);
    this.write(P.COMMON.deviceStatus, 1, V.STATUS_ACKNOWLEDGE);
    this.write(P.COMMON.deviceStatus, 1, V.STATUS_ACKNOWLEDGE | V.STATUS_DRIVER);
    const offered = this.deviceFeatures();
    const packedBit = V.features(V.F_RING_PACKED);
    const f = options.features ?? (options.packed ? offered : ([offered[0], (offered[1] & ~packedBit[1]) >>> 0] as const));
    this.write(P.COMMON.driverFeatureSelect, 4, 0);
    this.write(P.COMMON.driverFeature, 4, f[0]);
    this.write(P.COMMON.driverFeatureSelect, 4, 1);
    this.write(P.COMMON.driverFeature, 4, f[1]);
    const s = V.STATUS_ACKNOWLEDGE | V.STATUS_DRIVER | V.STATUS_FEATURES_OK;
    this.write(P.COMMON.deviceStatus, 1, s);
    if (!(this.read(P.COMMON.deviceStatus, 1) & V.STATUS_FEATURES_OK)) return this.read(P.COMMON.deviceStatus, 1);
    const n = this.read(P.COMMON.numQueues, 2);
    if (options.msix !== false) {
      this.enableMsix(n + 1);
      this.write(P.COMMON.configMsixVector, 2, 0);
    }
    this.queues.length = 0;
    this.packedQueues.length = 0;
    const packed = V.hasFeature(f, V.F_RING_PACKED);
    for (let i = 0; i < n; i++) {
      this.write(P.COMMON.queueSelect, 2, i);
      const max = this.read(P.COMMON.queueSize, 2);
      const size = Math.min(options.queueSize ?? max, max);
      this.write(P.COMMON.queueSize, 2, size);
      const base = (options.ringBase ?? 0x100000) + i * 0x10000;
      const put64 = (lo: number, addr: number) => {
        this.write(lo, 4, addr % 2 ** 32);
        this.write(lo + 4, 4, Math.floor(addr / 2 ** 32));
      };
      if (packed) {
        const q = new PackedDriver(this.memory, base, size);
        this.packedQueues.push(q);
        put64(P.COMMON.queueDescLo, q.desc);
        put64(P.COMMON.queueDriverLo, q.driverEvent);
        put64(P.COMMON.queueDeviceLo, q.deviceEvent);
      } else {
        const q = new SplitDriver(this.memory, base, size);
        this.queues.push(q);
        put64(P.COMMON.queueDescLo, q.desc);
        put64(P.COMMON.queueDriverLo, q.avail);
        put64(P.COMMON.queueDeviceLo, q.used);
      }
      if (options.msix !== false) this.write(P.COMMON.queueMsixVector, 2, i + 1);
      this.write(P.COMMON.queueEnable, 2, 1);
    }
    this.write(P.COMMON.deviceStatus, 1, s | V.STATUS_DRIVER_OK);
    return this.read(P.COMMON.deviceStatus, 1);
  }

  /** Kicks queue `q`: writes its index at its notify address. */
  kick(q: number): void {
    this.write(P.COMMON.queueSelect, 2, q);
    const off = this.read(P.COMMON.queueNotifyOff, 2);
    const cap = this.caps.get(P.CAP_NOTIFY_CFG)!;
    this.mmio.write(this.addr(P.CAP_NOTIFY_CFG, off * cap.multiplier!), 2, q);
  }
}

/** Collects MSIs and says which vector each was for. */
export class MsiRecorder {
  readonly messages: MsiMessage[] = [];
  signal(m: MsiMessage): void {
    this.messages.push(m);
  }
  /** How many messages vector `v` got (by its data). */
  count(v: number): number {
    return this.messages.filter((m) => m.data === vectorData(v)).length;
  }
}

/**
 * A ChipsetDevice for fuzzDevice(): BAR 0 where it is mapped, and config
 * space exposed as a fake port range 0-4095 so the harness reaches it too.
 */
export function pciFuzzTarget(id: string, fn: PciFunction): ChipsetDevice {
  const bar = fn.barAddress(0);
  const def = fn.barDefinitions().find((d) => d.index === 0)!;
  return {
    id,
    mmio: { regions: [{ name: 'bar0', base: bar, size: def.size }], read: (a, s) => def.read(a - bar, s), write: (a, s, v) => def.write(a - bar, s, v) },
    pio: { regions: [{ name: 'config', base: 0, size: 4096 }], read: (a, s) => fn.configRead(a, s), write: (a, s, v) => fn.configWrite(a, s, v) },
  };
}
