/**
 * Virtio names shared by every transport and device: device status bits,
 * reserved feature bits, ring layout and descriptor flags.
 *
 * Spec: Virtual I/O Device (VIRTIO) Version 1.2, OASIS, sections 2.1
 * (status), 2.2 and 6 (feature bits), 2.7 (split virtqueues), 2.8 (packed
 * virtqueues). https://docs.oasis-open.org/virtio/virtio/v1.2/virtio-v1.2.html
 */

/** Device status: the guest noticed the device. */
export const STATUS_ACKNOWLEDGE = 1;
/** Device status: the guest has a driver for it. */
export const STATUS_DRIVER = 2;
/** Device status: the driver is set up and ready to drive the device. */
export const STATUS_DRIVER_OK = 4;
/** Device status: feature negotiation is complete (the device may refuse by not keeping this bit). */
export const STATUS_FEATURES_OK = 8;
/** Device status: the device hit an error it cannot recover from; the driver must reset it. */
export const STATUS_DEVICE_NEEDS_RESET = 64;
/** Device status: the driver gave up on the device. */
export const STATUS_FAILED = 128;

/** Feature: descriptors may point to indirect descriptor tables. */
export const F_INDIRECT_DESC = 28;
/** Feature: used_event/avail_event fields suppress notifications. */
export const F_EVENT_IDX = 29;
/** Feature: virtio 1.x compliance (required by every modern transport). */
export const F_VERSION_1 = 32;
/** Feature: the device is behind an IOMMU/platform translation (not offered). */
export const F_ACCESS_PLATFORM = 33;
/** Feature: packed virtqueue layout. */
export const F_RING_PACKED = 34;
/** Feature: buffers are used in the order they were made available (not offered). */
export const F_IN_ORDER = 35;

/** Split ring: descriptor table entry size. */
export const DESC_SIZE = 16;
/** Descriptor flag: the chain continues at `next`. */
export const DESC_F_NEXT = 1;
/** Descriptor flag: the buffer is device-writable (otherwise device-readable). */
export const DESC_F_WRITE = 2;
/** Descriptor flag: the buffer holds an indirect descriptor table. */
export const DESC_F_INDIRECT = 4;
/** Packed ring descriptor flag: available wrap counter. */
export const DESC_F_AVAIL = 1 << 7;
/** Packed ring descriptor flag: used wrap counter. */
export const DESC_F_USED = 1 << 15;

/** Available ring flag: the driver does not want used-buffer interrupts (without EVENT_IDX). */
export const AVAIL_F_NO_INTERRUPT = 1;
/** Used ring flag: the device does not want available-buffer notifications (without EVENT_IDX). */
export const USED_F_NO_NOTIFY = 1;

/** Packed ring event suppression: notifications enabled. */
export const RING_EVENT_FLAGS_ENABLE = 0;
/** Packed ring event suppression: notifications disabled. */
export const RING_EVENT_FLAGS_DISABLE = 1;
/** Packed ring event suppression: notify at the descriptor named by off_wrap. */
export const RING_EVENT_FLAGS_DESC = 2;

/** Largest queue size the spec allows. */
export const MAX_QUEUE_SIZE = 32768;

/** Virtio device IDs (spec 5). */
export const DEVICE_ID = { net: 1, block: 2, console: 3, entropy: 4 } as const;

/** 64 feature bits as two 32-bit words [bits 0-31, bits 32-63]; no BigInt on the hot path. */
export type FeatureWords = readonly [number, number];

/** Whether `bit` is set in `f`. */
export function hasFeature(f: FeatureWords, bit: number): boolean {
  return bit < 32 ? ((f[0] >>> bit) & 1) === 1 : ((f[1] >>> (bit - 32)) & 1) === 1;
}

/** Feature words with the given bits set. */
export function features(...bits: number[]): FeatureWords {
  let lo = 0;
  let hi = 0;
  for (const b of bits) {
    if (b < 32) lo |= 1 << b;
    else hi |= 1 << (b - 32);
  }
  return [lo >>> 0, hi >>> 0];
}

/** The bits set in either. */
export function featureUnion(a: FeatureWords, b: FeatureWords): FeatureWords {
  return [(a[0] | b[0]) >>> 0, (a[1] | b[1]) >>> 0];
}

/** Whether every bit of `sub` is in `sup`. */
export function featureSubset(sub: FeatureWords, sup: FeatureWords): boolean {
  return (sub[0] & ~sup[0]) === 0 && (sub[1] & ~sup[1]) === 0;
}

/** Names the set bits, e.g. "0,5,32" (for inspect and logs). */
export function featureList(f: FeatureWords): string {
  const out: number[] = [];
  for (let b = 0; b < 64; b++) if (hasFeature(f, b)) out.push(b);
  return out.join(',');
}
