/**
 * The PCI host bridge: the root of bus 0. It decodes configuration
 * accesses two ways, which reach the same functions:
 * - PCIe ECAM (PCIe base spec 7.2.2): a 256 MiB MMIO window at
 *   0xE000_0000, 4 KiB of config space per bus/device/function;
 * - configuration mechanism #1 (PCI 3.0 3.2.2.3.2): CONFIG_ADDRESS at
 *   0xCF8 (dword accesses only, bit 31 enables) and CONFIG_DATA at
 *   0xCFC-0xCFF, whose byte lanes select bytes of the addressed dword.
 * The bridge itself is function 00.0 (class 06 00 00). Devices are single
 * function, plugged into slots 1-31 of bus 0; everything else reads as
 * all-ones (no device), as a real bus does on a master abort.
 */
import type { AmlNode } from '../acpi/aml.js';
import type { AcpiDevice } from '../acpi/devices.js';
import {
  type AccessSize,
  type DeviceFactory,
  type InspectNode,
  type IoPart,
  type PciPart,
  type SavedState,
  type VmmDevice,
  checkSavedVersion,
  inspect,
  RestoreError,
} from '../bus/device.js';
import { type LogSink, stderrSink } from '../bus/log.js';
import type { PciWindows } from './allocator.js';
import { PciFunction, type PciFunctionSaved } from './function.js';
import * as R from './regs.js';
import { pciRootAml } from './root-aml.js';

/** Vendor/device ID of the bridge: Red Hat's generic PCIe host bridge (QEMU's gpex), which no guest quirks. */
export const HOST_BRIDGE_ID = { vendorId: 0x1b36, deviceId: 0x0008 } as const;
/** Default ECAM base (DESIGN.md). */
export const ECAM_BASE = 0xe000_0000;
/** ECAM bytes for buses 0-255. */
export const ECAM_SIZE = 256 << 20;
/** Device numbers on a bus. */
export const SLOTS = 32;

/** Where the bridge decodes and what windows it hands to devices. */
export interface HostBridgeConfig {
  readonly ecamBase?: number;
  readonly windows: PciWindows;
}

/** What the bridge needs from the machine. */
export interface HostBridgeContext {
  readonly log?: LogSink;
}

/** Saved state, version 1. */
export interface HostBridgeSaved extends SavedState {
  readonly version: 1;
  /** CONFIG_ADDRESS as the guest last wrote it. */
  readonly address: number;
  readonly fn: PciFunctionSaved;
}

const SAVED_VERSION = 1;

/** The host bridge and bus 0's slot table. */
export class PciHostBridge implements VmmDevice, AcpiDevice {
  readonly id = 'pci-host';
  readonly pio: IoPart;
  readonly mmio: IoPart;
  /** Function 00.0: the bridge's own config space. */
  readonly fn: PciFunction;
  readonly ecamBase: number;
  private readonly slots: (PciPart | null)[] = new Array<PciPart | null>(SLOTS).fill(null);
  private address = 0;
  private configReads = 0;
  private configWrites = 0;
  private absent = 0;
  private badPortAccesses = 0;

  constructor(
    readonly config: HostBridgeConfig,
    ctx: HostBridgeContext,
    saved?: SavedState,
  ) {
    this.ecamBase = config.ecamBase ?? ECAM_BASE;
    this.fn = new PciFunction(this, { ...HOST_BRIDGE_ID, classCode: R.CLASS_BRIDGE_HOST }, ctx.log ?? stderrSink);
    this.fn.finishSetup();
    this.slots[0] = this.fn;
    this.pio = {
      regions: [{ name: 'pci-config', base: R.CONFIG_ADDRESS_PORT, size: 8 }],
      read: (port, size) => this.portRead(port, size),
      write: (port, size, value) => this.portWrite(port, size, value),
    };
    this.mmio = {
      regions: [{ name: 'ecam', base: this.ecamBase, size: ECAM_SIZE }],
      read: (addr, size) => this.ecamRead(addr - this.ecamBase, size),
      write: (addr, size, value) => this.ecamWrite(addr - this.ecamBase, size, value),
    };
    if (saved) {
      const s = checkSavedVersion<HostBridgeSaved>(this.id, saved, SAVED_VERSION);
      this.address = Number(s.address) >>> 0;
      const err = this.fn.restoreFunction(s.fn);
      if (err) throw new RestoreError(this.id, err);
    }
  }

  /** Puts a single-function device in `slot` (1-31) of bus 0. */
  plug(slot: number, device: PciPart): void {
    if (!Number.isInteger(slot) || slot < 1 || slot >= SLOTS) throw new RangeError(`PCI slot ${slot} is not in 1..31`);
    if (this.slots[slot]) throw new RangeError(`PCI slot ${slot} is taken`);
    this.slots[slot] = device;
  }

  /** The lowest free slot, or -1. */
  freeSlot(): number {
    return this.slots.findIndex((s, i) => i > 0 && s === null);
  }

  private target(bus: number, dev: number, fn: number): PciPart | null {
    if (bus !== 0 || fn !== 0) return null;
    return this.slots[dev] ?? null;
  }

  /** A config read of `size` bytes at `reg` of bus/device/function. */
  configRead(bus: number, dev: number, fn: number, reg: number, size: AccessSize): number {
    this.configReads++;
    const t = this.target(bus, dev, fn);
    if (!t) {
      this.absent++;
      return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    }
    if ((reg & 0xfff) + size > 4096) {
      let v = 0;
      for (let i = 0; i < size; i++) v |= (reg + i < 4096 ? t.configRead(reg + i, 1) : 0xff) << (8 * i);
      return v >>> 0;
    }
    return t.configRead(reg, size) >>> 0;
  }

  /** A config write of `size` bytes at `reg` of bus/device/function. */
  configWrite(bus: number, dev: number, fn: number, reg: number, size: AccessSize, value: number): void {
    this.configWrites++;
    const t = this.target(bus, dev, fn);
    if (!t) {
      this.absent++;
      return;
    }
    if (reg + size > 4096) {
      for (let i = 0; i < size && reg + i < 4096; i++) t.configWrite(reg + i, 1, (value >>> (8 * i)) & 0xff);
      return;
    }
    t.configWrite(reg, size, value);
  }

  private ecamRead(off: number, size: AccessSize): number {
    return this.configRead(off >>> 20, (off >>> 15) & 0x1f, (off >>> 12) & 7, off & 0xfff, size);
  }

  private ecamWrite(off: number, size: AccessSize, value: number): void {
    this.configWrite(off >>> 20, (off >>> 15) & 0x1f, (off >>> 12) & 7, off & 0xfff, size, value);
  }

  /** CONFIG_ADDRESS fields of the current address, or null when disabled. */
  private decodeAddress(): [number, number, number, number] | null {
    const a = this.address;
    if ((a & R.CONFIG_ADDRESS_ENABLE) === 0) return null;
    return [(a >>> 16) & 0xff, (a >>> 11) & 0x1f, (a >>> 8) & 7, a & 0xfc];
  }

  private portRead(port: number, size: AccessSize): number {
    if (port === R.CONFIG_ADDRESS_PORT && size === 4) return this.address;
    if (port >= R.CONFIG_DATA_PORT && port + size <= R.CONFIG_DATA_PORT + 4) {
      const d = this.decodeAddress();
      if (d) return this.configRead(d[0], d[1], d[2], d[3] + (port - R.CONFIG_DATA_PORT), size);
      return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    }
    // Narrow accesses to CONFIG_ADDRESS are not the address register (PCI 3.0 3.2.2.3.2).
    this.badPortAccesses++;
    return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
  }

  private portWrite(port: number, size: AccessSize, value: number): void {
    if (port === R.CONFIG_ADDRESS_PORT && size === 4) {
      // Bits 1:0 are reserved and read as zero; 30:24 are reserved too.
      this.address = (value & 0x80fffffc) >>> 0;
      return;
    }
    if (port >= R.CONFIG_DATA_PORT && port + size <= R.CONFIG_DATA_PORT + 4) {
      const d = this.decodeAddress();
      if (d) this.configWrite(d[0], d[1], d[2], d[3] + (port - R.CONFIG_DATA_PORT), size, value);
      return;
    }
    this.badPortAccesses++;
  }

  /** The DSDT node of the root bridge (PNP0A08) and the ECAM reservation. */
  aml(): AmlNode[] {
    return pciRootAml({ ecamBase: this.ecamBase, ecamSize: ECAM_SIZE, windows: this.config.windows });
  }

  reset(): void {
    this.address = 0;
    this.fn.resetFunction();
  }

  save(): HostBridgeSaved {
    return { version: SAVED_VERSION, address: this.address, fn: this.fn.saveFunction() };
  }

  inspect(): InspectNode {
    const slots: Record<string, InspectNode> = {};
    this.slots.forEach((s, i) => {
      if (s) slots[`00:${i.toString(16).padStart(2, '0')}.0`] = inspect.value(s === this.fn ? 'host bridge' : 'device');
    });
    return inspect.tree({
      ecamBase: inspect.hex(this.ecamBase),
      configAddress: inspect.hex(this.address),
      configReads: inspect.counter(this.configReads),
      configWrites: inspect.counter(this.configWrites),
      absentFunctionAccesses: inspect.counter(this.absent),
      badPortAccesses: inspect.counter(this.badPortAccesses),
      slots: { children: slots },
      function: this.fn.inspectFunction(),
    });
  }
}

/** Builds the host bridge, fresh or from a SavedState. */
export const createPciHostBridge: DeviceFactory<HostBridgeConfig, HostBridgeContext, PciHostBridge> = (config, ctx, saved) =>
  new PciHostBridge(config, ctx, saved);
