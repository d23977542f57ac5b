/**
 * The virtio-pci common configuration structure (virtio 1.2 4.1.4.3) as a
 * register block over a VirtioCore: feature windows, MSI-X vector
 * assignment, device status, and the registers of the queue queue_select
 * names. Per 4.1.4.3.2, a vector the device cannot use reads back as
 * NO_VECTOR, which is how Linux learns an assignment failed.
 */
import { NO_VECTOR, type VirtioCore } from '../core.js';
import { type Field, RegisterBlock } from '../register-block.js';
import { COMMON as C, COMMON_CFG_SIZE } from './regs.js';

/** Builds the register block; `vectors` is the MSI-X table size. */
export function commonConfig(core: VirtioCore, vectors: number): RegisterBlock {
  const q = () => core.selected;
  const vector = (v: number) => (v < vectors ? v : NO_VECTOR);
  // A queue register the driver may set only before DRIVER_OK.
  const queueField = (offset: number, size: 2 | 4, get: (r: NonNullable<ReturnType<typeof q>>) => number, set: (r: NonNullable<ReturnType<typeof q>>, v: number) => void): Field => ({
    offset,
    size,
    read: () => {
      const r = q();
      return r ? get(r) : 0;
    },
    write: (v) => {
      const r = q();
      if (r && core.queuesOpen) set(r, v);
      else core.driverErrors++;
    },
  });
  const fields: Field[] = [
    { offset: C.deviceFeatureSelect, size: 4, read: () => core.deviceFeatureSelect, write: (v) => (core.deviceFeatureSelect = v) },
    { offset: C.deviceFeature, size: 4, read: () => core.deviceFeatures() },
    { offset: C.driverFeatureSelect, size: 4, read: () => core.driverFeatureSelect, write: (v) => (core.driverFeatureSelect = v) },
    { offset: C.driverFeature, size: 4, read: () => core.readDriverFeatures(), write: (v) => core.writeDriverFeatures(v) },
    { offset: C.configMsixVector, size: 2, read: () => core.configVector, write: (v) => (core.configVector = vector(v)) },
    { offset: C.numQueues, size: 2, read: () => core.queues.length },
    { offset: C.deviceStatus, size: 1, read: () => core.status, write: (v) => core.writeStatus(v) },
    { offset: C.configGeneration, size: 1, read: () => core.configGeneration },
    { offset: C.queueSelect, size: 2, read: () => core.queueSelect, write: (v) => (core.queueSelect = v) },
    queueField(C.queueSize, 2, (r) => r.size, (r, v) => {
      // The driver may only shrink a queue (4.1.4.3.2); 0 or more than the maximum is ignored.
      if (v >= 1 && v <= r.max) r.size = v;
      else core.driverErrors++;
    }),
    // The vector may change while running (Linux reassigns on CPU hot-unplug); it is read at each interrupt.
    {
      offset: C.queueMsixVector,
      size: 2,
      read: () => q()?.vector ?? NO_VECTOR,
      write: (v) => {
        const r = q();
        if (r) r.vector = vector(v);
      },
    },
    queueField(C.queueEnable, 2, (r) => (r.enabled ? 1 : 0), (r, v) => {
      // Disabling a queue needs VIRTIO_F_RING_RESET, which is not offered.
      if (v === 1) r.enabled = true;
      else core.driverErrors++;
    }),
    { offset: C.queueNotifyOff, size: 2, read: () => (q() ? core.queueSelect : 0) },
    queueField(C.queueDescLo, 4, (r) => r.descLo, (r, v) => (r.descLo = v)),
    queueField(C.queueDescHi, 4, (r) => r.descHi, (r, v) => (r.descHi = v)),
    queueField(C.queueDriverLo, 4, (r) => r.driverLo, (r, v) => (r.driverLo = v)),
    queueField(C.queueDriverHi, 4, (r) => r.driverHi, (r, v) => (r.driverHi = v)),
    queueField(C.queueDeviceLo, 4, (r) => r.deviceLo, (r, v) => (r.deviceLo = v)),
    queueField(C.queueDeviceHi, 4, (r) => r.deviceHi, (r, v) => (r.deviceHi = v)),
    { offset: C.queueNotifyData, size: 2, read: () => 0 },
    { offset: C.queueReset, size: 2, read: () => 0 },
  ];
  return new RegisterBlock(COMMON_CFG_SIZE, fields);
}
