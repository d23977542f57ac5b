import assert from 'node:assert/strict';
import test from 'node:test';
import { GuestMemory } from '../memory/guest-memory.js';
import { MiB } from '../memory/layout.js';
import { buffer, encodeAll } from './aml.js';
import { name } from './aml-ops.js';
import { COM1, type AcpiDevice, com16550Aml } from './devices.js';
import { type AcpiPmRegisters, FADT, readGas } from './fadt.js';
import { DEFAULT_ISA_OVERRIDES, IOAPIC_ADDRESS, LAPIC_ADDRESS } from './madt.js';
import { byteSum } from './sdt.js';
import { ACPI_AREA_END, ACPI_AREA_START, type AcpiTablesOptions, buildAcpiTables, layoutAcpiTables } from './tables.js';

const pm: AcpiPmRegisters = { sleepControlPort: 0x600, sleepStatusPort: 0x601, resetPort: 0x602, resetValue: 0x52, s5SleepType: 5 };
const com1: AcpiDevice = { aml: () => [com16550Aml(COM1)] };
const options = (more: Partial<AcpiTablesOptions> = {}): AcpiTablesOptions => ({ cpus: 2, devices: [com1], pm, ...more });

const ascii = (b: Uint8Array, at: number, len: number) => String.fromCharCode(...b.subarray(at, at + len));

/** Finds the RSDP the way Linux's legacy scan does: "RSD PTR " on a 16-byte boundary in 0xE0000-0xFFFFF. */
function scanForRsdp(mem: GuestMemory): number {
  for (let a = ACPI_AREA_START; a < ACPI_AREA_END; a += 16) {
    if (ascii(mem.read(a, 8), 0, 8) === 'RSD PTR ' && byteSum(mem.read(a, 20)) === 0) return a;
  }
  return -1;
}

/** Reads a whole SDT at `gpa` using its length field. */
function readTable(mem: GuestMemory, gpa: number): Uint8Array {
  return mem.read(gpa, mem.readU32(gpa + 4));
}

test('every table sums to zero and its length field is its size; the RSDP has both checksums', () => {
  for (const cpus of [1, 3, 254]) {
    const layout = layoutAcpiTables(options({ cpus, mcfg: true }));
    for (const t of layout.tables) {
      if (t.signature === 'RSD PTR ') {
        assert.equal(t.bytes.length, 36);
        assert.equal(byteSum(t.bytes, 0, 20), 0, 'RSDP checksum over the first 20 bytes');
        assert.equal(byteSum(t.bytes), 0, 'RSDP extended checksum over 36 bytes');
        // Both checksums really are computed (not zero by luck of the contents).
        assert.notEqual(t.bytes[8], 0);
        continue;
      }
      assert.equal(ascii(t.bytes, 0, 4), t.signature);
      assert.equal(new DataView(t.bytes.buffer).getUint32(4, true), t.bytes.length, t.signature);
      assert.equal(byteSum(t.bytes), 0, `${t.signature} checksum`);
      assert.equal(ascii(t.bytes, 10, 6), 'TSVMM ');
    }
  }
});

test('RSDP v2: no RSDT, a 36-byte length, and the XSDT address', () => {
  const layout = layoutAcpiTables(options());
  const r = layout.tables[0]!;
  const v = new DataView(r.bytes.buffer);
  assert.equal(ascii(r.bytes, 0, 8), 'RSD PTR ');
  assert.equal(ascii(r.bytes, 9, 6), 'TSVMM ');
  assert.equal(r.bytes[15], 2);
  assert.equal(v.getUint32(16, true), 0);
  assert.equal(v.getUint32(20, true), 36);
  assert.equal(Number(v.getBigUint64(24, true)), layout.tables[1]!.gpa);
  assert.equal(layout.rsdp, ACPI_AREA_START);
  assert.equal(layout.rsdp % 16, 0);
});

test('in guest memory: found by a legacy scan, XSDT -> FADT/MADT/MCFG, FADT -> DSDT, all inside the area, no overlaps', () => {
  for (const mcfg of [true, false]) {
    const mem = GuestMemory.create(16 * MiB, { backing: 'shared' });
    try {
      const rsdp = buildAcpiTables(mem, options({ mcfg }));
      assert.equal(scanForRsdp(mem), rsdp);
      const xsdtAt = Number(mem.readU64(rsdp + 24));
      const xsdt = readTable(mem, xsdtAt);
      assert.equal(ascii(xsdt, 0, 4), 'XSDT');
      const entries = (xsdt.length - 36) / 8;
      const pointed = new Map<string, number>();
      for (let i = 0; i < entries; i++) {
        const at = Number(mem.readU64(xsdtAt + 36 + 8 * i));
        pointed.set(ascii(readTable(mem, at), 0, 4), at);
      }
      assert.deepEqual([...pointed.keys()], mcfg ? ['FACP', 'APIC', 'MCFG'] : ['FACP', 'APIC']);
      const fadtAt = pointed.get('FACP')!;
      const dsdtAt = Number(mem.readU64(fadtAt + FADT.X_DSDT));
      assert.equal(mem.readU32(fadtAt + 40), 0, '32-bit DSDT field left 0; X_DSDT rules');
      const dsdt = readTable(mem, dsdtAt);
      assert.equal(ascii(dsdt, 0, 4), 'DSDT');
      assert.equal(byteSum(dsdt), 0);

      const spans = [
        [rsdp, 36],
        [xsdtAt, xsdt.length],
        ...[...pointed.values()].map((a) => [a, mem.readU32(a + 4)]),
        [dsdtAt, dsdt.length],
      ].sort((a, b) => a[0]! - b[0]!);
      for (const [i, [at, len]] of spans.entries()) {
        assert.ok(at! >= ACPI_AREA_START && at! + len! <= ACPI_AREA_END, `0x${at!.toString(16)} inside the area`);
        const next = spans[i + 1];
        if (next) assert.ok(at! + len! <= next[0]!, `0x${at!.toString(16)} overlaps 0x${next[0]!.toString(16)}`);
      }
    } finally {
      mem.close();
    }
  }
});

test('building zeroes the gaps between tables and leaves the rest of the BIOS area alone', () => {
  const mem = GuestMemory.create(16 * MiB, { backing: 'shared' });
  try {
    mem.fill(ACPI_AREA_START, ACPI_AREA_END - ACPI_AREA_START, 0xaa);
    buildAcpiTables(mem, options());
    const layout = layoutAcpiTables(options());
    for (const [i, t] of layout.tables.entries()) {
      const gapEnd = layout.tables[i + 1]?.gpa ?? layout.end;
      assert.ok(mem.read(t.gpa + t.bytes.length, gapEnd - t.gpa - t.bytes.length).every((x) => x === 0));
      assert.deepEqual(mem.read(t.gpa, t.bytes.length), t.bytes);
    }
    assert.equal(mem.readU8(layout.end), 0xaa);
    assert.equal(mem.readU8(ACPI_AREA_END - 1), 0xaa);
  } finally {
    mem.close();
  }
});

test('FADT: hardware-reduced, reset register, sleep registers, X_DSDT, hypervisor vendor', () => {
  const layout = layoutAcpiTables(options());
  const f = layout.tables.find((t) => t.signature === 'FACP')!;
  const v = new DataView(f.bytes.buffer);
  assert.equal(f.bytes.length, 276);
  assert.equal(f.bytes[8], 6);
  assert.equal(f.bytes[FADT.MINOR_VERSION], 3);
  const flags = v.getUint32(FADT.FLAGS, true);
  assert.ok(flags & FADT.FLAG_HW_REDUCED_ACPI);
  assert.ok(flags & FADT.FLAG_RESET_REG_SUP);
  assert.ok(flags & FADT.FLAG_PWR_BUTTON, 'power button is a control-method device');
  assert.deepEqual(readGas(v, FADT.RESET_REG), { space: 'io', address: 0x602, bitWidth: 8, bitOffset: 0, accessSize: 1 });
  assert.equal(f.bytes[FADT.RESET_VALUE], 0x52);
  assert.deepEqual(readGas(v, FADT.SLEEP_CONTROL_REG), { space: 'io', address: 0x600, bitWidth: 8, bitOffset: 0, accessSize: 1 });
  assert.deepEqual(readGas(v, FADT.SLEEP_STATUS_REG), { space: 'io', address: 0x601, bitWidth: 8, bitOffset: 0, accessSize: 1 });
  assert.equal(Number(v.getBigUint64(FADT.X_DSDT, true)), layout.tables.at(-1)!.gpa);
  assert.equal(ascii(f.bytes, FADT.HYPERVISOR_VENDOR, 8), 'TSVMM   ');
  // No SCI, no SMI port, no PM1 blocks, no FACS.
  for (const off of [36, 46, 48, 56, 64, 132]) assert.equal(v.getUint32(off, true), 0, `offset ${off}`);
});

test('FADT boot architecture flags follow the legacy devices the machine has', () => {
  const boot = (o: Partial<AcpiTablesOptions>) => {
    const f = layoutAcpiTables(options(o)).tables.find((t) => t.signature === 'FACP')!;
    return new DataView(f.bytes.buffer).getUint16(FADT.IAPC_BOOT_ARCH, true);
  };
  assert.equal(boot({}), FADT.BOOT_VGA_NOT_PRESENT | FADT.BOOT_CMOS_RTC_NOT_PRESENT);
  assert.equal(boot({ boot: { i8042: true, cmosRtc: true, vga: true } }), FADT.BOOT_8042);
  const century = (b: AcpiTablesOptions['boot']) =>
    layoutAcpiTables(options({ boot: b })).tables.find((t) => t.signature === 'FACP')!.bytes[FADT.CENTURY];
  assert.equal(century({ cmosRtc: true, century: 0x32 }), 0x32);
  assert.equal(century({ century: 0x32 }), 0, 'no RTC, no century register');
});

test('MADT: LAPIC address, PCAT_COMPAT clear, one enabled LAPIC per vCPU, the IOAPIC after them, the ISA overrides', () => {
  const cpus = 5;
  const m = layoutAcpiTables(options({ cpus })).tables.find((t) => t.signature === 'APIC')!;
  const v = new DataView(m.bytes.buffer);
  assert.equal(v.getUint32(36, true), LAPIC_ADDRESS);
  assert.equal(v.getUint32(40, true), 0);
  const entries: number[][] = [];
  for (let at = 44; at < m.bytes.length; at += m.bytes[at + 1]!) entries.push([...m.bytes.subarray(at, at + m.bytes[at + 1]!)]);
  const lapics = entries.filter((e) => e[0] === 0);
  assert.deepEqual(
    lapics,
    Array.from({ length: cpus }, (_, i) => [0, 8, i, i, 1, 0, 0, 0]),
  );
  const ioapics = entries.filter((e) => e[0] === 1);
  assert.deepEqual(ioapics, [[1, 12, cpus, 0, 0x00, 0x00, 0xc0, 0xfe, 0, 0, 0, 0]]);
  assert.equal(IOAPIC_ADDRESS, 0xfec00000);
  const isos = entries.filter((e) => e[0] === 2);
  assert.deepEqual(isos, [
    [2, 10, 0, 0, 2, 0, 0, 0, 0x00, 0x00],
    [2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0x00],
  ]);
  assert.equal(entries.length, cpus + 1 + DEFAULT_ISA_OVERRIDES.length);
  assert.throws(() => layoutAcpiTables(options({ cpus: 0 })), RangeError);
  assert.throws(() => layoutAcpiTables(options({ cpus: 255 })), RangeError);
  const custom = layoutAcpiTables(options({ isaOverrides: [] })).tables.find((t) => t.signature === 'APIC')!;
  assert.equal(custom.bytes.length, 36 + 8 + 2 * 8 + 12);
});

test('MCFG: ECAM at 0xE0000000, segment 0, buses 0-255, or the window given', () => {
  const find = (mcfg: AcpiTablesOptions['mcfg']) => layoutAcpiTables(options({ mcfg })).tables.find((t) => t.signature === 'MCFG');
  const m = find(true)!;
  const v = new DataView(m.bytes.buffer);
  assert.equal(m.bytes.length, 60);
  assert.equal(v.getBigUint64(44, true), 0xe0000000n);
  assert.deepEqual([v.getUint16(52, true), m.bytes[54], m.bytes[55]], [0, 0, 255]);
  const custom = find({ base: 0xb0000000, segment: 1, startBus: 0, endBus: 15 })!;
  assert.equal(new DataView(custom.bytes.buffer).getBigUint64(44, true), 0xb0000000n);
  assert.equal(find(false), undefined);
  assert.equal(find(undefined), undefined);
});

test('DSDT: \\_S5_ carries the SLP_TYP the PM registers expect, then \\_SB holds processors and contributions', () => {
  const dsdt = layoutAcpiTables(options({ pm: { ...pm, s5SleepType: 6 } })).tables.at(-1)!.bytes;
  const s5 = [0x08, 0x5c, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x07, 0x04, 0x0a, 0x06, 0x00, 0x00, 0x00];
  assert.deepEqual([...dsdt.subarray(36, 36 + s5.length)], s5);
  const body = Buffer.from(dsdt.subarray(36));
  assert.ok(body.includes(Buffer.from('C000')) && body.includes(Buffer.from('C001')) && !body.includes(Buffer.from('C002')));
  assert.ok(body.includes(Buffer.from(encodeAll([com16550Aml(COM1)]))));
  const noCpus = layoutAcpiTables(options({ processorDevices: false })).tables.at(-1)!.bytes;
  assert.ok(!Buffer.from(noCpus).includes(Buffer.from('ACPI0007')));
});

test('tables that do not fit in the BIOS area are a configuration error', () => {
  const huge: AcpiDevice = { aml: () => [name('BLOB', buffer(new Uint8Array(0x20000)))] };
  assert.throws(() => layoutAcpiTables(options({ devices: [huge] })), /past the end/);
  assert.throws(() => layoutAcpiTables(options({ base: 0xe0008 })), /aligned/);
});
