/**
 * The real-mode setup header of a bzImage (Linux Documentation/arch/x86/
 * boot.rst), read from its offsets in the file. These are also its offsets
 * in boot_params, where the loader copies it.
 */
import { ImageReader } from './bytes.js';
import { LoaderError, hex } from './errors.js';

/** Offsets of setup header fields in the image and in boot_params. */
export const HDR = {
  setupSects: 0x1f1,
  rootFlags: 0x1f2,
  syssize: 0x1f4,
  vidMode: 0x1fa,
  bootFlag: 0x1fe,
  jump: 0x200,
  header: 0x202,
  version: 0x206,
  typeOfLoader: 0x210,
  loadflags: 0x211,
  code32Start: 0x214,
  ramdiskImage: 0x218,
  ramdiskSize: 0x21c,
  heapEndPtr: 0x224,
  extLoaderVer: 0x226,
  extLoaderType: 0x227,
  cmdLinePtr: 0x228,
  initrdAddrMax: 0x22c,
  kernelAlignment: 0x230,
  relocatableKernel: 0x234,
  minAlignment: 0x235,
  xloadflags: 0x236,
  cmdlineSize: 0x238,
  hardwareSubarch: 0x23c,
  hardwareSubarchData: 0x240,
  payloadOffset: 0x248,
  payloadLength: 0x24c,
  setupData: 0x250,
  prefAddress: 0x258,
  initSize: 0x260,
  handoverOffset: 0x264,
} as const;

/** boot_flag: the old boot sector signature. */
export const BOOT_FLAG = 0xaa55;
/** "HdrS" read as a little-endian u32. */
export const HDRS_MAGIC = 0x53726448;
/** loadflags: protected-mode code loaded at 1 MiB (a bzImage). */
export const LOADED_HIGH = 0x01;
/** loadflags: the loader set heap_end_ptr. */
export const CAN_USE_HEAP = 0x80;
/** xloadflags: the kernel has the 64-bit entry point at load address + 0x200. */
export const XLF_KERNEL_64 = 0x01;
/** xloadflags: kernel, boot_params, command line and initrd may live above 4 GiB. */
export const XLF_CAN_BE_LOADED_ABOVE_4G = 0x02;
/** The first protocol with xloadflags and a 64-bit entry we can rely on. */
export const MIN_PROTOCOL = 0x020c;
/** Where the setup header ends in boot_params (edd_mbr_sig_buffer follows). */
export const HDR_MAX_END = 0x290;
// The header must reach at least through handover_offset, a 2.11 field.
const HDR_MIN_END = 0x268;

/** The setup header fields the loader uses, plus where things are in the file. */
export interface SetupHeader {
  /** Protocol version, e.g. 0x020f for 2.15. */
  readonly version: number;
  /** Bytes of the real-mode part ((setup_sects || 4) + 1 sectors); the kernel follows. */
  readonly setupSize: number;
  /** syssize in bytes (it is stored in 16-byte units). */
  readonly syssizeBytes: number;
  /** One past the last header byte the image defines (capped at HDR_MAX_END). */
  readonly headerEnd: number;
  readonly loadflags: number;
  readonly xloadflags: number;
  readonly code32Start: number;
  /** Highest address the initrd may occupy (its last byte). */
  readonly initrdAddrMax: number;
  readonly kernelAlignment: number;
  readonly relocatable: boolean;
  /** Longest command line, not counting the NUL. */
  readonly cmdlineSize: number;
  /** The compressed kernel, relative to the start of the protected-mode code. */
  readonly payloadOffset: number;
  readonly payloadLength: number;
  readonly prefAddress: number;
  /** Bytes the kernel needs from its load address while it decompresses itself. */
  readonly initSize: number;
}

/** True when `bytes` carries the bzImage boot flag and "HdrS" magic. */
export function isBzImage(bytes: Uint8Array): boolean {
  const r = new ImageReader(bytes, '');
  return r.has(HDR.bootFlag, 8) && r.u16(HDR.bootFlag) === BOOT_FLAG && r.u32(HDR.header) === HDRS_MAGIC;
}

function version(v: number): string {
  return `${v >> 8}.${(v & 0xff).toString().padStart(2, '0')}`;
}

/**
 * Parses and checks the setup header of a 64-bit bzImage. Anything the
 * 64-bit boot protocol cannot boot is a LoaderError.
 */
export function parseSetupHeader(bytes: Uint8Array, name: string): SetupHeader {
  const r = new ImageReader(bytes, name);
  if (!isBzImage(bytes)) {
    throw new LoaderError('not-a-kernel', `${name}: not a bzImage (no boot flag 0xAA55 and "HdrS" magic at 0x1fe)`);
  }
  const v = r.u16(HDR.version, 'the boot protocol version');
  if (v < MIN_PROTOCOL) {
    throw new LoaderError(
      'unsupported',
      `${name}: boot protocol ${version(v)} is too old; the 64-bit entry point needs 2.12 or newer`,
    );
  }
  const declaredEnd = HDR.jump + 2 + r.u8(HDR.jump + 1, 'the setup header length');
  if (declaredEnd < HDR_MIN_END) {
    throw new LoaderError(
      'malformed',
      `${name}: the setup header ends at ${hex(declaredEnd)}, too short for protocol ${version(v)} (needs ${hex(HDR_MIN_END)})`,
    );
  }
  const headerEnd = Math.min(declaredEnd, HDR_MAX_END);
  r.need(HDR.setupSects, headerEnd - HDR.setupSects, 'the setup header');

  const xloadflags = r.u16(HDR.xloadflags);
  if (!(xloadflags & XLF_KERNEL_64)) {
    throw new LoaderError('unsupported', `${name}: not a 64-bit kernel (xloadflags lacks XLF_KERNEL_64)`);
  }
  const loadflags = r.u8(HDR.loadflags);
  if (!(loadflags & LOADED_HIGH)) {
    throw new LoaderError('unsupported', `${name}: a zImage (loaded below 1 MiB) is not supported; use a bzImage`);
  }

  const setupSize = ((r.u8(HDR.setupSects) || 4) + 1) * 512;
  if (setupSize >= bytes.length) {
    throw new LoaderError(
      'malformed',
      `${name}: truncated: the setup code is ${setupSize} bytes but the file is only ${bytes.length} bytes`,
    );
  }
  const kernelBytes = bytes.length - setupSize;
  const syssizeBytes = r.u32(HDR.syssize) * 16;
  if (syssizeBytes > kernelBytes) {
    throw new LoaderError(
      'malformed',
      `${name}: truncated: the header promises ${syssizeBytes} bytes of protected-mode kernel, the file has ${kernelBytes}`,
    );
  }
  const payloadOffset = r.u32(HDR.payloadOffset);
  const payloadLength = r.u32(HDR.payloadLength);
  if (payloadOffset + payloadLength > kernelBytes) {
    throw new LoaderError(
      'malformed',
      `${name}: the compressed payload (${payloadLength} bytes at ${hex(payloadOffset)}) runs past the end of the kernel (${kernelBytes} bytes)`,
    );
  }
  return {
    version: v,
    setupSize,
    syssizeBytes,
    headerEnd,
    loadflags,
    xloadflags,
    code32Start: r.u32(HDR.code32Start),
    initrdAddrMax: r.u32(HDR.initrdAddrMax),
    kernelAlignment: r.u32(HDR.kernelAlignment),
    relocatable: r.u8(HDR.relocatableKernel) !== 0,
    cmdlineSize: r.u32(HDR.cmdlineSize),
    payloadOffset,
    payloadLength,
    prefAddress: r.u64(HDR.prefAddress),
    initSize: r.u32(HDR.initSize),
  };
}

/** The compressed kernel inside a bzImage (a zero-copy view). */
export function bzImagePayload(bytes: Uint8Array, hdr: SetupHeader): Uint8Array {
  const start = hdr.setupSize + hdr.payloadOffset;
  return bytes.subarray(start, start + hdr.payloadLength);
}
