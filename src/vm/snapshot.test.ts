import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import type { SavedState, VmmDevice } from '../bus/device.js';
import { silentSink } from '../bus/log.js';
import { sampleVmlinux } from '../loader/test-images.js';
import { parseVmConfig } from './config.js';
import { Machine, type MachineBoot, type MachineOptions, type MachineState } from './machine.js';
import { pciPart } from './pci-part.js';
import { captureDevices, SavedDeviceStates } from './snapshot-devices.js';
import { SnapshotError } from './snapshot-format.js';
import { bootIdentity, openSnapshot, writeSnapshot } from './snapshot.js';
import { Vm } from './vm.js';

const config = parseVmConfig({ accel: 'emu', memory: 32 * 1024 * 1024, cpus: 2 });
const boot: MachineBoot = { kernel: sampleVmlinux(), kernelName: 'sample', cmdline: 'console=ttyS0' };
const options: MachineOptions = { log: silentSink, parts: [pciPart({})] };

function scratch(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-snap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function snapshotOf(m: Machine, dir: string): void {
  writeSnapshot(dir, { config, boot: bootIdentity(boot, m.bootKind), boots: 1, memory: m.memory, capture: () => m.captureState() });
}

/** Machine state without what depends on when it was taken (the RTC's wall clock, the PIT's ticks since a count started). */
function timeless(s: Pick<MachineState, 'bootWallNs' | 'vcpus' | 'devices'>): unknown {
  const json = JSON.stringify({ bootWallNs: s.bootWallNs, vcpus: s.vcpus, devices: s.devices }, (k, v: unknown) =>
    ['wallMs', 'rtcSeconds', 'subsecondNs', 'startAgo'].includes(k) ? 0 : v,
  );
  return JSON.parse(json);
}

test('a machine rebuilt from its snapshot has the same device, vCPU and RAM state, and time goes on', (t) => {
  const dir = scratch(t);
  const a = new Machine(config, boot, options);
  // Leave marks a fresh machine would not have: a UART scratch register, a PIC mask, RAM, a vCPU register.
  a.pio.write(0x3ff, 1, 0xa5);
  a.pio.write(0x21, 1, 0xfb);
  a.memory.writeU32(0x700000, 0x600dcafe);
  a.platform.vcpus[0]!.cpu.R[3] = 0x1234;
  snapshotOf(a, dir);
  a.memory.close();

  const snap = openSnapshot(dir);
  const saved = { ...snap.manifest.machine, vcpus: snap.manifest.vcpus, devices: snap.manifest.devices };
  assert.equal(snap.manifest.config.cpus, 2);
  const b = new Machine(snap.manifest.config, { restore: snap.image() }, options);
  const restored = b.captureState();
  assert.deepEqual(timeless(restored), timeless(saved));
  assert.ok(restored.timeNs >= saved.timeNs, `time went back: ${restored.timeNs} < ${saved.timeNs}`);
  assert.equal(b.pio.read(0x3ff, 1), 0xa5);
  assert.equal(b.memory.readU32(0x700000), 0x600dcafe);
  assert.equal(b.bootKind, 'pvh-elf');
  // Kernel and boot structures came back with RAM, not from a second load.
  // (sampleVmlinux's code bytes are (i * 7 + 3) & 0xff at 16 MiB.)
  assert.equal(b.memory.readU8(0x1000000 + 5), (5 * 7 + 3) & 0xff);
  b.memory.close();
});

test('Vm.restore refuses a machine that differs from the snapshot, one line each', async (t) => {
  const dir = scratch(t);
  const a = new Machine(config, boot, options);
  snapshotOf(a, dir);
  a.memory.close();
  const refuse = async (opts: MachineOptions, re: RegExp) => {
    await assert.rejects(Vm.restore(dir, opts), (e: Error) => e instanceof SnapshotError && re.test(e.message) && !e.message.includes('\n'));
  };
  // No PCI part: the snapshot's pci-host has nowhere to go.
  await refuse({ log: silentSink }, /holds state for device pci-host, which this machine does not have/);
  // A part that builds its devices afresh instead of from their saved state.
  const fresh = (id: string): VmmDevice => ({ id, reset() {}, save: () => ({ version: 1 }), inspect: () => ({}) });
  await refuse({ log: silentSink, parts: [pciPart({}), () => ({ devices: [fresh('virtio-rng0')] })] }, /no state for device virtio-rng0/);
});

test('a damaged snapshot is refused before anything is built', (t) => {
  const dir = scratch(t);
  const a = new Machine(config, boot, options);
  snapshotOf(a, dir);
  a.memory.close();
  const manifest = join(dir, 'snapshot.json');
  const text = readFileSync(manifest, 'utf8');
  writeFileSync(manifest, text.replace('"boots": 1', '"boots": 7'));
  assert.throws(() => openSnapshot(dir), /the manifest is corrupt \(checksum mismatch/);
  writeFileSync(manifest, text);
  rmSync(join(dir, 'memory.bin'));
  assert.throws(() => openSnapshot(dir), /the memory file memory\.bin is missing/);
  assert.throws(() => openSnapshot(join(dir, 'nothing')), /no snapshot there \(no snapshot\.json\)/);
});

test('a device that cannot save makes the snapshot fail with its id', () => {
  const dev = (id: string, save: () => SavedState): VmmDevice => ({ id, reset() {}, save, inspect: () => ({}) });
  assert.throws(() => captureDevices([dev('blk0', () => { throw new Error('request in flight'); })]), /device blk0 cannot be saved: request in flight/);
  assert.throws(() => captureDevices([dev('big', () => ({ version: 1, n: 1n }))]), /device big cannot be saved: .*BigInt/);
  assert.throws(() => captureDevices([dev('pit', () => ({ version: 1, timer: { deadline: Infinity } }))]), /device pit cannot be saved: "deadline" is Infinity, which JSON cannot hold/);
  assert.throws(() => captureDevices([dev('x', () => ({ version: 1 })), dev('x', () => ({ version: 1 }))]), /two devices share the id "x"/);
  assert.throws(() => captureDevices([dev('v', () => ({}) as SavedState)]), /device v cannot be saved: its save\(\) returned no versioned state/);
});

test('saved states must be used by the device they belong to', () => {
  const dev = (id: string): VmmDevice => ({ id, reset() {}, save: () => ({ version: 1 }), inspect: () => ({}) });
  const states = new SavedDeviceStates({ a: { version: 1 }, b: { version: 1 } });
  states.take('a');
  assert.throws(() => states.verify([dev('a'), dev('b')]), /device b was built without its saved state/);
  states.take('b');
  assert.doesNotThrow(() => states.verify([dev('a'), dev('b')]));
});
