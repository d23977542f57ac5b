/**
 * Device state in a snapshot, generic over every VmmDevice on the machine
 * (Cloud Hypervisor's snapshot tree keyed by device id): capture calls
 * each device's save(); restore hands each factory its SavedState by id
 * (`create(config, ctx, saved)`, the one path) and then checks that every
 * device was built from its state and every state found its device, so a
 * part that does not restore its devices yet is refused, not silently
 * rebooted with fresh hardware.
 */
import type { SavedState, VmmDevice } from '../bus/device.js';
import { SnapshotError } from './snapshot-format.js';

function finiteOnly(key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`${JSON.stringify(key)} is ${value}, which JSON cannot hold`);
  return value;
}

/** Saves every device; refuses (SnapshotError) a device that cannot save or whose state is not plain JSON. */
export function captureDevices(devices: readonly VmmDevice[]): Record<string, SavedState> {
  const out: Record<string, SavedState> = {};
  for (const d of devices) {
    if (Object.hasOwn(out, d.id)) throw new SnapshotError(`two devices share the id ${JSON.stringify(d.id)}: snapshots need stable, unique device ids`);
    let state: SavedState;
    try {
      // A JSON round trip now, so what restore reads is exactly what was saved;
      // JSON would turn Infinity and NaN (a disarmed timer's deadline) into null.
      state = JSON.parse(JSON.stringify(d.save(), finiteOnly)) as SavedState;
    } catch (e) {
      throw new SnapshotError(`device ${d.id} cannot be saved: ${(e as Error).message}`);
    }
    if (typeof state !== 'object' || state === null || typeof state.version !== 'number') {
      throw new SnapshotError(`device ${d.id} cannot be saved: its save() returned no versioned state`);
    }
    out[d.id] = state;
  }
  return out;
}

/** Hands saved states to device factories by id while a machine is rebuilt, and checks the result. */
export class SavedDeviceStates {
  private readonly taken = new Set<string>();

  constructor(private readonly states: Readonly<Record<string, SavedState>>) {}

  /** The saved state of device `id` (undefined when the snapshot has none); marks it used. */
  take(id: string): SavedState | undefined {
    this.taken.add(id);
    return Object.hasOwn(this.states, id) ? this.states[id] : undefined;
  }

  /** Throws SnapshotError unless `devices` and the saved states match one to one and each state was used. */
  verify(devices: readonly VmmDevice[]): void {
    const ids = new Set(devices.map((d) => d.id));
    for (const d of devices) {
      if (!Object.hasOwn(this.states, d.id)) {
        throw new SnapshotError(`the snapshot has no state for device ${d.id}: this machine differs from the one snapshotted`);
      }
      if (!this.taken.has(d.id)) {
        throw new SnapshotError(`device ${d.id} was built without its saved state: the machine part that adds it cannot restore devices yet`);
      }
    }
    for (const id of Object.keys(this.states)) {
      if (!ids.has(id)) throw new SnapshotError(`the snapshot holds state for device ${id}, which this machine does not have`);
    }
  }
}
