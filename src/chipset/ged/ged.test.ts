import assert from 'node:assert/strict';
import test from 'node:test';
import { TableDir, acpicaSkipReason, problemLines } from '../../acpi/acpica-tools.js';
import { encodeAll } from '../../acpi/aml.js';
import { interrupt } from '../../acpi/aml-resources.js';
import { COM1, COM2, com16550Aml } from '../../acpi/devices.js';
import { DEFAULT_ISA_OVERRIDES } from '../../acpi/madt.js';
import { layoutAcpiTables } from '../../acpi/tables.js';
import { RestoreError } from '../../bus/device.js';
import { fuzzDevice } from '../../bus/device-fuzz.js';
import { GsiLine, type IrqSink } from '../../bus/irq.js';
import { RecordingMachineControl } from '../../bus/machine.js';
import { createAcpiPm } from '../acpi-pm/acpi-pm.js';
import { type Ged, createGed } from './ged.js';
import { EVENT_POWER_BUTTON, GED_BASE, GED_GSI } from './regs.js';

/** Records every level change the device drives. */
class Sink implements IrqSink {
  readonly changes: [number, boolean][] = [];
  setIrq(gsi: number, level: boolean): void {
    this.changes.push([gsi, level]);
  }
}

function make(saved?: Parameters<typeof createGed>[2]): { ged: Ged; line: GsiLine; sink: Sink } {
  const sink = new Sink();
  const line = new GsiLine(GED_GSI, sink);
  return { ged: createGed({}, { irq: line }, saved), line, sink };
}

test('pressing the power button sets the event bit and raises the level-triggered line', () => {
  const { ged, line, sink } = make();
  assert.equal(line.asserted, false);
  ged.pressPowerButton();
  assert.equal(ged.pendingEvents, EVENT_POWER_BUTTON);
  assert.equal(line.asserted, true);
  assert.deepEqual(sink.changes, [[9, true]]);
});

test("the guest's read returns the events and acknowledges them, lowering the line", () => {
  const { ged, line, sink } = make();
  ged.pressPowerButton();
  ged.pressPowerButton();
  assert.equal(ged.pio.read(GED_BASE, 4), EVENT_POWER_BUTTON);
  assert.equal(line.asserted, false);
  assert.equal(ged.pio.read(GED_BASE, 4), 0, 'a second read finds nothing');
  assert.deepEqual(sink.changes, [
    [9, true],
    [9, false],
  ]);
  const c = ged.inspect().children!;
  assert.equal(c.powerButtonPresses!.value, 2);
  assert.equal(c.acknowledged!.value, 1);
});

test('a read acknowledges only the bytes it covers; writes and bytes past the register are counted', () => {
  const { ged, line } = make();
  ged.pressPowerButton();
  assert.equal(ged.pio.read(GED_BASE + 1, 1), 0);
  assert.equal(line.asserted, true, 'bit 0 lives in byte 0');
  assert.equal(ged.pio.read(GED_BASE + 2, 4), 0xffff0000);
  ged.pio.write(GED_BASE, 4, 0xffffffff);
  assert.equal(ged.pendingEvents, EVENT_POWER_BUTTON, 'the register is read-only');
  assert.equal(ged.pio.read(GED_BASE, 1), EVENT_POWER_BUTTON);
  assert.equal(line.asserted, false);
  assert.equal(ged.inspect().children!.badAccesses!.value, 3);
});

test('reset() drops pending events and the line', () => {
  const { ged, line } = make();
  ged.pressPowerButton();
  ged.reset();
  assert.equal(line.asserted, false);
  assert.equal(ged.pio.read(GED_BASE, 4), 0);
});

test('save -> JSON -> restore keeps a pending press, and the restored device re-asserts its line', () => {
  const { ged } = make();
  ged.pressPowerButton();
  const json = JSON.parse(JSON.stringify(ged.save()));
  const back = make(json);
  assert.deepEqual(back.ged.save(), ged.save());
  assert.equal(back.line.asserted, true);
  assert.equal(back.ged.pio.read(GED_BASE, 4), EVENT_POWER_BUTTON);
  assert.equal(make(JSON.parse(JSON.stringify(back.ged.save()))).line.asserted, false);
  assert.throws(() => make({ version: 9 }), RestoreError);
});

test('AML: ACPI0013 with a level, active-high Interrupt on its GSI, agreeing with the MADT override', () => {
  const { ged } = make();
  const aml = Buffer.from(encodeAll(ged.aml()));
  assert.ok(aml.includes(Buffer.from('ACPI0013\0')));
  assert.ok(aml.includes(Buffer.from(interrupt({ trigger: 'level', polarity: 'high' }, [GED_GSI]).bytes)));
  // The port the OperationRegion names: SystemIO (1), WordPrefix 0x0610, length 4.
  assert.ok(aml.includes(Buffer.from([...Buffer.from('GDST'), 0x01, 0x0b, 0x10, 0x06, 0x0a, 0x04])));
  const moved = createGed({ base: 0x620 }, { irq: new GsiLine(21, new Sink()) });
  const movedAml = Buffer.from(encodeAll(moved.aml()));
  assert.ok(movedAml.includes(Buffer.from([0x0b, 0x20, 0x06])));
  assert.ok(movedAml.includes(Buffer.from(interrupt({ trigger: 'level', polarity: 'high' }, [21]).bytes)));
  assert.deepEqual(DEFAULT_ISA_OVERRIDES.find((o) => o.irq === GED_GSI), { irq: 9, gsi: 9, trigger: 'level', polarity: 'high' });
});

const skip = acpicaSkipReason();

/** The tables of a whole machine: acpi-pm, the GED and two COM ports. */
function machineTables(ged: Ged) {
  const pm = createAcpiPm({}, { machine: new RecordingMachineControl() });
  const coms = { aml: () => [com16550Aml(COM1), com16550Aml(COM2)] };
  return layoutAcpiTables({ cpus: 2, devices: [ged, coms], pm: pm.registers, mcfg: true }).tables.filter(
    (t) => t.signature !== 'RSD PTR ',
  );
}

test('iasl disassembles the machine tables cleanly, with \\_S5_, the GED, the power button and the COM ports', { skip }, () => {
  const dir = new TableDir();
  try {
    const files = dir.writeTables(machineTables(make().ged));
    for (const f of files) {
      const r = dir.disassemble(f);
      assert.equal(r.status, 0, r.output);
      assert.deepEqual(problemLines(r.output + r.dsl), [], f);
      if (f !== 'dsdt.dat') continue;
      for (const s of ['_S5_', '"ACPI0013"', 'PNP0C0C', 'PNP0501', 'Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, )', 'Notify (\\_SB.PWRB, 0x80)']) {
        assert.ok(r.dsl.includes(s), `DSDT lacks ${s}`);
      }
    }
  } finally {
    dir.close();
  }
});

test("ACPICA runs _EVT: it reads the device's register and notifies PNP0C0C with 0x80 only for a press", { skip }, () => {
  const { ged, line } = make();
  const dir = new TableDir();
  try {
    const files = dir.writeTables(machineTables(ged));
    // Where and how wide _EVT reads, from ACPICA's own I/O trace.
    const probe = dir.acpiexec(files, 'evaluate \\_SB.GED0._EVT 9', { traceIo: true });
    assert.equal(probe.status, 0, probe.output);
    // (acpiexec exercises port 0x1234 at start-up; only the trace after the evaluation counts.)
    const evaluation = probe.output.slice(probe.output.indexOf('Evaluating \\_SB.GED0._EVT'));
    const m = /HwValidateIoRequest\s*: Address ([0-9A-F]{16}) LastAddress ([0-9A-F]{16}) Length (\d)/.exec(evaluation);
    assert.ok(m, probe.output);
    const port = Number.parseInt(m[1]!, 16);
    const width = Number(m[3]) as 1 | 2 | 4;
    assert.deepEqual([port, width], [GED_BASE, 4]);

    const runEvt = (value: number) => {
      dir.write('init.txt', `\\_SB.GED0.GEVT ${value}\n`);
      const r = dir.acpiexec(files, 'evaluate \\_SB.GED0._EVT 9', { initFile: 'init.txt' });
      assert.equal(r.status, 0, r.output);
      return r.output;
    };

    // Nothing pending: the guest reads 0 and nothing is notified.
    assert.doesNotMatch(runEvt(ged.pio.read(port, width)), /Notify/);

    ged.pressPowerButton();
    assert.equal(line.asserted, true);
    const value = ged.pio.read(port, width);
    assert.equal(line.asserted, false, "the guest's read acknowledged the press");
    assert.match(runEvt(value), /Received a Device Notify on \[PWRB\] .* Value 0x80/);
  } finally {
    dir.close();
  }
});

test('fuzz: random accesses never throw, and the line is high exactly while events are pending', () => {
  const sinks: GsiLine[] = [];
  fuzzDevice(
    () => {
      const line = new GsiLine(GED_GSI, new Sink());
      sinks.push(line);
      const ged = createGed({}, { irq: line });
      ged.pressPowerButton();
      return ged;
    },
    {
      after: (d) => {
        const line = sinks[sinks.length - 1]!;
        assert.equal(line.asserted, (d as Ged).pendingEvents !== 0);
      },
    },
  );
});
