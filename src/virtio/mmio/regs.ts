/**
 * The virtio-mmio register map, version 2 (non-legacy).
 *
 * Spec: Virtio 1.2, 4.2.2 "MMIO Device Register Layout".
 * https://docs.oasis-open.org/virtio/virtio/v1.2/virtio-v1.2.html#x1-1650002
 */

/** Register offsets. */
export const REG = {
  magicValue: 0x000,
  version: 0x004,
  deviceId: 0x008,
  vendorId: 0x00c,
  deviceFeatures: 0x010,
  deviceFeaturesSel: 0x014,
  driverFeatures: 0x020,
  driverFeaturesSel: 0x024,
  queueSel: 0x030,
  queueNumMax: 0x034,
  queueNum: 0x038,
  queueReady: 0x044,
  queueNotify: 0x050,
  interruptStatus: 0x060,
  interruptAck: 0x064,
  status: 0x070,
  queueDescLow: 0x080,
  queueDescHigh: 0x084,
  queueDriverLow: 0x090,
  queueDriverHigh: 0x094,
  queueDeviceLow: 0x0a0,
  queueDeviceHigh: 0x0a4,
  shmSel: 0x0ac,
  shmLenLow: 0x0b0,
  shmLenHigh: 0x0b4,
  shmBaseLow: 0x0b8,
  shmBaseHigh: 0x0bc,
  queueReset: 0x0c0,
  configGeneration: 0x0fc,
  config: 0x100,
} as const;

/** "virt" in little-endian. */
export const MAGIC = 0x74726976;
/** The non-legacy interface. */
export const VERSION = 2;
/** Vendor ID tsvmm reports: "TSVM" in little-endian (the value is the device's choice). */
export const VENDOR_ID = 0x4d565354;
/** InterruptStatus bit: used buffers on some queue. */
export const INT_VRING = 1;
/** InterruptStatus bit: the configuration changed. */
export const INT_CONFIG = 2;

/** Where the first device's registers are (DESIGN.md). */
export const MMIO_BASE = 0xfeb0_0000;
/** Bytes between two devices. */
export const MMIO_STRIDE = 0x1000;
/** The GSIs virtio-mmio devices get, in order (DESIGN.md: 5, 6, 7, 10, 11, ...; ISA lines the machine leaves free, then 16-23). */
export const MMIO_GSIS: readonly number[] = [5, 6, 7, 10, 11, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23];
