/**
 * A fast-check harness for any device: random sequences of reads and
 * writes, of every width, at addresses inside (and just around) the regions
 * the device declared. The device must never throw and reads must fit the
 * access width. Used by every device's tests (OpenVMM's chipset_device_fuzz).
 */
import fc from 'fast-check';
import type { AccessSize, ChipsetDevice, IoPart } from './device.js';

/** One random access. */
export interface FuzzAccess {
  readonly space: 'pio' | 'mmio';
  readonly addr: number;
  readonly size: AccessSize;
  readonly write: boolean;
  readonly value: number;
}

function accessesFor(space: 'pio' | 'mmio', part: IoPart): fc.Arbitrary<FuzzAccess>[] {
  return part.regions.map((r) =>
    fc.record({
      space: fc.constant(space),
      // A wide access at a region's last bytes runs over its edge on purpose.
      addr: fc.integer({ min: r.base, max: r.base + r.size - 1 }),
      size: fc.constantFrom<AccessSize>(1, 2, 4),
      write: fc.boolean(),
      value: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 0xff, 0xffff, 0xffffffff, 1, 0x80)),
    }),
  );
}

/** An arbitrary of access sequences for `device`'s declared regions. */
export function deviceAccesses(device: ChipsetDevice, maxLength = 200): fc.Arbitrary<FuzzAccess[]> {
  const arbs = [
    ...(device.pio ? accessesFor('pio', device.pio) : []),
    ...(device.mmio ? accessesFor('mmio', device.mmio) : []),
  ];
  if (arbs.length === 0) throw new Error(`device ${device.id} declares no regions to fuzz`);
  return fc.array(fc.oneof(...arbs), { maxLength });
}

/** Applies one access to the device directly (no bus); returns the value read. */
export function applyAccess(device: ChipsetDevice, a: FuzzAccess): number | undefined {
  const part = device[a.space]!;
  if (a.write) {
    part.write(a.addr, a.size, a.value);
    return undefined;
  }
  return part.read(a.addr, a.size);
}

/** Options for fuzzDevice. */
export interface FuzzOptions {
  readonly runs?: number;
  readonly seed?: number;
  /** Called after each sequence (e.g. to check invariants or drain timers). */
  readonly after?: (device: ChipsetDevice) => void;
}

/**
 * Drives fresh devices from `make` with random access sequences; fails (via
 * fast-check's shrinking report) if any access throws or a read returns a
 * value that does not fit its width.
 */
export function fuzzDevice(make: () => ChipsetDevice, options: FuzzOptions = {}): void {
  const sample = make();
  fc.assert(
    fc.property(deviceAccesses(sample), (accesses) => {
      const dev = make();
      for (const a of accesses) {
        const v = applyAccess(dev, a);
        if (v !== undefined) {
          const max = a.size === 4 ? 0xffffffff : (1 << (8 * a.size)) - 1;
          if (!Number.isInteger(v) || v < -0x80000000 || (v >>> 0) > max || (a.size < 4 && v > max)) {
            throw new Error(`${a.space} read at 0x${a.addr.toString(16)} size ${a.size} returned ${v}`);
          }
        }
      }
      options.after?.(dev);
    }),
    { numRuns: options.runs ?? 200, ...(options.seed === undefined ? {} : { seed: options.seed }) },
  );
}
