/**
 * QEMU's pvpanic device (docs/specs/pvpanic.rst in QEMU; Linux
 * drivers/misc/pvpanic): one I/O port. Reading it returns the events the
 * device supports; the guest writes an event when it panics.
 */

/** The ISA port QEMU and Linux agree on. */
export const PVPANIC_PORT = 0x505;
/** The guest panicked. */
export const PVPANIC_PANICKED = 1 << 0;
/** The guest loaded a crash kernel (kdump) and is about to run it. */
export const PVPANIC_CRASH_LOADED = 1 << 1;
/** Events this device reports as supported. */
export const PVPANIC_SUPPORTED = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
