/**
 * The tables and the encoder checked by ACPICA itself: iasl must
 * disassemble every table without complaint, the DSDT's disassembly must
 * compile back to the same AML, and acpiexec (the interpreter Linux
 * embeds) must load the tables and compute what the AML says.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { TableDir, acpicaSkipReason, problemLines } from './acpica-tools.js';
import { type AmlNode, arg, buffer, eisaId, local, ones, pkg, ref, string, toUuid } from './aml.js';
import {
  add,
  and,
  call,
  createDWordField,
  device,
  field,
  ifThen,
  lAnd,
  lEqual,
  lGreater,
  lLess,
  lNot,
  lOr,
  method,
  name,
  operationRegion,
  or,
  returnValue,
  shiftLeft,
  shiftRight,
  store,
  subtract,
  xor,
} from './aml-ops.js';
import {
  dwordMemory,
  interrupt,
  io,
  irqNoFlags,
  memory32Fixed,
  qwordMemory,
  resourceTemplate,
  wordBusNumber,
  wordIo,
} from './aml-resources.js';
import { COM1, COM2, type AcpiDevice, com16550Aml, pvpanicAml } from './devices.js';
import type { AcpiPmRegisters } from './fadt.js';
import { layoutAcpiTables } from './tables.js';

const skip = acpicaSkipReason();

const pm: AcpiPmRegisters = { sleepControlPort: 0x600, sleepStatusPort: 0x601, resetPort: 0x602, resetValue: 0x52, s5SleepType: 5 };

/** A PCI-root-shaped device that uses every part of the encoder. */
function kitchenSink(): AmlNode {
  const cdw1 = ref('CDW1');
  const cdw3 = ref('CDW3');
  const ctrl = ref('CTRL');
  return device('PCI0', [
    name('_HID', eisaId('PNP0A08')),
    name('_CID', eisaId('PNP0A03')),
    name('_SEG', 0),
    name('_UID', 0),
    name(
      '_CRS',
      resourceTemplate([
        wordBusNumber({ min: 0, max: 0xff, producer: true }),
        wordIo({ min: 0, max: 0xcf7, producer: true }),
        io(0xcf8, 8),
        wordIo({ min: 0xd00, max: 0xffff, producer: true }),
        dwordMemory({ min: 0xc000_0000, max: 0xdfff_ffff, producer: true }),
        qwordMemory({ min: 0x100_0000_0000n, max: 0x1ff_ffff_ffffn, producer: true, caching: 'prefetchable' }),
        memory32Fixed(0xfeb0_0000, 0x1000),
        interrupt({ trigger: 'level', polarity: 'low', shared: true }, [16, 17]),
        irqNoFlags([5, 7]),
      ]),
    ),
    name('SUPP', 0),
    name('CTRL', 0),
    method('_OSC', { args: 4, serialized: true }, [
      createDWordField(arg(3), 0, 'CDW1'),
      createDWordField(arg(3), 4, 'CDW2'),
      createDWordField(arg(3), 8, 'CDW3'),
      ifThen(
        lEqual(arg(0), toUuid('33DB4D5B-1FF7-401C-9657-7441C03DD766')),
        [
          store(ref('CDW2'), ref('SUPP')),
          store(cdw3, ctrl),
          and(ctrl, 0x1d, ctrl),
          ifThen(lNot(lEqual(arg(1), 1)), [or(cdw1, 0x08, cdw1)]),
          ifThen(lNot(lEqual(cdw3, ctrl)), [or(cdw1, 0x10, cdw1)]),
          store(ctrl, cdw3),
          returnValue(arg(3)),
        ],
        [or(cdw1, 4, cdw1), returnValue(arg(3))],
      ),
    ]),
    operationRegion('REGS', 'SystemMemory', 0xfeb0_0000, 0x100),
    field('REGS', { access: 'DWordAcc', lock: true }, [
      { offset: 4 },
      { name: 'CTL0', bits: 32 },
      { reserved: 8 },
      { name: 'FLG0', bits: 1 },
      { offset: 0x10 },
      { name: 'WIDE', bits: 64 },
    ]),
    method('CALC', { args: 2 }, [
      add(arg(0), arg(1), local(0)),
      shiftLeft(local(0), 2, local(1)),
      shiftRight(local(1), 1, local(2)),
      subtract(local(2), 1, local(3)),
      xor(local(3), 0xff, local(4)),
      ifThen(lOr(lGreater(local(4), 0x100), lLess(local(4), 2)), [returnValue(ones)]),
      ifThen(lAnd(arg(0), arg(1)), [returnValue(local(4))]),
      returnValue(0x12_3456_789an),
    ]),
    method('USE', {}, [returnValue(call('CALC', [1, 2]))]),
    name('PKG', pkg(['str', 0x10000, pkg([1, 2]), buffer([1, 2, 3]), string('x')])),
  ]);
}

const machine: AcpiDevice = { aml: () => [com16550Aml(COM1), com16550Aml(COM2), pvpanicAml(), kitchenSink()] };

function withTables<T>(cpus: number, body: (dir: TableDir, files: string[]) => T): T {
  const dir = new TableDir();
  try {
    const layout = layoutAcpiTables({ cpus, devices: [machine], pm, mcfg: true });
    // iasl cannot load a bare RSDP (its signature is not a NameSeg); tables.test.ts checks it.
    return body(dir, dir.writeTables(layout.tables.filter((t) => t.signature !== 'RSD PTR ')));
  } finally {
    dir.close();
  }
}

test('iasl -d disassembles every table without errors or warnings', { skip }, () => {
  const cpus = 3;
  withTables(cpus, (dir, files) => {
    const dsl = new Map<string, string>();
    for (const f of files) {
      const r = dir.disassemble(f);
      assert.equal(r.status, 0, `${f}: ${r.output}`);
      assert.deepEqual(problemLines(r.output + r.dsl), [], f);
      dsl.set(f, r.dsl);
    }
    const dsdt = dsl.get('dsdt.dat')!;
    for (const expected of [
      'Name (\\_S5, Package (0x04)',
      'Device (C002)',
      '"ACPI0007"',
      'EisaId ("PNP0501")',
      'Device (COM2)',
      'IRQNoFlags ()\n                    {3}',
      '"QEMU0001"',
      'QWordMemory (ResourceProducer',
      'Interrupt (ResourceConsumer, Level, ActiveLow, Shared, ,, )',
      'Method (_OSC, 4, Serialized)',
      'ToUUID ("33db4d5b-1ff7-401c-9657-7441c03dd766")',
      'Field (REGS, DWordAcc, Lock, Preserve)',
      'Offset (0x10)',
    ]) {
      assert.ok(dsdt.includes(expected), `DSDT disassembly lacks ${JSON.stringify(expected)}`);
    }
    const madt = dsl.get('apic.dat')!;
    assert.equal(madt.match(/\[Processor Local APIC\]/g)?.length, cpus);
    assert.equal(madt.match(/\[I\/O APIC\]/g)?.length, 1);
    assert.equal(madt.match(/\[Interrupt Source Override\]/g)?.length, 2);
    assert.match(dsl.get('facp.dat')!, /Hardware Reduced \(V5\) : 1/);
    assert.match(dsl.get('facp.dat')!, /Value to cause reset : 52/);
    assert.match(dsl.get('mcfg.dat')!, /Base Address : 00000000E0000000/);
    assert.equal(dsl.get('xsdt.dat')!.match(/ACPI Table Address/g)?.length, 3);
  });
});

test('the DSDT disassembly compiles back to the same AML (End Tag checksums aside)', { skip }, () => {
  withTables(2, (dir) => {
    const ours = new Uint8Array(dir.read('dsdt.dat'));
    const dis = dir.disassemble('dsdt.dat');
    assert.equal(dis.status, 0, dis.output);
    const back = dir.compile('dsdt.dsl', 'recompiled');
    assert.equal(back.status, 0, back.output);
    assert.match(back.output, /0 Errors, 0 Warnings/);
    assert.equal(back.aml.length, ours.length);
    // The headers differ (iasl signs as its own creator); compare the AML.
    for (let i = 36; i < ours.length; i++) {
      if (ours[i] === back.aml[i]) continue;
      // iasl leaves End Tag checksums 0 ("not computed", which the spec allows); ours are real.
      assert.equal(ours[i - 1], 0x79, `AML differs at 0x${i.toString(16)}: ours 0x${ours[i]!.toString(16)}, iasl 0x${back.aml[i]!.toString(16)}`);
      assert.equal(back.aml[i], 0);
    }
  });
});

test('acpiexec loads the tables and evaluates \\_S5_ and the encoded arithmetic', { skip }, () => {
  withTables(2, (dir, files) => {
    const r = dir.acpiexec(files, 'evaluate \\_S5_; evaluate \\_SB.PCI0.USE; evaluate \\_SB.COM1._STA');
    assert.equal(r.status, 0, r.output);
    assert.deepEqual(problemLines(r.output), []);
    assert.match(r.output, /Evaluation of \\_S5_ returned[\s\S]*?Contains 4 Elements:\s+\[Integer\] = 0000000000000005/);
    // CALC(1, 2): ((1 + 2) << 2 >> 1) - 1 = 5; 5 ^ 0xFF = 0xFA, within range, and 1 && 2 is true.
    assert.match(r.output, /Evaluation of \\_SB.PCI0.USE returned[\s\S]*?\[Integer\] = 00000000000000FA/);
    assert.match(r.output, /Evaluation of \\_SB.COM1._STA returned[\s\S]*?\[Integer\] = 000000000000000F/);
  });
});
