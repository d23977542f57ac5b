/**
 * The device contract every part of the machine implements.
 *
 * DEVNOTE: capabilities are optional parts (pio, mmio, pci) rather than one
 * big interface so a test device needs no stubs (OpenVMM's ChipsetDevice).
 * Lifecycle, save/restore and inspect are separate interfaces, combined as
 * `VmmDevice` for what the machine builder holds.
 */

/** A named, fixed range of port or MMIO addresses a device answers. */
export interface Region {
  /** Shown in conflict errors and inspect output, e.g. "com1" or "lapic". */
  readonly name: string;
  /** First address (port number or guest-physical address). */
  readonly base: number;
  /** Length in bytes (ports count as bytes too). */
  readonly size: number;
}

/** Access width on a bus. 8-byte MMIO is split by the bus (see IoBus). */
export type AccessSize = 1 | 2 | 4;

/**
 * Synchronous handlers for one address space. `addr` is the absolute port or
 * guest-physical address, never an offset. Handlers never throw because of
 * what the guest did: an access they do not understand is counted and reads
 * as all-ones.
 */
export interface IoPart {
  readonly regions: readonly Region[];
  read(addr: number, size: AccessSize): number;
  write(addr: number, size: AccessSize, value: number): void;
}

/** PCI configuration space of one function (the PCI layer builds on this). */
export interface PciPart {
  /** Reads `size` bytes at `offset` (0..4095) of this function's config space. */
  configRead(offset: number, size: AccessSize): number;
  configWrite(offset: number, size: AccessSize, value: number): void;
}

/** What a device may plug into: port I/O, MMIO, PCI config space. */
export interface ChipsetDevice {
  /** Stable id used for snapshots, inspect and errors, e.g. "com1", "virtio-blk0". */
  readonly id: string;
  readonly pio?: IoPart;
  readonly mmio?: IoPart;
  readonly pci?: PciPart;
}

/** Returns the device to its power-on state (guest reset). */
export interface Resettable {
  reset(): void;
}

/**
 * A versioned, JSON-able snapshot of one device. Keys are named, never
 * positional; a newer version only adds optional keys with safe defaults.
 */
export interface SavedState {
  readonly version: number;
  readonly [key: string]: unknown;
}

/** Produces the device's SavedState. Restoring is building: see DeviceFactory. */
export interface Saveable {
  save(): SavedState;
}

/** One node in an inspect tree: a value, or named children. */
export interface InspectNode {
  /** Leaf value; numbers tagged `hex` print as 0x..., `counter` ones only grow. */
  readonly value?: number | bigint | string | boolean | null;
  readonly hex?: boolean;
  readonly counter?: boolean;
  readonly children?: Readonly<Record<string, InspectNode>>;
}

/** Exposes a device's state and counters as a tree. */
export interface Inspectable {
  inspect(): InspectNode;
}

/** Everything the machine builder holds for each device. */
export type VmmDevice = ChipsetDevice & Resettable & Saveable & Inspectable;

/**
 * One path for boot and restore: `create(config, ctx)` builds a fresh
 * device, `create(config, ctx, saved)` rebuilds one from its SavedState.
 */
export type DeviceFactory<Config, Ctx, D extends VmmDevice = VmmDevice> = (
  config: Config,
  ctx: Ctx,
  saved?: SavedState,
) => D;

/** Helpers to build inspect trees without ceremony. */
export const inspect = {
  /** A plain value. */
  value(value: InspectNode['value']): InspectNode {
    return { value };
  },
  /** A number shown in hex. */
  hex(value: number | bigint): InspectNode {
    return { value, hex: true };
  },
  /** A monotonically growing count. */
  counter(value: number): InspectNode {
    return { value, counter: true };
  },
  /** A node with named children; plain values are wrapped. */
  tree(children: Record<string, InspectNode | InspectNode['value']>): InspectNode {
    const out: Record<string, InspectNode> = {};
    for (const [k, v] of Object.entries(children)) {
      out[k] = isNode(v) ? v : { value: v };
    }
    return { children: out };
  },
};

function isNode(v: unknown): v is InspectNode {
  return typeof v === 'object' && v !== null && ('value' in v || 'children' in v);
}

/** Thrown when a SavedState cannot be applied (wrong version, bad shape). */
export class RestoreError extends Error {
  constructor(deviceId: string, message: string) {
    super(`${deviceId}: cannot restore saved state: ${message}`);
    this.name = 'RestoreError';
  }
}

/**
 * Checks a SavedState's version against what a device understands; returns
 * it typed. Devices call this at the top of their restore path.
 */
export function checkSavedVersion<S extends SavedState>(
  deviceId: string,
  saved: SavedState,
  maxVersion: number,
): S {
  if (typeof saved !== 'object' || saved === null || typeof saved.version !== 'number') {
    throw new RestoreError(deviceId, 'not a saved state object');
  }
  if (saved.version > maxVersion || saved.version < 1) {
    throw new RestoreError(deviceId, `version ${saved.version} is not supported (this build reads 1..${maxVersion})`);
  }
  return saved as S;
}
