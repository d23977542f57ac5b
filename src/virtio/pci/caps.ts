/**
 * The PCI function of a virtio-pci device: identity registers, the BAR,
 * MSI-X, and the virtio vendor capabilities that tell the driver where
 * each structure sits (virtio 1.2 4.1.4), including the PCI configuration
 * access capability (4.1.4.9): a window through which the driver reaches
 * the BAR with config cycles alone.
 */
import type { AccessSize, ChipsetDevice } from '../../bus/device.js';
import type { MsiTarget } from '../../bus/irq.js';
import type { LogSink } from '../../bus/log.js';
import { PciFunction } from '../../pci/function.js';
import { CAP_ID_VNDR, CLASS_NETWORK_ETHERNET, CLASS_STORAGE_OTHER } from '../../pci/regs.js';
import type { VirtioDeviceModel } from '../device.js';
import { DEVICE_ID } from '../regs.js';
import * as P from './regs.js';

/** The BAR everything lives in. */
export const VIRTIO_BAR = 0;

function classCode(type: number): number {
  if (type === DEVICE_ID.block) return CLASS_STORAGE_OTHER;
  if (type === DEVICE_ID.net) return CLASS_NETWORK_ETHERNET;
  return 0xff0000;
}

/** A virtio-pci function: config space with the virtio capabilities over one 64-bit BAR. */
export class VirtioPciFunction extends PciFunction {
  /** Offset of the PCI configuration access capability. */
  readonly cfgCap: number;

  constructor(
    owner: ChipsetDevice,
    model: VirtioDeviceModel,
    vectors: number,
    private readonly barRead: (offset: number, size: AccessSize) => number,
    private readonly barWrite: (offset: number, size: AccessSize, value: number) => void,
    msi: MsiTarget,
    log: LogSink,
  ) {
    super(
      owner,
      {
        vendorId: P.VIRTIO_PCI_VENDOR,
        deviceId: P.VIRTIO_PCI_DEVICE_BASE + model.deviceType,
        classCode: classCode(model.deviceType),
        revision: P.VIRTIO_PCI_REVISION,
        subsystemVendorId: P.VIRTIO_PCI_VENDOR,
        subsystemId: P.VIRTIO_PCI_SUBSYSTEM_ID,
      },
      log,
    );
    const L = P.BAR_LAYOUT;
    this.addBar({ index: VIRTIO_BAR, kind: 'mem64', size: L.size, read: barRead, write: barWrite });
    this.enableMsix({ vectors, tableBar: VIRTIO_BAR, tableOffset: L.msixTable, pbaBar: VIRTIO_BAR, pbaOffset: L.msixPba }, msi);
    this.vendorCap(P.CAP_COMMON_CFG, L.common, P.COMMON_CFG_SIZE);
    const notify = this.vendorCap(P.CAP_NOTIFY_CFG, L.notify, model.queueMaxSizes.length * P.NOTIFY_OFF_MULTIPLIER, P.NOTIFY_CAP_SIZE);
    this.config.set(notify + P.NOTIFY_CAP_MULTIPLIER, 4, P.NOTIFY_OFF_MULTIPLIER);
    this.vendorCap(P.CAP_ISR_CFG, L.isr, 1);
    if (model.configSize > 0) this.vendorCap(P.CAP_DEVICE_CFG, L.device, model.configSize);
    this.cfgCap = this.vendorCap(P.CAP_PCI_CFG, 0, 0, P.PCI_CFG_CAP_SIZE);
    // The driver picks the BAR, offset and width of the window, then moves data through it.
    this.config.setWritable(this.cfgCap + P.CAP_BAR, 1, 0xff);
    this.config.setWritable(this.cfgCap + P.CAP_OFFSET, 4, 0xffffffff);
    this.config.setWritable(this.cfgCap + P.CAP_LENGTH, 4, 0xffffffff);
    this.config.setWritable(this.cfgCap + P.PCI_CFG_CAP_DATA, 4, 0xffffffff);
    this.finishSetup();
  }

  /** Adds a struct virtio_pci_cap pointing at `length` bytes at `offset` of the BAR. */
  private vendorCap(type: number, offset: number, length: number, capLen = P.CAP_SIZE): number {
    const at = this.config.addCapability(CAP_ID_VNDR, capLen);
    this.config.set(at + P.CAP_LEN, 1, capLen);
    this.config.set(at + P.CAP_CFG_TYPE, 1, type);
    this.config.set(at + P.CAP_BAR, 1, VIRTIO_BAR);
    this.config.set(at + P.CAP_OFFSET, 4, offset);
    this.config.set(at + P.CAP_LENGTH, 4, length);
    return at;
  }

  /** The window the configuration access capability describes, or null when it is not a valid one. */
  private window(): { offset: number; length: AccessSize } | null {
    const c = this.config;
    const bar = c.get(this.cfgCap + P.CAP_BAR, 1);
    const offset = c.get(this.cfgCap + P.CAP_OFFSET, 4);
    const length = c.get(this.cfgCap + P.CAP_LENGTH, 4);
    if (bar !== VIRTIO_BAR || (length !== 1 && length !== 2 && length !== 4)) return null;
    if (offset % length !== 0 || offset + length > P.BAR_LAYOUT.size) return null;
    return { offset, length };
  }

  private touchesData(offset: number, size: number): boolean {
    const d = this.cfgCap + P.PCI_CFG_CAP_DATA;
    return offset < d + 4 && offset + size > d;
  }

  override configRead(offset: number, size: AccessSize): number {
    if (this.touchesData(offset, size)) {
      const w = this.window();
      if (w) this.config.set(this.cfgCap + P.PCI_CFG_CAP_DATA, w.length, this.barRead(w.offset, w.length));
    }
    return super.configRead(offset, size);
  }

  protected override configWritten(offset: number, size: AccessSize): void {
    if (!this.touchesData(offset, size)) return;
    const w = this.window();
    if (w) this.barWrite(w.offset, w.length, this.config.get(this.cfgCap + P.PCI_CFG_CAP_DATA, w.length));
  }
}
