/**
 * PCI configuration space register and bit names.
 *
 * Spec: PCI Local Bus Specification 3.0, chapter 6 ("Configuration
 * Space"), 6.2.5 (Base Addresses), 6.7 (Capabilities List) and 6.8.2
 * (MSI-X); PCI Express Base Specification 4.0, 7.2.2 (ECAM) and 7.7.2
 * (MSI-X Capability and Table Structure).
 * https://pcisig.com/specifications (the register layout is also in Linux's
 * include/uapi/linux/pci_regs.h, which is what the guest programs against).
 */

/** Bytes of a conventional PCI function's configuration space. */
export const CONFIG_SPACE_SIZE = 256;
/** Bytes of a PCI Express function's (extended) configuration space. */
export const EXT_CONFIG_SPACE_SIZE = 4096;

/** Type 0 header: vendor ID (16 bits). */
export const VENDOR_ID = 0x00;
/** Device ID (16 bits). */
export const DEVICE_ID = 0x02;
/** Command register (16 bits). */
export const COMMAND = 0x04;
/** Status register (16 bits). */
export const STATUS = 0x06;
/** Revision ID (8 bits). */
export const REVISION_ID = 0x08;
/** Class code: programming interface (8 bits), then subclass and base class. */
export const CLASS_PROG = 0x09;
/** Cache line size (8 bits). */
export const CACHE_LINE_SIZE = 0x0c;
/** Latency timer (8 bits). */
export const LATENCY_TIMER = 0x0d;
/** Header type (8 bits); bit 7 = multi-function. */
export const HEADER_TYPE = 0x0e;
/** BIST (8 bits). */
export const BIST = 0x0f;
/** Base address register 0; BARs 1-5 follow at 4-byte steps. */
export const BAR0 = 0x10;
/** Number of BARs in a type 0 header. */
export const BAR_COUNT = 6;
/** Subsystem vendor ID (16 bits). */
export const SUBSYSTEM_VENDOR_ID = 0x2c;
/** Subsystem ID (16 bits). */
export const SUBSYSTEM_ID = 0x2e;
/** Expansion ROM base address (32 bits). */
export const ROM_ADDRESS = 0x30;
/** Capabilities pointer (8 bits, low two bits reserved). */
export const CAPABILITY_LIST = 0x34;
/** Interrupt line (8 bits, scratch for software). */
export const INTERRUPT_LINE = 0x3c;
/** Interrupt pin (8 bits): 0 none, 1..4 INTA#..INTD#. */
export const INTERRUPT_PIN = 0x3d;
/** First byte after the type 0 header: capabilities live from here. */
export const HEADER_END = 0x40;

/** Command: respond to I/O space accesses. */
export const COMMAND_IO = 1 << 0;
/** Command: respond to memory space accesses. */
export const COMMAND_MEMORY = 1 << 1;
/** Command: may act as bus master (DMA, MSI writes). */
export const COMMAND_MASTER = 1 << 2;
/** Command: SERR# enable. */
export const COMMAND_SERR = 1 << 8;
/** Command: parity error response. */
export const COMMAND_PARITY = 1 << 6;
/** Command: INTx emulation disable. */
export const COMMAND_INTX_DISABLE = 1 << 10;

/** Status: INTx is asserted (read-only). */
export const STATUS_INTERRUPT = 1 << 3;
/** Status: the capabilities list at CAPABILITY_LIST is valid. */
export const STATUS_CAP_LIST = 1 << 4;
/** Status: error bits the guest clears by writing ones (RW1C). */
export const STATUS_RW1C_MASK = 0xf900;

/** Header type 0: a normal function. */
export const HEADER_TYPE_NORMAL = 0x00;

/** BAR bit 0: 1 = I/O space BAR. */
export const BAR_SPACE_IO = 0x1;
/** Memory BAR type bits 2:1: 00 = 32-bit. */
export const BAR_MEM_TYPE_32 = 0x0;
/** Memory BAR type bits 2:1: 10 = 64-bit (takes two BAR slots). */
export const BAR_MEM_TYPE_64 = 0x4;
/** Memory BAR bit 3: prefetchable. */
export const BAR_MEM_PREFETCH = 0x8;
/** Low bits of a memory BAR that are not address. */
export const BAR_MEM_FLAGS_MASK = 0xf;
/** Low bits of an I/O BAR that are not address. */
export const BAR_IO_FLAGS_MASK = 0x3;

/** Capability ID: MSI. */
export const CAP_ID_MSI = 0x05;
/** Capability ID: vendor-specific (virtio uses these). */
export const CAP_ID_VNDR = 0x09;
/** Capability ID: PCI Express. */
export const CAP_ID_EXP = 0x10;
/** Capability ID: MSI-X. */
export const CAP_ID_MSIX = 0x11;

/** MSI-X capability: Message Control (16 bits) at +2. */
export const MSIX_MSG_CTRL = 0x02;
/** MSI-X capability: Table Offset/BIR (32 bits) at +4. */
export const MSIX_TABLE = 0x04;
/** MSI-X capability: PBA Offset/BIR (32 bits) at +8. */
export const MSIX_PBA = 0x08;
/** Length of the MSI-X capability structure. */
export const MSIX_CAP_SIZE = 12;
/** Message Control: table size minus one (bits 10:0). */
export const MSIX_CTRL_QSIZE_MASK = 0x07ff;
/** Message Control: all vectors masked. */
export const MSIX_CTRL_MASKALL = 1 << 14;
/** Message Control: MSI-X enabled. */
export const MSIX_CTRL_ENABLE = 1 << 15;
/** Table Offset/BIR: BAR indicator, bits 2:0. */
export const MSIX_BIR_MASK = 0x7;
/** Bytes per MSI-X table entry. */
export const MSIX_ENTRY_SIZE = 16;
/** Table entry: message address, low 32 bits. */
export const MSIX_ENTRY_LOWER_ADDR = 0x0;
/** Table entry: message address, high 32 bits. */
export const MSIX_ENTRY_UPPER_ADDR = 0x4;
/** Table entry: message data. */
export const MSIX_ENTRY_DATA = 0x8;
/** Table entry: vector control. */
export const MSIX_ENTRY_VECTOR_CTRL = 0xc;
/** Vector control: this vector is masked. */
export const MSIX_ENTRY_CTRL_MASKBIT = 0x1;
/** Most vectors an MSI-X table may have. */
export const MSIX_MAX_VECTORS = 2048;

/** CONFIG_ADDRESS register of configuration mechanism #1 (0xCF8, 32-bit). */
export const CONFIG_ADDRESS_PORT = 0xcf8;
/** CONFIG_DATA window of configuration mechanism #1 (0xCFC-0xCFF). */
export const CONFIG_DATA_PORT = 0xcfc;
/** CONFIG_ADDRESS bit 31: enable the data window. */
export const CONFIG_ADDRESS_ENABLE = 0x8000_0000;

/** Class code of a host bridge (base class 06, subclass 00, interface 00). */
export const CLASS_BRIDGE_HOST = 0x060000;
/** Class code of a SCSI-less mass storage controller ("other", 01 80 00), virtio-blk's. */
export const CLASS_STORAGE_OTHER = 0x018000;
/** Class code of an Ethernet controller (02 00 00). */
export const CLASS_NETWORK_ETHERNET = 0x020000;

/** ECAM: the config-space offset of bus/device/function/register (PCIe 7.2.2). */
export function ecamOffset(bus: number, device: number, fn: number, reg: number): number {
  return ((bus & 0xff) << 20) | ((device & 0x1f) << 15) | ((fn & 0x7) << 12) | (reg & 0xfff);
}
