/**
 * The PCI root bridge's DSDT description: a PNP0A08 (PCI Express root,
 * compatible with PNP0A03) device with _SEG/_BBN/_UID and a _CRS listing
 * what it decodes: bus numbers 0-255, the configuration ports
 * 0xCF8-0xCFF, and the windows handed to devices (I/O, 32-bit MMIO,
 * 64-bit MMIO above RAM). A PNP0C02 motherboard device reserves the ECAM
 * window, which Linux accepts as proof that MCFG's region is real (the
 * e820 map reserves it too).
 *
 * DEVNOTE: there is no _PRT (interrupt routing table). Without one Linux
 * cannot route INTx for devices on the bus, so drivers that can use
 * MSI-X do (virtio-pci tries MSI-X first); tsvmm's PCI devices set their
 * interrupt pin to 0 and offer MSI-X only. There is no _OSC either: the
 * OS gets no native control of PCIe hot-plug/AER/PME, which the machine
 * does not have.
 *
 * Spec: PCI Firmware Specification 3.2, 4.1; ACPI 6.5 6.4 (resource
 * descriptors), 6.5.5 (_SEG), 6.5.6 (_BBN).
 */
import { type AmlNode, eisaId } from '../acpi/aml.js';
import { device, name } from '../acpi/aml-ops.js';
import { dwordMemory, io, memory32Fixed, qwordMemory, resourceTemplate, wordBusNumber, wordIo, type ResourceDescriptor } from '../acpi/aml-resources.js';
import { staPresent } from '../acpi/devices.js';
import type { PciWindows } from './allocator.js';
import { CONFIG_ADDRESS_PORT } from './regs.js';

/** DSDT name of the root bridge (\_SB.PCI0). */
export const PCI_ROOT_NAME = 'PCI0';
/** DSDT name of the ECAM reservation (\_SB.PCIE). */
export const ECAM_RESERVATION_NAME = 'PCIE';

/** What the root bridge node describes. */
export interface PciRootAmlOptions {
  readonly ecamBase: number;
  readonly ecamSize: number;
  readonly windows: PciWindows;
}

/** The _CRS descriptors of the root bridge. */
export function pciRootResources(o: PciRootAmlOptions): ResourceDescriptor[] {
  const w = o.windows;
  const out: ResourceDescriptor[] = [
    wordBusNumber({ min: 0, max: 0xff, producer: true }),
    io(CONFIG_ADDRESS_PORT, 8),
  ];
  if (w.io) out.push(wordIo({ min: w.io.base, max: w.io.base + w.io.size - 1, producer: true, ranges: 'entire' }));
  out.push(dwordMemory({ min: w.mmio32.base, max: w.mmio32.base + w.mmio32.size - 1, producer: true }));
  if (w.mmio64) out.push(qwordMemory({ min: w.mmio64.base, max: w.mmio64.base + w.mmio64.size - 1, producer: true }));
  return out;
}

/** \_SB.PCI0 and \_SB.PCIE (place inside \_SB). */
export function pciRootAml(o: PciRootAmlOptions): AmlNode[] {
  return [
    device(PCI_ROOT_NAME, [
      name('_HID', eisaId('PNP0A08')),
      name('_CID', eisaId('PNP0A03')),
      name('_SEG', 0),
      name('_BBN', 0),
      name('_UID', 0),
      staPresent(),
      name('_CRS', resourceTemplate(pciRootResources(o))),
    ]),
    device(ECAM_RESERVATION_NAME, [
      name('_HID', eisaId('PNP0C02')),
      name('_UID', 1),
      staPresent(),
      name('_CRS', resourceTemplate([memory32Fixed(o.ecamBase, o.ecamSize)])),
    ]),
  ];
}
