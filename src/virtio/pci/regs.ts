/**
 * Virtio over PCI, modern interface: the vendor-specific capabilities
 * that locate each structure in a BAR, the common configuration layout,
 * and tsvmm's layout of its single BAR.
 *
 * Spec: Virtio 1.2, 4.1.2 (PCI device discovery), 4.1.4 (virtio structure
 * PCI capabilities), 4.1.4.3 (common configuration structure layout).
 * https://docs.oasis-open.org/virtio/virtio/v1.2/virtio-v1.2.html#x1-1090004
 */

/** PCI vendor ID of every virtio device. */
export const VIRTIO_PCI_VENDOR = 0x1af4;
/** Modern (non-transitional) device IDs are 0x1040 + the virtio device type. */
export const VIRTIO_PCI_DEVICE_BASE = 0x1040;
/** Revision of non-transitional devices ("SHOULD be 1 or higher"). */
export const VIRTIO_PCI_REVISION = 1;
/** Subsystem ID tsvmm reports for modern devices (as QEMU does). */
export const VIRTIO_PCI_SUBSYSTEM_ID = 0x1100;

/** virtio_pci_cap.cfg_type: common configuration. */
export const CAP_COMMON_CFG = 1;
/** cfg_type: notifications. */
export const CAP_NOTIFY_CFG = 2;
/** cfg_type: ISR status. */
export const CAP_ISR_CFG = 3;
/** cfg_type: device-specific configuration. */
export const CAP_DEVICE_CFG = 4;
/** cfg_type: PCI configuration access (a window into the BARs through config space). */
export const CAP_PCI_CFG = 5;

/** virtio_pci_cap.cap_len: length of the capability (offset within it). */
export const CAP_LEN = 2;
/** virtio_pci_cap.cfg_type: which structure. */
export const CAP_CFG_TYPE = 3;
/** virtio_pci_cap.bar: the BAR holding the structure. */
export const CAP_BAR = 4;
/** virtio_pci_cap.id: tells several capabilities of one type apart. */
export const CAP_ID = 5;
/** virtio_pci_cap.offset: where the structure starts in the BAR. */
export const CAP_OFFSET = 8;
/** virtio_pci_cap.length: the structure's length. */
export const CAP_LENGTH = 12;
/** Size of struct virtio_pci_cap. */
export const CAP_SIZE = 16;
/** virtio_pci_notify_cap: notify_off_multiplier after the common fields. */
export const NOTIFY_CAP_MULTIPLIER = 16;
/** Size of struct virtio_pci_notify_cap. */
export const NOTIFY_CAP_SIZE = 20;
/** virtio_pci_cfg_cap: the 4-byte data window after the common fields. */
export const PCI_CFG_CAP_DATA = 16;
/** Size of struct virtio_pci_cfg_cap. */
export const PCI_CFG_CAP_SIZE = 20;

/** Common configuration fields (virtio_pci_common_cfg). */
export const COMMON = {
  deviceFeatureSelect: 0x00,
  deviceFeature: 0x04,
  driverFeatureSelect: 0x08,
  driverFeature: 0x0c,
  configMsixVector: 0x10,
  numQueues: 0x12,
  deviceStatus: 0x14,
  configGeneration: 0x15,
  queueSelect: 0x16,
  queueSize: 0x18,
  queueMsixVector: 0x1a,
  queueEnable: 0x1c,
  queueNotifyOff: 0x1e,
  queueDescLo: 0x20,
  queueDescHi: 0x24,
  queueDriverLo: 0x28,
  queueDriverHi: 0x2c,
  queueDeviceLo: 0x30,
  queueDeviceHi: 0x34,
  queueNotifyData: 0x38,
  queueReset: 0x3a,
} as const;
/** Bytes of the common configuration structure (virtio 1.2, with queue_notify_data and queue_reset). */
export const COMMON_CFG_SIZE = 0x3c;

/** ISR bit 0: a queue has used buffers (INTx only). */
export const ISR_QUEUE = 1;
/** ISR bit 1: the device configuration changed. */
export const ISR_CONFIG = 2;

/** tsvmm's layout of the one 64-bit memory BAR (BAR 0): a page per structure. */
export const BAR_LAYOUT = {
  common: 0x0000,
  isr: 0x1000,
  device: 0x2000,
  notify: 0x3000,
  msixTable: 0x4000,
  msixPba: 0x5000,
  size: 0x8000,
} as const;
/** Bytes between two queues' notify addresses. */
export const NOTIFY_OFF_MULTIPLIER = 4;
/** Room per structure in the BAR. */
export const BAR_PAGE = 0x1000;
