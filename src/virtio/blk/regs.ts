/**
 * Virtio block device names: feature bits, configuration layout, request
 * types and status codes.
 *
 * Spec: Virtio 1.2, 5.2 "Block Device".
 * https://docs.oasis-open.org/virtio/virtio/v1.2/virtio-v1.2.html#x1-2740002
 */

/** Feature: size_max (largest segment) is valid. */
export const F_SIZE_MAX = 1;
/** Feature: seg_max (most segments per request) is valid. */
export const F_SEG_MAX = 2;
/** Feature: the disk is read-only. */
export const F_RO = 5;
/** Feature: blk_size is valid. */
export const F_BLK_SIZE = 6;
/** Feature: the FLUSH command exists (the cache is write-back). */
export const F_FLUSH = 9;
/** Feature: topology fields are valid. */
export const F_TOPOLOGY = 10;
/** Feature: several request queues (num_queues). */
export const F_MQ = 12;
/** Feature: the DISCARD command exists. */
export const F_DISCARD = 13;
/** Feature: the WRITE_ZEROES command exists. */
export const F_WRITE_ZEROES = 14;

/** Request type: read. */
export const T_IN = 0;
/** Request type: write. */
export const T_OUT = 1;
/** Request type: flush the write cache. */
export const T_FLUSH = 4;
/** Request type: device ID string (20 bytes). */
export const T_GET_ID = 8;
/** Request type: device lifetime (not supported). */
export const T_GET_LIFETIME = 10;
/** Request type: discard ranges. */
export const T_DISCARD = 11;
/** Request type: write zeroes to ranges. */
export const T_WRITE_ZEROES = 13;
/** Request type: secure erase (not supported). */
export const T_SECURE_ERASE = 14;

/** Status: success. */
export const S_OK = 0;
/** Status: the request failed. */
export const S_IOERR = 1;
/** Status: the request type (or a flag) is not supported. */
export const S_UNSUPP = 2;

/** Bytes of struct virtio_blk_outhdr (type, ioprio, sector). */
export const REQ_HEADER_SIZE = 16;
/** Bytes of one struct virtio_blk_discard_write_zeroes. */
export const DWZ_SEGMENT_SIZE = 16;
/** discard/write-zeroes flag: the device may deallocate (write zeroes only). */
export const DWZ_F_UNMAP = 1;
/** Bytes of the GET_ID answer. */
export const ID_BYTES = 20;
/** Sector size of virtio-blk addressing (always 512). */
export const SECTOR = 512;

/** struct virtio_blk_config field offsets. */
export const CONFIG = {
  capacity: 0x00,
  sizeMax: 0x08,
  segMax: 0x0c,
  geometry: 0x10,
  blkSize: 0x14,
  physicalBlockExp: 0x18,
  alignmentOffset: 0x19,
  minIoSize: 0x1a,
  optIoSize: 0x1c,
  writeback: 0x20,
  numQueues: 0x22,
  maxDiscardSectors: 0x24,
  maxDiscardSeg: 0x28,
  discardSectorAlignment: 0x2c,
  maxWriteZeroesSectors: 0x30,
  maxWriteZeroesSeg: 0x34,
  writeZeroesMayUnmap: 0x38,
} as const;
/** Bytes of config space tsvmm exposes (through write_zeroes_may_unmap and its padding). */
export const CONFIG_SIZE = 0x3c;
