/**
 * KVM ioctl request numbers, encoded as <linux/kvm.h> encodes them.
 *
 * Pure numbers, no koffi: any layer may import this. Struct sizes that go
 * into the encoding live in KVM_STRUCT_SIZES so the ABI test can hold each
 * one against both the C compiler and the koffi binding.
 */
import { registerIoctlNames } from '../errors.js';

const IOC_NRSHIFT = 0;
const IOC_TYPESHIFT = 8;
const IOC_SIZESHIFT = 16;
const IOC_DIRSHIFT = 30;
const IOC_SIZEMASK = (1 << 14) - 1;

/** _IOC direction: no data. */
export const IOC_NONE = 0;
/** _IOC direction: userspace writes, the kernel reads. */
export const IOC_WRITE = 1;
/** _IOC direction: the kernel writes, userspace reads. */
export const IOC_READ = 2;

/** Linux's _IOC(dir, type, nr, size), as an unsigned 32-bit number. */
export function IOC(dir: number, type: number, nr: number, size: number): number {
  if (size < 0 || size > IOC_SIZEMASK) throw new RangeError(`ioctl size ${size} does not fit _IOC`);
  return ((dir << IOC_DIRSHIFT) | (type << IOC_TYPESHIFT) | (nr << IOC_NRSHIFT) | (size << IOC_SIZESHIFT)) >>> 0;
}
/** _IO(type, nr): no argument data. */
export function IO(type: number, nr: number): number {
  return IOC(IOC_NONE, type, nr, 0);
}
/** _IOR(type, nr, size): the kernel fills `size` bytes. */
export function IOR(type: number, nr: number, size: number): number {
  return IOC(IOC_READ, type, nr, size);
}
/** _IOW(type, nr, size): the kernel reads `size` bytes. */
export function IOW(type: number, nr: number, size: number): number {
  return IOC(IOC_WRITE, type, nr, size);
}
/** _IOWR(type, nr, size): both ways. */
export function IOWR(type: number, nr: number, size: number): number {
  return IOC(IOC_READ | IOC_WRITE, type, nr, size);
}

/** sizeof() of every struct (and scalar) an ioctl number below encodes, x86-64. */
export const KVM_STRUCT_SIZES = {
  __u64: 8,
  kvm_msr_list: 4,
  kvm_cpuid2: 8,
  kvm_dirty_log: 16,
  kvm_clear_dirty_log: 24,
  kvm_userspace_memory_region: 32,
  kvm_irq_level: 8,
  kvm_irqchip: 520,
  kvm_coalesced_mmio_zone: 16,
  kvm_irq_routing: 8,
  kvm_irqfd: 32,
  kvm_pit_config: 64,
  kvm_ioeventfd: 64,
  kvm_clock_data: 48,
  kvm_pit_state2: 112,
  kvm_msi: 32,
  kvm_enable_cap: 104,
  kvm_create_device: 12,
  kvm_device_attr: 24,
  kvm_regs: 144,
  kvm_sregs: 312,
  kvm_sregs2: 320,
  kvm_translation: 24,
  kvm_interrupt: 4,
  kvm_msrs: 8,
  kvm_signal_mask: 4,
  kvm_fpu: 416,
  kvm_lapic_state: 1024,
  kvm_mp_state: 4,
  kvm_guest_debug: 72,
  kvm_vcpu_events: 64,
  kvm_debugregs: 128,
  kvm_xsave: 4096,
  kvm_xcrs: 392,
} as const;

const S = KVM_STRUCT_SIZES;

/** The ioctl type byte of every KVM request. */
export const KVMIO = 0xae;

// System ioctls (on the /dev/kvm fd).
/** Returns KVM_API_VERSION (12). */
export const KVM_GET_API_VERSION = IO(KVMIO, 0x00);
/** Creates a VM; returns its fd. Argument: machine type (0). */
export const KVM_CREATE_VM = IO(KVMIO, 0x01);
/** Lists the MSRs KVM saves/restores (struct kvm_msr_list). */
export const KVM_GET_MSR_INDEX_LIST = IOWR(KVMIO, 0x02, S.kvm_msr_list);
/** Returns >0 when the KVM_CAP_* argument is supported (also on a VM fd). */
export const KVM_CHECK_EXTENSION = IO(KVMIO, 0x03);
/** Returns the size of a vCPU's kvm_run mapping. */
export const KVM_GET_VCPU_MMAP_SIZE = IO(KVMIO, 0x04);
/** Fills a kvm_cpuid2 with the CPUID the host can offer a guest. */
export const KVM_GET_SUPPORTED_CPUID = IOWR(KVMIO, 0x05, S.kvm_cpuid2);
/** Fills a kvm_cpuid2 with the CPUID KVM can emulate. */
export const KVM_GET_EMULATED_CPUID = IOWR(KVMIO, 0x09, S.kvm_cpuid2);
/** Lists MSRs describing host features (struct kvm_msr_list). */
export const KVM_GET_MSR_FEATURE_INDEX_LIST = IOWR(KVMIO, 0x0a, S.kvm_msr_list);

// VM ioctls.
/** Creates a vCPU (argument: its id); returns its fd. */
export const KVM_CREATE_VCPU = IO(KVMIO, 0x41);
/** Reads and clears a slot's dirty bitmap (struct kvm_dirty_log). */
export const KVM_GET_DIRTY_LOG = IOW(KVMIO, 0x42, S.kvm_dirty_log);
/** Adds, moves or deletes a memory slot (struct kvm_userspace_memory_region). */
export const KVM_SET_USER_MEMORY_REGION = IOW(KVMIO, 0x46, S.kvm_userspace_memory_region);
/** Places the 3-page TSS region VMX needs (argument: guest address). */
export const KVM_SET_TSS_ADDR = IO(KVMIO, 0x47);
/** Places the identity-map page VMX needs (pointer to a __u64 address). */
export const KVM_SET_IDENTITY_MAP_ADDR = IOW(KVMIO, 0x48, S.__u64);
/** Creates the in-kernel PIC, IOAPIC and LAPICs. */
export const KVM_CREATE_IRQCHIP = IO(KVMIO, 0x60);
/** Sets a GSI's level (struct kvm_irq_level). */
export const KVM_IRQ_LINE = IOW(KVMIO, 0x61, S.kvm_irq_level);
/** Reads PIC/IOAPIC state (struct kvm_irqchip). */
export const KVM_GET_IRQCHIP = IOWR(KVMIO, 0x62, S.kvm_irqchip);
/** Writes PIC/IOAPIC state (struct kvm_irqchip; the header's _IOR is historical). */
export const KVM_SET_IRQCHIP = IOR(KVMIO, 0x63, S.kvm_irqchip);
/** KVM_IRQ_LINE that also reports delivery status. */
export const KVM_IRQ_LINE_STATUS = IOWR(KVMIO, 0x67, S.kvm_irq_level);
/** Batches writes to an MMIO/PIO range in a ring (struct kvm_coalesced_mmio_zone). */
export const KVM_REGISTER_COALESCED_MMIO = IOW(KVMIO, 0x67, S.kvm_coalesced_mmio_zone);
/** Removes a coalesced MMIO/PIO range. */
export const KVM_UNREGISTER_COALESCED_MMIO = IOW(KVMIO, 0x68, S.kvm_coalesced_mmio_zone);
/** Replaces the whole GSI routing table (struct kvm_irq_routing). */
export const KVM_SET_GSI_ROUTING = IOW(KVMIO, 0x6a, S.kvm_irq_routing);
/** Sets PIT interrupt reinjection (struct kvm_reinject_control). */
export const KVM_REINJECT_CONTROL = IO(KVMIO, 0x71);
/** Binds an eventfd to a GSI (struct kvm_irqfd). */
export const KVM_IRQFD = IOW(KVMIO, 0x76, S.kvm_irqfd);
/** Creates the in-kernel PIT (struct kvm_pit_config). */
export const KVM_CREATE_PIT2 = IOW(KVMIO, 0x77, S.kvm_pit_config);
/** Chooses the BSP (argument: vCPU id); before creating vCPUs. */
export const KVM_SET_BOOT_CPU_ID = IO(KVMIO, 0x78);
/** Binds an eventfd to guest writes of an address (struct kvm_ioeventfd). */
export const KVM_IOEVENTFD = IOW(KVMIO, 0x79, S.kvm_ioeventfd);
/** Sets kvmclock (struct kvm_clock_data). */
export const KVM_SET_CLOCK = IOW(KVMIO, 0x7b, S.kvm_clock_data);
/** Reads kvmclock (struct kvm_clock_data). */
export const KVM_GET_CLOCK = IOR(KVMIO, 0x7c, S.kvm_clock_data);
/** Reads PIT state (struct kvm_pit_state2). */
export const KVM_GET_PIT2 = IOR(KVMIO, 0x9f, S.kvm_pit_state2);
/** Writes PIT state (struct kvm_pit_state2). */
export const KVM_SET_PIT2 = IOW(KVMIO, 0xa0, S.kvm_pit_state2);
/** Sets the guest TSC frequency in kHz (argument). */
export const KVM_SET_TSC_KHZ = IO(KVMIO, 0xa2);
/** Returns the guest TSC frequency in kHz. */
export const KVM_GET_TSC_KHZ = IO(KVMIO, 0xa3);
/** Injects one MSI (struct kvm_msi). */
export const KVM_SIGNAL_MSI = IOW(KVMIO, 0xa5, S.kvm_msi);
/** Clears part of a slot's dirty bitmap (struct kvm_clear_dirty_log). */
export const KVM_CLEAR_DIRTY_LOG = IOWR(KVMIO, 0xc0, S.kvm_clear_dirty_log);
/** Creates a device (struct kvm_create_device). */
export const KVM_CREATE_DEVICE = IOWR(KVMIO, 0xe0, S.kvm_create_device);
/** Sets a device attribute (struct kvm_device_attr). */
export const KVM_SET_DEVICE_ATTR = IOW(KVMIO, 0xe1, S.kvm_device_attr);
/** Gets a device attribute (struct kvm_device_attr). */
export const KVM_GET_DEVICE_ATTR = IOW(KVMIO, 0xe2, S.kvm_device_attr);
/** Tests for a device attribute (struct kvm_device_attr). */
export const KVM_HAS_DEVICE_ATTR = IOW(KVMIO, 0xe3, S.kvm_device_attr);
/** Returns an fd of binary statistics (VM or vCPU). */
export const KVM_GET_STATS_FD = IO(KVMIO, 0xce);
/** Enables a capability (struct kvm_enable_cap); VM or vCPU fd. */
export const KVM_ENABLE_CAP = IOW(KVMIO, 0xa3, S.kvm_enable_cap);

// vCPU ioctls.
/** Runs the vCPU until an exit described in its kvm_run mapping. */
export const KVM_RUN = IO(KVMIO, 0x80);
/** Reads general registers (struct kvm_regs). */
export const KVM_GET_REGS = IOR(KVMIO, 0x81, S.kvm_regs);
/** Writes general registers (struct kvm_regs). */
export const KVM_SET_REGS = IOW(KVMIO, 0x82, S.kvm_regs);
/** Reads special registers (struct kvm_sregs). */
export const KVM_GET_SREGS = IOR(KVMIO, 0x83, S.kvm_sregs);
/** Writes special registers (struct kvm_sregs). */
export const KVM_SET_SREGS = IOW(KVMIO, 0x84, S.kvm_sregs);
/** Translates a guest linear address (struct kvm_translation). */
export const KVM_TRANSLATE = IOWR(KVMIO, 0x85, S.kvm_translation);
/** Queues an external interrupt without an in-kernel irqchip (struct kvm_interrupt). */
export const KVM_INTERRUPT = IOW(KVMIO, 0x86, S.kvm_interrupt);
/** Reads MSRs (struct kvm_msrs); returns how many were read. */
export const KVM_GET_MSRS = IOWR(KVMIO, 0x88, S.kvm_msrs);
/** Writes MSRs (struct kvm_msrs); returns how many were written. */
export const KVM_SET_MSRS = IOW(KVMIO, 0x89, S.kvm_msrs);
/** Sets the signals blocked while in KVM_RUN (struct kvm_signal_mask). */
export const KVM_SET_SIGNAL_MASK = IOW(KVMIO, 0x8b, S.kvm_signal_mask);
/** Reads FPU/SSE state (struct kvm_fpu). */
export const KVM_GET_FPU = IOR(KVMIO, 0x8c, S.kvm_fpu);
/** Writes FPU/SSE state (struct kvm_fpu). */
export const KVM_SET_FPU = IOW(KVMIO, 0x8d, S.kvm_fpu);
/** Reads the LAPIC registers page (struct kvm_lapic_state). */
export const KVM_GET_LAPIC = IOR(KVMIO, 0x8e, S.kvm_lapic_state);
/** Writes the LAPIC registers page (struct kvm_lapic_state). */
export const KVM_SET_LAPIC = IOW(KVMIO, 0x8f, S.kvm_lapic_state);
/** Sets the guest's CPUID (struct kvm_cpuid2). */
export const KVM_SET_CPUID2 = IOW(KVMIO, 0x90, S.kvm_cpuid2);
/** Reads the guest's CPUID (struct kvm_cpuid2). */
export const KVM_GET_CPUID2 = IOWR(KVMIO, 0x91, S.kvm_cpuid2);
/** Reads the multiprocessing state (struct kvm_mp_state). */
export const KVM_GET_MP_STATE = IOR(KVMIO, 0x98, S.kvm_mp_state);
/** Writes the multiprocessing state (struct kvm_mp_state). */
export const KVM_SET_MP_STATE = IOW(KVMIO, 0x99, S.kvm_mp_state);
/** Injects an NMI. */
export const KVM_NMI = IO(KVMIO, 0x9a);
/** Configures single-step and breakpoints (struct kvm_guest_debug). */
export const KVM_SET_GUEST_DEBUG = IOW(KVMIO, 0x9b, S.kvm_guest_debug);
/** Reads pending exceptions/interrupts/NMI/SMI (struct kvm_vcpu_events). */
export const KVM_GET_VCPU_EVENTS = IOR(KVMIO, 0x9f, S.kvm_vcpu_events);
/** Writes pending events (struct kvm_vcpu_events). */
export const KVM_SET_VCPU_EVENTS = IOW(KVMIO, 0xa0, S.kvm_vcpu_events);
/** Reads debug registers (struct kvm_debugregs). */
export const KVM_GET_DEBUGREGS = IOR(KVMIO, 0xa1, S.kvm_debugregs);
/** Writes debug registers (struct kvm_debugregs). */
export const KVM_SET_DEBUGREGS = IOW(KVMIO, 0xa2, S.kvm_debugregs);
/** Reads the XSAVE area, first 4 KiB (struct kvm_xsave). */
export const KVM_GET_XSAVE = IOR(KVMIO, 0xa4, S.kvm_xsave);
/** Writes the XSAVE area (struct kvm_xsave). */
export const KVM_SET_XSAVE = IOW(KVMIO, 0xa5, S.kvm_xsave);
/** Reads extended control registers (struct kvm_xcrs). */
export const KVM_GET_XCRS = IOR(KVMIO, 0xa6, S.kvm_xcrs);
/** Writes extended control registers (struct kvm_xcrs). */
export const KVM_SET_XCRS = IOW(KVMIO, 0xa7, S.kvm_xcrs);
/** Tells kvmclock the guest was paused by the host. */
export const KVM_KVMCLOCK_CTRL = IO(KVMIO, 0xad);
/** Injects an SMI. */
export const KVM_SMI = IO(KVMIO, 0xb7);
/** Reads special registers with PDPTRs (struct kvm_sregs2). */
export const KVM_GET_SREGS2 = IOR(KVMIO, 0xcc, S.kvm_sregs2);
/** Writes special registers with PDPTRs (struct kvm_sregs2). */
export const KVM_SET_SREGS2 = IOW(KVMIO, 0xcd, S.kvm_sregs2);
/** Reads the whole XSAVE area, KVM_CAP_XSAVE2 bytes (struct kvm_xsave). */
export const KVM_GET_XSAVE2 = IOR(KVMIO, 0xcf, S.kvm_xsave);

/** Every request above by name (for messages and for the ABI test). */
export const KVM_IOCTLS: Readonly<Record<string, number>> = {
  KVM_GET_API_VERSION, KVM_CREATE_VM, KVM_GET_MSR_INDEX_LIST, KVM_CHECK_EXTENSION,
  KVM_GET_VCPU_MMAP_SIZE, KVM_GET_SUPPORTED_CPUID, KVM_GET_EMULATED_CPUID,
  KVM_GET_MSR_FEATURE_INDEX_LIST,
  KVM_CREATE_VCPU, KVM_GET_DIRTY_LOG, KVM_SET_USER_MEMORY_REGION, KVM_SET_TSS_ADDR,
  KVM_SET_IDENTITY_MAP_ADDR, KVM_CREATE_IRQCHIP, KVM_IRQ_LINE, KVM_GET_IRQCHIP,
  KVM_SET_IRQCHIP, KVM_IRQ_LINE_STATUS, KVM_REGISTER_COALESCED_MMIO,
  KVM_UNREGISTER_COALESCED_MMIO, KVM_SET_GSI_ROUTING, KVM_REINJECT_CONTROL, KVM_IRQFD,
  KVM_CREATE_PIT2, KVM_SET_BOOT_CPU_ID, KVM_IOEVENTFD, KVM_SET_CLOCK, KVM_GET_CLOCK,
  KVM_GET_PIT2, KVM_SET_PIT2, KVM_SET_TSC_KHZ, KVM_GET_TSC_KHZ, KVM_SIGNAL_MSI,
  KVM_CLEAR_DIRTY_LOG, KVM_CREATE_DEVICE, KVM_SET_DEVICE_ATTR, KVM_GET_DEVICE_ATTR,
  KVM_HAS_DEVICE_ATTR, KVM_GET_STATS_FD, KVM_ENABLE_CAP,
  KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_TRANSLATE,
  KVM_INTERRUPT, KVM_GET_MSRS, KVM_SET_MSRS, KVM_SET_SIGNAL_MASK, KVM_GET_FPU, KVM_SET_FPU,
  KVM_GET_LAPIC, KVM_SET_LAPIC, KVM_SET_CPUID2, KVM_GET_CPUID2, KVM_GET_MP_STATE,
  KVM_SET_MP_STATE, KVM_NMI, KVM_SET_GUEST_DEBUG, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS,
  KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS, KVM_GET_XSAVE, KVM_SET_XSAVE, KVM_GET_XCRS,
  KVM_SET_XCRS, KVM_KVMCLOCK_CTRL, KVM_SMI, KVM_GET_SREGS2, KVM_SET_SREGS2, KVM_GET_XSAVE2,
};

registerIoctlNames(KVM_IOCTLS);
