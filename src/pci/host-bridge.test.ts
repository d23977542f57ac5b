import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { TableDir, acpicaSkipReason, problemLines } from '../acpi/acpica-tools.js';
import { layoutAcpiTables } from '../acpi/tables.js';
import { RestoreError } from '../bus/device.js';
import { fuzzDevice } from '../bus/device-fuzz.js';
import { IoBus } from '../bus/io-bus.js';
import { silentSink } from '../bus/log.js';
import { RecordingMachineControl } from '../bus/machine.js';
import { createAcpiPm } from '../chipset/acpi-pm/acpi-pm.js';
import { BarAllocator, MMIO32_WINDOW, IO_WINDOW, mmio64Window } from './allocator.js';
import { PciFunction } from './function.js';
import { ECAM_BASE, ECAM_SIZE, type PciHostBridge, createPciHostBridge } from './host-bridge.js';
import * as R from './regs.js';

const windows = { mmio32: MMIO32_WINDOW, mmio64: mmio64Window(512 << 20), io: IO_WINDOW };

function make(saved?: Parameters<typeof createPciHostBridge>[2]) {
  const bridge = createPciHostBridge({ windows }, { log: silentSink }, saved);
  const dev = new PciFunction({ id: 'dev3' }, { vendorId: 0x1af4, deviceId: 0x1042, classCode: 0x018000 }, silentSink);
  dev.addBar({ index: 0, kind: 'mem64', size: 0x8000, read: () => 0x5a5a5a5a, write: () => {} });
  dev.finishSetup();
  const mmio = new IoBus('mmio', 2 ** 52, silentSink, false);
  const pio = new IoBus('pio', 0x10000, silentSink, false);
  mmio.register([bridge]);
  pio.register([bridge]);
  new BarAllocator(windows).assign(dev);
  dev.attach({ mmio, pio });
  bridge.plug(3, dev);
  return { bridge, dev, mmio, pio };
}

/** A type 1 config read through the ports, the way Linux's pci_conf1_read does it. */
function cf8Read(pio: IoBus, bus: number, dev: number, fn: number, reg: number, size: 1 | 2 | 4): number {
  pio.write(0xcf8, 4, (0x8000_0000 | (bus << 16) | (dev << 11) | (fn << 8) | (reg & 0xfc)) >>> 0);
  return pio.read(0xcfc + (reg & 3), size);
}

function cf8Write(pio: IoBus, bus: number, dev: number, fn: number, reg: number, size: 1 | 2 | 4, value: number): void {
  pio.write(0xcf8, 4, (0x8000_0000 | (bus << 16) | (dev << 11) | (fn << 8) | (reg & 0xfc)) >>> 0);
  pio.write(0xcfc + (reg & 3), size, value);
}

test('the host bridge is 00.0, class 06 00 00; empty slots and other buses read as all-ones', () => {
  const { pio, mmio } = make();
  assert.equal(cf8Read(pio, 0, 0, 0, 0, 4), 0x0008_1b36);
  assert.equal(cf8Read(pio, 0, 0, 0, R.REVISION_ID, 4) >>> 8, 0x060000);
  assert.equal(mmio.read(ECAM_BASE + R.CLASS_PROG + 1, 2), 0x0600);
  assert.equal(cf8Read(pio, 0, 1, 0, 0, 4), 0xffffffff);
  assert.equal(cf8Read(pio, 0, 3, 1, 0, 2), 0xffff, 'function 1 of a single-function device');
  assert.equal(mmio.read(ECAM_BASE + (1 << 20), 4), 0xffffffff, 'bus 1');
  assert.equal(cf8Read(pio, 0, 3, 0, 0, 4), 0x1042_1af4);
});

test('configuration mechanism #1: only dword accesses hit CONFIG_ADDRESS, bit 31 gates the data window', () => {
  const { pio } = make();
  // Linux's pci_check_type1(): a byte to 0xCFB must not disturb the address register.
  pio.write(0xcf8, 4, 0x8000_1800);
  pio.write(0xcfb, 1, 0x01);
  assert.equal(pio.read(0xcf8, 4), 0x8000_1800);
  pio.write(0xcf8, 4, 0x8000_0000);
  assert.equal(pio.read(0xcf8, 4), 0x8000_0000);
  pio.write(0xcf8, 4, 0x0000_1800);
  assert.equal(pio.read(0xcfc, 4), 0xffffffff, 'enable bit clear: no config cycle');
  pio.write(0xcf8, 4, 0x8000_1800 | 3);
  assert.equal(pio.read(0xcf8, 4), 0x8000_1800, 'bits 1:0 read as zero');
  assert.equal(pio.read(0xcfe, 2), 0x1042, 'byte lanes: 0xCFE is the upper half of the dword');
  assert.equal(pio.read(0xcfd, 1), 0x1a);
});

test('ECAM and CF8/CFC reach the same registers: reads agree and writes through one show through the other', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          ecam: fc.boolean(),
          write: fc.boolean(),
          dev: fc.constantFrom(0, 3, 5),
          reg: fc.integer({ min: 0, max: 255 }),
          size: fc.constantFrom<1 | 2 | 4>(1, 2, 4),
          value: fc.integer({ min: 0, max: 0xffffffff }),
        }),
        { maxLength: 60 },
      ),
      (ops) => {
        const { pio, mmio } = make();
        for (const op of ops) {
          const reg = op.reg - (op.reg % op.size);
          const ecamAddr = ECAM_BASE + (op.dev << 15) + reg;
          if (op.write) {
            if (op.ecam) mmio.write(ecamAddr, op.size, op.value);
            else cf8Write(pio, 0, op.dev, 0, reg, op.size, op.value);
          }
          assert.equal(mmio.read(ecamAddr, op.size), cf8Read(pio, 0, op.dev, 0, reg, op.size));
        }
      },
    ),
    { numRuns: 100 },
  );
});

test('ECAM reaches extended config space, which CF8 cannot address', () => {
  const { mmio, dev } = make();
  dev.config.set(0x100, 4, 0x1234_5678);
  assert.equal(mmio.read(ECAM_BASE + (3 << 15) + 0x100, 4), 0x1234_5678);
  assert.equal(mmio.read(ECAM_BASE + (3 << 15) + 0xfff, 1), 0);
});

test('the guest sizes and moves a BAR through ECAM; the bus follows', () => {
  const { mmio, dev } = make();
  const at = (reg: number) => ECAM_BASE + (3 << 15) + reg;
  const old = dev.barAddress(0);
  assert.equal(old, windows.mmio64.base, 'the allocator put the 64-bit BAR at the start of the window above RAM');
  mmio.write(at(R.COMMAND), 2, R.COMMAND_MEMORY);
  assert.equal(mmio.read(old, 4), 0x5a5a5a5a);
  mmio.write(at(R.BAR0), 4, 0xffffffff);
  mmio.write(at(R.BAR0 + 4), 4, 0xffffffff);
  assert.equal(mmio.read(at(R.BAR0), 4), 0xffff8004);
  assert.equal(mmio.read(at(R.BAR0 + 4), 4), 0xffffffff);
  mmio.write(at(R.BAR0), 4, 0xc010_0000);
  mmio.write(at(R.BAR0 + 4), 4, 0);
  assert.equal(mmio.read(0xc010_0000, 4), 0x5a5a5a5a);
  assert.equal(mmio.deviceAt(old), undefined);
});

test('reset clears CONFIG_ADDRESS; save -> JSON -> restore keeps it', () => {
  const { bridge, pio } = make();
  pio.write(0xcf8, 4, 0x8000_1804);
  bridge.fn.configWrite(R.COMMAND, 2, R.COMMAND_MEMORY);
  const json = JSON.parse(JSON.stringify(bridge.save()));
  const back = make(json);
  assert.deepEqual(back.bridge.save(), bridge.save());
  assert.equal(back.pio.read(0xcf8, 4), 0x8000_1804);
  bridge.reset();
  assert.equal(pio.read(0xcf8, 4), 0);
  assert.equal(bridge.fn.command, 0);
  assert.throws(() => make({ version: 2 }), RestoreError);
});

test('slots: plug refuses slot 0, taken slots and slots past 31', () => {
  const { bridge, dev } = make();
  assert.throws(() => bridge.plug(0, dev), RangeError);
  assert.throws(() => bridge.plug(3, dev), RangeError);
  assert.throws(() => bridge.plug(32, dev), RangeError);
  assert.equal(bridge.freeSlot(), 1);
});

test('fuzz: random port and ECAM accesses never throw', () => {
  fuzzDevice(() => make().bridge, { runs: 100 });
});

test('ECAM region is 256 MiB at 0xE000_0000', () => {
  const { bridge } = make();
  assert.deepEqual(bridge.mmio.regions, [{ name: 'ecam', base: 0xe000_0000, size: ECAM_SIZE }]);
});

const skip = acpicaSkipReason();

test('iasl: the root bridge has PNP0A08/PNP0A03, _SEG/_BBN/_UID, and _CRS windows; MCFG covers buses 0-255', { skip }, () => {
  const { bridge }: { bridge: PciHostBridge } = make();
  const pm = createAcpiPm({}, { machine: new RecordingMachineControl() });
  const tables = layoutAcpiTables({ cpus: 1, devices: [bridge], pm: pm.registers, mcfg: true }).tables.filter((t) => t.signature !== 'RSD PTR ');
  const dir = new TableDir();
  try {
    const files = dir.writeTables(tables);
    const d = dir.disassemble('dsdt.dat');
    assert.equal(d.status, 0, d.output);
    assert.deepEqual(problemLines(d.output + d.dsl), []);
    const dsl = d.dsl.replace(/\r/g, '');
    for (const re of [
      /Name \(_HID, EisaId \("PNP0A08"\)/,
      /Name \(_CID, EisaId \("PNP0A03"\)/,
      /Name \(_SEG, Zero\)/,
      /Name \(_BBN, Zero\)/,
      /WordBusNumber \(ResourceProducer, MinFixed, MaxFixed, PosDecode,\s+0x0000,\s+\/\/ Granularity\s+0x0000,\s+\/\/ Range Minimum\s+0x00FF,/,
      /IO \(Decode16,\s+0x0CF8,\s+\/\/ Range Minimum\s+0x0CF8,\s+\/\/ Range Maximum\s+0x01,\s+\/\/ Alignment\s+0x08,/,
      /DWordMemory \(ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,\s+0x00000000,\s+\/\/ Granularity\s+0xC0000000,\s+\/\/ Range Minimum\s+0xDFFFFFFF,/,
      new RegExp(`QWordMemory \\(ResourceProducer[^\\n]*\\n\\s+0x0+,\\s+// Granularity\\s+0x0*${windows.mmio64.base.toString(16).toUpperCase()},`),
      /Name \(_HID, EisaId \("PNP0C02"\)/,
      /Memory32Fixed \(ReadWrite,\s+0xE0000000,\s+\/\/ Address Base\s+0x10000000,/,
    ]) {
      assert.match(dsl, re);
    }
    const m = dir.disassemble(files.find((f) => f === 'mcfg.dat')!);
    assert.equal(m.status, 0, m.output);
    assert.match(m.dsl, /Base Address : 00000000E0000000/);
    assert.match(m.dsl, /End Bus Number : FF/);
    const x = dir.acpiexec(files, 'evaluate \\_SB.PCI0._CRS');
    assert.equal(x.status, 0, x.output);
    assert.deepEqual(problemLines(x.output).filter((l) => !/Warnings/.test(l)), []);
  } finally {
    dir.close();
  }
});
