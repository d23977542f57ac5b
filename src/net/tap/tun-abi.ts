/**
 * The Linux TUN/TAP ABI the TAP backend needs: the TUNSETIFF request and
 * struct ifreq. Numbers from <linux/if_tun.h> and <linux/if.h>; the same on
 * x86-64 and AArch64. https://docs.kernel.org/networking/tuntap.html
 */

/** The clone device every TUN/TAP fd starts from. */
export const TUN_DEVICE = '/dev/net/tun';
/** _IOW('T', 202, int): attach the fd to (or create) an interface. */
export const TUNSETIFF = ((1 << 30) | (4 << 16) | (0x54 << 8) | 202) >>> 0;
/** ifr_flags: an Ethernet (TAP) device rather than an IP (TUN) one. */
export const IFF_TAP = 0x0002;
/** ifr_flags: no 4-byte packet-information header before each frame. */
export const IFF_NO_PI = 0x1000;
/** ifr_flags: a virtio-net header before each frame (not used: NetBackend frames are plain). */
export const IFF_VNET_HDR = 0x4000;
/** IFNAMSIZ: interface names are at most 15 bytes and a NUL. */
export const IFNAMSIZ = 16;
/** sizeof(struct ifreq) on 64-bit Linux: the name and a 24-byte union. */
export const IFREQ_SIZE = 40;
/** errno: the fd has no frame to read, or no room to write. */
export const EAGAIN = 11;
/** errno: an I/O error (a TAP fd whose interface went away). */
export const EIO = 5;

/** A struct ifreq holding `name` and `flags` (ifr_flags, a short right after the name). */
export function encodeIfreq(name: string, flags: number): Uint8Array {
  const bytes = new TextEncoder().encode(name);
  if (bytes.length >= IFNAMSIZ || bytes.length === 0 || bytes.includes(0)) {
    throw new RangeError(`interface name ${JSON.stringify(name)} must be 1 to ${IFNAMSIZ - 1} bytes`);
  }
  const req = new Uint8Array(IFREQ_SIZE);
  req.set(bytes, 0);
  new DataView(req.buffer).setInt16(IFNAMSIZ, flags, true);
  return req;
}

/** The interface name the kernel wrote back into an ifreq (it expands patterns such as "tap%d"). */
export function ifreqName(req: Uint8Array): string {
  const end = req.subarray(0, IFNAMSIZ).indexOf(0);
  return new TextDecoder().decode(req.subarray(0, end < 0 ? IFNAMSIZ : end));
}
