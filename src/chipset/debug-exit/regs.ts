/**
 * QEMU's isa-debug-exit device (hw/misc/debugexit.c): a write-only port
 * whose written value V makes QEMU exit with status (V << 1) | 1.
 */

/** The port test guests use (QEMU: -device isa-debug-exit,iobase=0xf4,iosize=4). */
export const DEBUG_EXIT_PORT = 0xf4;
/** Default width of the port in bytes: a 1, 2 or 4-byte write is one value. */
export const DEBUG_EXIT_IOSIZE = 4;
