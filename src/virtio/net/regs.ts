/**
 * Virtio network device names: feature bits, configuration layout and
 * the per-packet header.
 *
 * Spec: Virtio 1.2, 5.1 "Network Device".
 * https://docs.oasis-open.org/virtio/virtio/v1.2/virtio-v1.2.html#x1-2170001
 */

/** Feature: the driver may leave the checksum to the device (not offered: backends checksum). */
export const F_CSUM = 0;
/** Feature: the device has a MAC address in config. */
export const F_MAC = 5;
/** Feature: the driver can merge receive buffers (num_buffers in the header). */
export const F_MRG_RXBUF = 15;
/** Feature: config `status` (link up) is valid. */
export const F_STATUS = 16;
/** Feature: control virtqueue (not offered). */
export const F_CTRL_VQ = 17;
/** Feature: several queue pairs (needs the control queue; not offered). */
export const F_MQ = 22;

/** Config: MAC address (6 bytes). */
export const CONFIG_MAC = 0;
/** Config: status (16 bits). */
export const CONFIG_STATUS = 6;
/** Config: max_virtqueue_pairs (16 bits). */
export const CONFIG_MAX_PAIRS = 8;
/** Config: mtu (16 bits). */
export const CONFIG_MTU = 10;
/** Bytes of config space exposed. */
export const CONFIG_SIZE = 12;

/** Config status bit: the link is up. */
export const S_LINK_UP = 1;

/** Bytes of struct virtio_net_hdr with num_buffers (always, under VERSION_1). */
export const HDR_SIZE = 12;
/** Header: flags (8 bits). */
export const HDR_FLAGS = 0;
/** Header: gso_type (8 bits). */
export const HDR_GSO_TYPE = 1;
/** Header: num_buffers (16 bits): receive buffers this packet spans. */
export const HDR_NUM_BUFFERS = 10;
/** Header flag: the checksum needs completing (only with F_CSUM). */
export const HDR_F_NEEDS_CSUM = 1;
/** gso_type: not a GSO frame. */
export const GSO_NONE = 0;

/** Queue index of the first receive queue. */
export const RX_QUEUE = 0;
/** Queue index of the first transmit queue. */
export const TX_QUEUE = 1;

/** Largest frame either way without GSO: a 1500-byte MTU plus Ethernet header and VLAN tag, with room to spare. */
export const MAX_FRAME = 1522 + 64;
