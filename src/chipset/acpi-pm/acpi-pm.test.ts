import assert from 'node:assert/strict';
import test from 'node:test';
import { TableDir, acpicaSkipReason, tracedPortWrites } from '../../acpi/acpica-tools.js';
import { FADT, readGas } from '../../acpi/fadt.js';
import { layoutAcpiTables } from '../../acpi/tables.js';
import { RestoreError } from '../../bus/device.js';
import { fuzzDevice } from '../../bus/device-fuzz.js';
import { RecordingMachineControl } from '../../bus/machine.js';
import { type AcpiPm, createAcpiPm } from './acpi-pm.js';
import { ACPI_PM_BASE, RESET_VALUE, SLP_EN, SLP_TYP_S5, WAK_STS } from './regs.js';

function make(base?: number): { dev: AcpiPm; machine: RecordingMachineControl } {
  const machine = new RecordingMachineControl();
  return { dev: createAcpiPm(base === undefined ? {} : { base }, { machine }), machine };
}

const S5 = (SLP_TYP_S5 << 2) | SLP_EN;

test('SLP_TYP=S5 with SLP_EN asks the machine to power off', () => {
  const { dev, machine } = make();
  dev.pio.write(0x600, 1, S5);
  assert.deepEqual(machine.requests, [{ kind: 'poweroff', source: 'acpi' }]);
  assert.equal(S5, 0x34);
});

test('SLP_TYP alone, or SLP_EN for a state other than S5, does not power off', () => {
  const { dev, machine } = make();
  dev.pio.write(0x600, 1, SLP_TYP_S5 << 2);
  assert.equal(dev.pio.read(0x600, 1), SLP_TYP_S5 << 2, 'SLP_TYP reads back, SLP_EN reads 0');
  assert.equal(dev.pio.read(0x601, 1), 0);
  dev.pio.write(0x600, 1, (3 << 2) | SLP_EN);
  assert.deepEqual(machine.requests, []);
  assert.equal(dev.inspect().children!.ignoredSleeps!.value, 1);
  // The OS polls WAK_STS after SLP_EN: an unsupported state "wakes" at once.
  assert.equal(dev.pio.read(0x601, 1), WAK_STS);
});

test('writing RESET_VALUE to the reset register asks for a reset; other values are ignored', () => {
  const { dev, machine } = make();
  dev.pio.write(0x602, 1, 0x01);
  dev.pio.write(0x602, 1, 0xff);
  assert.deepEqual(machine.requests, []);
  dev.pio.write(0x602, 1, RESET_VALUE);
  assert.deepEqual(machine.requests, [{ kind: 'reset', source: 'acpi' }]);
  assert.equal(dev.pio.read(0x602, 1), 0);
  const c = dev.inspect().children!;
  assert.equal(c.resets!.value, 1);
  assert.equal(c.ignoredResetWrites!.value, 2);
});

test('wider accesses split into byte lanes, and bytes past the block read as all-ones', () => {
  const { dev, machine } = make();
  dev.pio.write(0x600, 2, S5 | (WAK_STS << 8));
  assert.deepEqual(machine.requests, [{ kind: 'poweroff', source: 'acpi' }]);
  assert.equal(dev.pio.read(0x600, 4), SLP_TYP_S5 << 2);
  assert.equal(dev.pio.read(0x603, 4), 0xffffff00);
  assert.equal(dev.inspect().children!.badAccesses!.value, 3);
});

test('WAK_STS is write-one-to-clear, and reset() returns to power-on state', () => {
  const { dev } = make();
  const restored = createAcpiPm({}, { machine: new RecordingMachineControl() }, { version: 1, sleepType: 5, wakeStatus: true });
  assert.equal(restored.pio.read(0x601, 1), WAK_STS);
  restored.pio.write(0x601, 1, 0x00);
  assert.equal(restored.pio.read(0x601, 1), WAK_STS);
  restored.pio.write(0x601, 1, WAK_STS);
  assert.equal(restored.pio.read(0x601, 1), 0);
  restored.reset();
  assert.deepEqual(restored.save(), dev.save());
});

test('save -> JSON -> restore round-trips; unknown versions are refused', () => {
  const { dev } = make(0x700);
  dev.pio.write(0x700, 1, 3 << 2);
  const json = JSON.parse(JSON.stringify(dev.save()));
  const back = createAcpiPm({ base: 0x700 }, { machine: new RecordingMachineControl() }, json);
  assert.deepEqual(back.save(), dev.save());
  assert.equal(back.pio.read(0x700, 1), 3 << 2);
  assert.throws(() => createAcpiPm({}, { machine: new RecordingMachineControl() }, { version: 2 }), RestoreError);
});

test('registers tell the FADT and \\_S5_ what this device expects', () => {
  const { dev } = make();
  assert.equal(dev.pio.regions[0]!.base, ACPI_PM_BASE);
  assert.deepEqual(dev.registers, { sleepControlPort: 0x600, sleepStatusPort: 0x601, resetPort: 0x602, resetValue: 0x52, s5SleepType: 5 });
  const moved = make(0x680).dev;
  assert.equal(moved.registers.resetPort, 0x682);
  // Follow the FADT's registers back into the device: the reset and S5 an OS would do.
  const layout = layoutAcpiTables({ cpus: 1, devices: [], pm: moved.registers });
  const fadt = layout.tables.find((t) => t.signature === 'FACP')!;
  const v = new DataView(fadt.bytes.buffer);
  const machine = new RecordingMachineControl();
  const dev2 = createAcpiPm({ base: 0x680 }, { machine });
  dev2.pio.write(readGas(v, FADT.RESET_REG).address, 1, fadt.bytes[FADT.RESET_VALUE]!);
  const dsdt = layout.tables.at(-1)!.bytes;
  const slpTyp = dsdt[36 + 10]!; // Name(\_S5_, Package(4) { BytePrefix SLP_TYP ...
  dev2.pio.write(readGas(v, FADT.SLEEP_CONTROL_REG).address, 1, (slpTyp << 2) | SLP_EN);
  assert.deepEqual(machine.requests, [
    { kind: 'reset', source: 'acpi' },
    { kind: 'poweroff', source: 'acpi' },
  ]);
});

const skip = acpicaSkipReason();

test('ACPICA entering S5 with these tables writes what powers this device off', { skip }, () => {
  const { dev, machine } = make();
  const dir = new TableDir();
  try {
    const layout = layoutAcpiTables({ cpus: 1, devices: [], pm: dev.registers });
    const files = dir.writeTables(layout.tables.filter((t) => t.signature !== 'RSD PTR '));
    const r = dir.acpiexec(files, 'sleep 5', { traceIo: true });
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /Invoking sleep state S5 \(\\_S5_\):\s+Register values for sleep state S5: Sleep-A: 05/);
    const region = dev.pio.regions[0]!;
    const ours = tracedPortWrites(r.output).filter((w) => w.port >= region.base && w.port < region.base + region.size);
    // Clear WAK_STS, then SLP_TYP|SLP_EN; each a byte write, as the FADT's GAS says.
    assert.deepEqual(ours.slice(0, 2), [
      { port: 0x601, width: 8, value: WAK_STS },
      { port: 0x600, width: 8, value: S5 },
    ]);
    for (const w of ours) dev.pio.write(w.port, 1, w.value);
    assert.equal(machine.requests.filter((q) => q.kind === 'poweroff').length, 1);
  } finally {
    dir.close();
  }
});

test('fuzz: random accesses never throw and only ever ask for poweroff or reset', () => {
  fuzzDevice(
    () => make().dev,
    {
      after: (d) => {
        const c = (d as AcpiPm).inspect().children!;
        assert.ok(Number(c.poweroffs!.value) >= 0 && Number(c.resets!.value) >= 0);
      },
    },
  );
  const { dev, machine } = make();
  fuzzDevice(() => dev);
  assert.ok(machine.requests.every((r) => (r.kind === 'poweroff' || r.kind === 'reset') && r.source === 'acpi'));
});
