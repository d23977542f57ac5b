/**
 * KVM capability numbers and the flag values of KVM's structs.
 * Pure numbers (no koffi), values from <linux/kvm.h> and <asm/kvm.h>
 * (checked by abi.test.ts).
 */

/** The only KVM_GET_API_VERSION this VMM speaks. */
export const KVM_API_VERSION = 12;

/**
 * KVM_CAP_<name> numbers for KVM_CHECK_EXTENSION / KVM_ENABLE_CAP, keyed
 * without the prefix: KVM_CAP.IRQFD is KVM_CAP_IRQFD.
 */
export const KVM_CAP = Object.freeze({
  IRQCHIP: 0,
  HLT: 1,
  USER_MEMORY: 3,
  SET_TSS_ADDR: 4,
  VAPIC: 6,
  EXT_CPUID: 7,
  CLOCKSOURCE: 8,
  NR_VCPUS: 9,
  NR_MEMSLOTS: 10,
  PIT: 11,
  NOP_IO_DELAY: 12,
  MP_STATE: 14,
  COALESCED_MMIO: 15,
  SYNC_MMU: 16,
  USER_NMI: 22,
  SET_GUEST_DEBUG: 23,
  REINJECT_CONTROL: 24,
  IRQ_ROUTING: 25,
  IRQ_INJECT_STATUS: 26,
  MCE: 31,
  IRQFD: 32,
  PIT2: 33,
  SET_BOOT_CPU_ID: 34,
  PIT_STATE2: 35,
  IOEVENTFD: 36,
  SET_IDENTITY_MAP_ADDR: 37,
  ADJUST_CLOCK: 39,
  INTERNAL_ERROR_DATA: 40,
  VCPU_EVENTS: 41,
  HYPERV: 44,
  INTR_SHADOW: 49,
  DEBUGREGS: 50,
  X86_ROBUST_SINGLESTEP: 51,
  ENABLE_CAP: 54,
  XSAVE: 55,
  XCRS: 56,
  ASYNC_PF: 59,
  TSC_CONTROL: 60,
  GET_TSC_KHZ: 61,
  MAX_VCPUS: 66,
  ONE_REG: 70,
  TSC_DEADLINE_TIMER: 72,
  SYNC_REGS: 74,
  KVMCLOCK_CTRL: 76,
  SIGNAL_MSI: 77,
  READONLY_MEM: 81,
  IRQFD_RESAMPLE: 82,
  DEVICE_CTRL: 89,
  EXT_EMUL_CPUID: 95,
  HYPERV_TIME: 96,
  IOAPIC_POLARITY_IGNORED: 97,
  ENABLE_CAP_VM: 98,
  IOEVENTFD_NO_LENGTH: 100,
  VM_ATTRIBUTES: 101,
  CHECK_EXTENSION_VM: 105,
  DISABLE_QUIRKS: 116,
  X86_SMM: 117,
  MULTI_ADDRESS_SPACE: 118,
  GUEST_DEBUG_HW_BPS: 119,
  GUEST_DEBUG_HW_WPS: 120,
  SPLIT_IRQCHIP: 121,
  IOEVENTFD_ANY_LENGTH: 122,
  MAX_VCPU_ID: 128,
  X2APIC_API: 129,
  MSI_DEVID: 131,
  IMMEDIATE_EXIT: 136,
  X86_DISABLE_EXITS: 143,
  GET_MSR_FEATURES: 153,
  NESTED_STATE: 157,
  MSR_PLATFORM_INFO: 159,
  COALESCED_PIO: 162,
  EXCEPTION_PAYLOAD: 164,
  MANUAL_DIRTY_LOG_PROTECT2: 168,
  PMU_EVENT_FILTER: 173,
  HALT_POLL: 182,
  LAST_CPU: 184,
  SMALLER_MAXPHYADDR: 185,
  STEAL_TIME: 187,
  X86_USER_SPACE_MSR: 188,
  X86_MSR_FILTER: 189,
  ENFORCE_PV_FEATURE_CPUID: 190,
  DIRTY_LOG_RING: 192,
  X86_BUS_LOCK_EXIT: 193,
  SET_GUEST_DEBUG2: 195,
  SREGS2: 200,
  EXIT_HYPERCALL: 201,
  BINARY_STATS_FD: 203,
  EXIT_ON_EMULATION_FAILURE: 204,
  VM_GPA_BITS: 207,
  XSAVE2: 208,
  SYS_ATTRIBUTES: 209,
  PMU_CAPABILITY: 212,
  DISABLE_QUIRKS2: 213,
  VM_TSC_CONTROL: 214,
  SYSTEM_EVENT_DATA: 215,
  X86_TRIPLE_FAULT_EVENT: 218,
  X86_NOTIFY_VMEXIT: 219,
  VM_DISABLE_NX_HUGE_PAGES: 220,
  DIRTY_LOG_RING_ACQ_REL: 223,
} as const);

/** A capability name, e.g. "IRQFD". */
export type KvmCapName = keyof typeof KVM_CAP;

/** Architectural interrupt vectors (kvm_sregs.interrupt_bitmap bits). */
export const KVM_NR_INTERRUPTS = 256;
/** IOAPIC pins in kvm_ioapic_state.redirtbl. */
export const KVM_IOAPIC_NUM_PINS = 24;
/** Bytes of the LAPIC register page (kvm_lapic_state.regs). */
export const KVM_APIC_REG_SIZE = 0x400;
/** Entries of kvm_xcrs.xcrs. */
export const KVM_MAX_XCRS = 16;
/** Page of the vCPU mapping holding port I/O data. */
export const KVM_PIO_PAGE_OFFSET = 1;
/** Page of the vCPU mapping holding the coalesced MMIO ring. */
export const KVM_COALESCED_MMIO_PAGE_OFFSET = 2;

/** kvm_userspace_memory_region.flags: track dirty pages. */
export const KVM_MEM_LOG_DIRTY_PAGES = 1;
/** kvm_userspace_memory_region.flags: guest writes exit as MMIO. */
export const KVM_MEM_READONLY = 2;

/** kvm_irqfd.flags: unbind. */
export const KVM_IRQFD_FLAG_DEASSIGN = 1;
/** kvm_irqfd.flags: level-triggered with a resample eventfd. */
export const KVM_IRQFD_FLAG_RESAMPLE = 2;

/** kvm_ioeventfd.flags: only signal when the written value equals datamatch. */
export const KVM_IOEVENTFD_FLAG_DATAMATCH = 1;
/** kvm_ioeventfd.flags: addr is a port, not MMIO. */
export const KVM_IOEVENTFD_FLAG_PIO = 2;
/** kvm_ioeventfd.flags: unbind. */
export const KVM_IOEVENTFD_FLAG_DEASSIGN = 4;
/** kvm_ioeventfd.flags: s390 virtio-ccw notify. */
export const KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY = 8;

/** kvm_irq_routing_entry.type: a pin of an in-kernel irqchip. */
export const KVM_IRQ_ROUTING_IRQCHIP = 1;
/** kvm_irq_routing_entry.type: an MSI message. */
export const KVM_IRQ_ROUTING_MSI = 2;
/** kvm_irq_routing_entry.type: s390 adapter. */
export const KVM_IRQ_ROUTING_S390_ADAPTER = 3;
/** kvm_irq_routing_entry.type: Hyper-V SINT. */
export const KVM_IRQ_ROUTING_HV_SINT = 4;
/** kvm_irq_routing_entry.type: Xen event channel. */
export const KVM_IRQ_ROUTING_XEN_EVTCHN = 5;

/** irqchip id: master 8259. */
export const KVM_IRQCHIP_PIC_MASTER = 0;
/** irqchip id: slave 8259. */
export const KVM_IRQCHIP_PIC_SLAVE = 1;
/** irqchip id: IOAPIC. */
export const KVM_IRQCHIP_IOAPIC = 2;

/** kvm_pit_config.flags: emulate the PC speaker port (0x61) as a dummy. */
export const KVM_PIT_SPEAKER_DUMMY = 1;
/** kvm_pit_state2.flags: HPET legacy mode. */
export const KVM_PIT_FLAGS_HPET_LEGACY = 1;
/** kvm_pit_state2.flags: speaker data on. */
export const KVM_PIT_FLAGS_SPEAKER_DATA_ON = 2;

/** kvm_msi.flags / routing flags: devid is valid. */
export const KVM_MSI_VALID_DEVID = 1;

/** kvm_clock_data.flags: the clock is stable across vCPUs. */
export const KVM_CLOCK_TSC_STABLE = 2;
/** kvm_clock_data.flags: realtime is valid. */
export const KVM_CLOCK_REALTIME = 4;
/** kvm_clock_data.flags: host_tsc is valid. */
export const KVM_CLOCK_HOST_TSC = 8;

/** kvm_cpuid_entry2.flags: index is significant (sic: the header's spelling). */
export const KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1;
/** kvm_cpuid_entry2.flags: stateful function (obsolete). */
export const KVM_CPUID_FLAG_STATEFUL_FUNC = 2;
/** kvm_cpuid_entry2.flags: read next (obsolete). */
export const KVM_CPUID_FLAG_STATE_READ_NEXT = 4;

/** kvm_vcpu_events.flags: nmi.pending is to be set. */
export const KVM_VCPUEVENT_VALID_NMI_PENDING = 0x01;
/** kvm_vcpu_events.flags: sipi_vector is to be set. */
export const KVM_VCPUEVENT_VALID_SIPI_VECTOR = 0x02;
/** kvm_vcpu_events.flags: interrupt.shadow is to be set. */
export const KVM_VCPUEVENT_VALID_SHADOW = 0x04;
/** kvm_vcpu_events.flags: smi is to be set. */
export const KVM_VCPUEVENT_VALID_SMM = 0x08;
/** kvm_vcpu_events.flags: exception payload fields are valid. */
export const KVM_VCPUEVENT_VALID_PAYLOAD = 0x10;
/** kvm_vcpu_events.flags: triple_fault is valid. */
export const KVM_VCPUEVENT_VALID_TRIPLE_FAULT = 0x20;
/** kvm_vcpu_events.interrupt.shadow: after MOV SS. */
export const KVM_X86_SHADOW_INT_MOV_SS = 0x01;
/** kvm_vcpu_events.interrupt.shadow: after STI. */
export const KVM_X86_SHADOW_INT_STI = 0x02;

/** kvm_guest_debug.control: debugging on. */
export const KVM_GUESTDBG_ENABLE = 0x1;
/** kvm_guest_debug.control: single-step. */
export const KVM_GUESTDBG_SINGLESTEP = 0x2;
/** kvm_guest_debug.control: software breakpoints (INT3) exit. */
export const KVM_GUESTDBG_USE_SW_BP = 0x10000;
/** kvm_guest_debug.control: hardware breakpoints from arch.debugreg. */
export const KVM_GUESTDBG_USE_HW_BP = 0x20000;
/** kvm_guest_debug.control: inject #DB. */
export const KVM_GUESTDBG_INJECT_DB = 0x40000;
/** kvm_guest_debug.control: inject #BP. */
export const KVM_GUESTDBG_INJECT_BP = 0x80000;

/** KVM_CAP_X86_DISABLE_EXITS argument: MWAIT does not exit. */
export const KVM_X86_DISABLE_EXITS_MWAIT = 1;
/** KVM_CAP_X86_DISABLE_EXITS argument: HLT does not exit. */
export const KVM_X86_DISABLE_EXITS_HLT = 2;
/** KVM_CAP_X86_DISABLE_EXITS argument: PAUSE does not exit. */
export const KVM_X86_DISABLE_EXITS_PAUSE = 4;
/** KVM_CAP_X86_DISABLE_EXITS argument: C-states do not exit. */
export const KVM_X86_DISABLE_EXITS_CSTATE = 8;

/** KVM_CAP_X2APIC_API argument: 32-bit APIC ids in routes and MSIs. */
export const KVM_X2APIC_API_USE_32BIT_IDS = 1;
/** KVM_CAP_X2APIC_API argument: no broadcast quirk. */
export const KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK = 2;

/** KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 argument: KVM_GET_DIRTY_LOG does not re-protect. */
export const KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE = 1;
/** KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 argument: new slots start all dirty. */
export const KVM_DIRTY_LOG_INITIALLY_SET = 2;

/** KVM_CAP_X86_NOTIFY_VMEXIT argument: enable. */
export const KVM_X86_NOTIFY_VMEXIT_ENABLED = 1;
/** KVM_CAP_X86_NOTIFY_VMEXIT argument: exit to userspace. */
export const KVM_X86_NOTIFY_VMEXIT_USER = 2;
/** notify.flags: the VM context is invalid. */
export const KVM_NOTIFY_CONTEXT_INVALID = 1;
