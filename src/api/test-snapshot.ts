/**
 * Test helper: a real snapshot directory (a small machine that never ran,
 * written by writeSnapshot), for the restore tests of the API and ctl.
 */
import { silentSink } from '../bus/log.js';
import { sampleVmlinux } from '../loader/test-images.js';
import { parseVmConfig, type VmConfig } from '../vm/config.js';
import { Machine, type MachineBoot } from '../vm/machine.js';
import { bootIdentity, writeSnapshot } from '../vm/snapshot.js';

/** The config the test snapshots hold. */
export const SNAPSHOT_CONFIG: VmConfig = parseVmConfig({ accel: 'emu', memory: 32 * 1024 * 1024, cmdline: 'console=ttyS0 test-snapshot' });

/** Writes a snapshot of a fresh machine (SNAPSHOT_CONFIG) to `dir`. */
export function writeTestSnapshot(dir: string): void {
  const boot: MachineBoot = { kernel: sampleVmlinux(), kernelName: 'sample', cmdline: 'console=ttyS0' };
  const m = new Machine(SNAPSHOT_CONFIG, boot, { log: silentSink });
  try {
    writeSnapshot(dir, { config: SNAPSHOT_CONFIG, boot: bootIdentity(boot, m.bootKind), boots: 1, memory: m.memory, capture: () => m.captureState() });
  } finally {
    m.memory.close();
  }
}
