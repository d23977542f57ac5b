/**
 * The default guest: a Debian cloud kernel and a busybox initramfs, built
 * on the user's machine from Debian's packages and cached.
 */
export { aptSource, GuestSourceError, type PackageRef, type PackageSource } from "./apt.js";
export { BUSYBOX_PACKAGE, KERNEL_METAPACKAGE, type GuestProgress, type GuestStep } from "./build.js";
export { checkGuest, defaultGuestPaths, guestCacheRoot, type GuestCheck, type GuestPaths } from "./cache.js";
export { DEFAULT_CMDLINE } from "./cmdline.js";
export { CpioArchive } from "./cpio.js";
export { checkDefaultGuest, ensureDefaultGuest, type DefaultGuest, type EnsureGuestOptions } from "./default-guest.js";
export { GuestBuildError } from "./errors.js";
export { buildInitramfs, type InitramfsInput, type InitramfsModule } from "./initramfs.js";
export type { GuestManifest } from "./manifest.js";
