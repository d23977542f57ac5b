/**
 * The one error the loader throws. Kernels, initrds and command lines come
 * from the user and may be anything: every way they can be wrong ends here,
 * with a single line that names the file and what is wrong with it.
 */

/**
 * What kind of failure a LoaderError is; loadLinux falls back from PVH to
 * the 64-bit protocol on "unsupported" and "no-pvh-note" only.
 */
export type LoaderErrorCode =
  | 'not-a-kernel' // neither a bzImage nor an ELF
  | 'malformed' // truncated or internally inconsistent
  | 'unsupported' // well-formed, but a format or protocol we do not handle
  | 'no-pvh-note' // an ELF without XEN_ELFNOTE_PHYS32_ENTRY
  | 'does-not-fit' // does not fit in guest RAM or the limits the kernel sets
  | 'bad-option'; // a caller-supplied value (command line, RSDP address) is unusable

/** A kernel, initrd or option that cannot be loaded; the message is one line for the user. */
export class LoaderError extends Error {
  constructor(
    readonly code: LoaderErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LoaderError';
  }
}

/** Formats a guest address or size for messages. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
