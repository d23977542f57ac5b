/**
 * DSDT contributions: the interface devices implement to add their AML,
 * and ready-made nodes for devices whose description does not depend on
 * their model (16550 COM ports, pvpanic, processors).
 */
import { type AmlNode, eisaId, string } from './aml.js';
import { device, method, name, returnValue } from './aml-ops.js';
import { io, irqNoFlags, resourceTemplate } from './aml-resources.js';

/**
 * Something that describes itself in the DSDT. The nodes `aml()` returns
 * are placed inside `Scope(\_SB)`, so a Device named "COM1" becomes
 * \_SB.COM1; use absolute names ("\\...") for anything elsewhere.
 */
export interface AcpiDevice {
  aml(): AmlNode[];
}

/** _STA value: present, enabled, shown in UI, functioning. */
export const STA_PRESENT = 0x0f;

/** Method(_STA) { Return (0x0F) }. */
export function staPresent(): AmlNode {
  return method('_STA', {}, [returnValue(STA_PRESENT)]);
}

/** Where a 16550 COM port sits. */
export interface ComPortAml {
  /** Device name in \_SB, e.g. "COM1". */
  readonly name: string;
  /** _UID: 1 for COM1, 2 for COM2, ... */
  readonly uid: number;
  /** First of its eight I/O ports, e.g. 0x3F8. */
  readonly base: number;
  /** ISA IRQ, e.g. 4. */
  readonly irq: number;
}

/**
 * A 16550-compatible COM port (PNP0501) with its eight ports and ISA IRQ
 * (edge, active high, as IRQNoFlags says).
 */
export function com16550Aml(port: ComPortAml): AmlNode {
  return device(port.name, [
    name('_HID', eisaId('PNP0501')),
    name('_UID', port.uid),
    staPresent(),
    name('_CRS', resourceTemplate([io(port.base, 8), irqNoFlags([port.irq])])),
  ]);
}

/** The standard COM1 (0x3F8, IRQ 4) and COM2 (0x2F8, IRQ 3). */
export const COM1: ComPortAml = { name: 'COM1', uid: 1, base: 0x3f8, irq: 4 };
/** See COM1. */
export const COM2: ComPortAml = { name: 'COM2', uid: 2, base: 0x2f8, irq: 3 };

/** The pvpanic port QEMU and Linux agree on. */
export const PVPANIC_PORT = 0x505;

/**
 * QEMU's pvpanic device (QEMU0001): one I/O port the guest writes when it
 * panics; Linux's pvpanic driver finds the port through _CRS.
 */
export function pvpanicAml(port = PVPANIC_PORT): AmlNode {
  return device('PEVT', [
    name('_HID', string('QEMU0001')),
    name('_UID', 0),
    staPresent(),
    name('_CRS', resourceTemplate([io(port, 1)])),
  ]);
}

/** The DSDT name of vCPU `index`: C000, C001, ... (hex). */
export function processorName(index: number): string {
  return `C${index.toString(16).toUpperCase().padStart(3, '0')}`;
}

/**
 * Processor devices (ACPI0007, the ACPI 6 replacement of Processor()), one
 * per vCPU. _UID equals the MADT's ACPI processor UID, which is how the OS
 * pairs a device with its local APIC.
 */
export function processorsAml(cpus: number): AmlNode[] {
  const out: AmlNode[] = [];
  for (let i = 0; i < cpus; i++) {
    out.push(device(processorName(i), [name('_HID', string('ACPI0007')), name('_UID', i)]));
  }
  return out;
}

/** The CMOS RTC (PNP0B00) at ports 0x70-0x71 with ISA IRQ 8: Linux's rtc_cmos binds through PNP. */
export function rtcAml(base = 0x70, irq = 8): AmlNode {
  return device('RTC', [
    name('_HID', eisaId('PNP0B00')),
    staPresent(),
    name('_CRS', resourceTemplate([io(base, 2), irqNoFlags([irq])])),
  ]);
}

/** The i8042 keyboard port (PNP0303): data 0x60, command/status 0x64, ISA IRQ 1. */
export function i8042Aml(irq = 1): AmlNode {
  return device('KBD', [
    name('_HID', eisaId('PNP0303')),
    staPresent(),
    name('_CRS', resourceTemplate([io(0x60, 1), io(0x64, 1), irqNoFlags([irq])])),
  ]);
}
