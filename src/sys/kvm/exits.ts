/**
 * Why KVM_RUN returned: exit reasons and the codes that qualify them.
 * Pure numbers (no koffi), values from <linux/kvm.h> (checked by abi.test.ts).
 */

/** Exit: unknown; hw.hardware_exit_reason says more. */
export const KVM_EXIT_UNKNOWN = 0;
/** Exit: exception (ex.exception, ex.error_code). */
export const KVM_EXIT_EXCEPTION = 1;
/** Exit: port I/O (io.*), data in the kvm_run page at io.data_offset. */
export const KVM_EXIT_IO = 2;
/** Exit: hypercall (only with KVM_CAP_EXIT_HYPERCALL). */
export const KVM_EXIT_HYPERCALL = 3;
/** Exit: debug event (debug.arch). */
export const KVM_EXIT_DEBUG = 4;
/** Exit: HLT with no in-kernel irqchip. */
export const KVM_EXIT_HLT = 5;
/** Exit: MMIO access (mmio.*). */
export const KVM_EXIT_MMIO = 6;
/** Exit: interrupt window opened (request_interrupt_window). */
export const KVM_EXIT_IRQ_WINDOW_OPEN = 7;
/** Exit: triple fault / shutdown. */
export const KVM_EXIT_SHUTDOWN = 8;
/** Exit: VM entry failed (fail_entry.*). */
export const KVM_EXIT_FAIL_ENTRY = 9;
/** Exit: interrupted by a signal. */
export const KVM_EXIT_INTR = 10;
/** Exit: TPR write (s390/ppc legacy). */
export const KVM_EXIT_SET_TPR = 11;
/** Exit: TPR access (tpr_access.*). */
export const KVM_EXIT_TPR_ACCESS = 12;
/** Exit: s390 SIE intercept. */
export const KVM_EXIT_S390_SIEIC = 13;
/** Exit: s390 reset. */
export const KVM_EXIT_S390_RESET = 14;
/** Exit: PowerPC DCR access (deprecated). */
export const KVM_EXIT_DCR = 15;
/** Exit: NMI. */
export const KVM_EXIT_NMI = 16;
/** Exit: KVM internal error (internal.suberror, internal.data). */
export const KVM_EXIT_INTERNAL_ERROR = 17;
/** Exit: PowerPC OSI hypercall. */
export const KVM_EXIT_OSI = 18;
/** Exit: PowerPC PAPR hypercall. */
export const KVM_EXIT_PAPR_HCALL = 19;
/** Exit: s390 ucontrol fault. */
export const KVM_EXIT_S390_UCONTROL = 20;
/** Exit: PowerPC watchdog. */
export const KVM_EXIT_WATCHDOG = 21;
/** Exit: s390 TSCH. */
export const KVM_EXIT_S390_TSCH = 22;
/** Exit: PowerPC EPR. */
export const KVM_EXIT_EPR = 23;
/** Exit: system event (system_event.type: shutdown, reset, crash, ...). */
export const KVM_EXIT_SYSTEM_EVENT = 24;
/** Exit: s390 STSI. */
export const KVM_EXIT_S390_STSI = 25;
/** Exit: IOAPIC EOI with a split irqchip (eoi.vector). */
export const KVM_EXIT_IOAPIC_EOI = 26;
/** Exit: Hyper-V (hyperv.*). */
export const KVM_EXIT_HYPERV = 27;
/** Exit: ARM data abort without syndrome. */
export const KVM_EXIT_ARM_NISV = 28;
/** Exit: RDMSR for userspace (msr.*). */
export const KVM_EXIT_X86_RDMSR = 29;
/** Exit: WRMSR for userspace (msr.*). */
export const KVM_EXIT_X86_WRMSR = 30;
/** Exit: dirty ring full. */
export const KVM_EXIT_DIRTY_RING_FULL = 31;
/** Exit: SEV-ES AP reset hold. */
export const KVM_EXIT_AP_RESET_HOLD = 32;
/** Exit: bus lock detected. */
export const KVM_EXIT_X86_BUS_LOCK = 33;
/** Exit: Xen hypercall. */
export const KVM_EXIT_XEN = 34;
/** Exit: RISC-V SBI call. */
export const KVM_EXIT_RISCV_SBI = 35;
/** Exit: RISC-V CSR access. */
export const KVM_EXIT_RISCV_CSR = 36;
/** Exit: notify VM exit (notify.flags). */
export const KVM_EXIT_NOTIFY = 37;

/** Every exit reason by its header name. */
export const KVM_EXITS: Readonly<Record<string, number>> = {
  KVM_EXIT_UNKNOWN, KVM_EXIT_EXCEPTION, KVM_EXIT_IO, KVM_EXIT_HYPERCALL, KVM_EXIT_DEBUG,
  KVM_EXIT_HLT, KVM_EXIT_MMIO, KVM_EXIT_IRQ_WINDOW_OPEN, KVM_EXIT_SHUTDOWN, KVM_EXIT_FAIL_ENTRY,
  KVM_EXIT_INTR, KVM_EXIT_SET_TPR, KVM_EXIT_TPR_ACCESS, KVM_EXIT_S390_SIEIC, KVM_EXIT_S390_RESET,
  KVM_EXIT_DCR, KVM_EXIT_NMI, KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_OSI, KVM_EXIT_PAPR_HCALL,
  KVM_EXIT_S390_UCONTROL, KVM_EXIT_WATCHDOG, KVM_EXIT_S390_TSCH, KVM_EXIT_EPR,
  KVM_EXIT_SYSTEM_EVENT, KVM_EXIT_S390_STSI, KVM_EXIT_IOAPIC_EOI, KVM_EXIT_HYPERV,
  KVM_EXIT_ARM_NISV, KVM_EXIT_X86_RDMSR, KVM_EXIT_X86_WRMSR, KVM_EXIT_DIRTY_RING_FULL,
  KVM_EXIT_AP_RESET_HOLD, KVM_EXIT_X86_BUS_LOCK, KVM_EXIT_XEN, KVM_EXIT_RISCV_SBI,
  KVM_EXIT_RISCV_CSR, KVM_EXIT_NOTIFY,
};

/** Exit reason number -> short name ("IO", "MMIO", ...), for messages. */
export const KVM_EXIT_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const [name, value] of Object.entries(KVM_EXITS)) names[value] = name.slice('KVM_EXIT_'.length);
  return names;
})();

/** A printable name for an exit reason, e.g. "MMIO" or "unknown exit 99". */
export function exitReasonName(reason: number): string {
  return KVM_EXIT_NAMES[reason] ?? `unknown exit ${reason}`;
}

/** io.direction: guest IN (userspace supplies the data). */
export const KVM_EXIT_IO_IN = 0;
/** io.direction: guest OUT (the data is in the page). */
export const KVM_EXIT_IO_OUT = 1;

/** internal.suberror: the instruction emulator failed. */
export const KVM_INTERNAL_ERROR_EMULATION = 1;
/** internal.suberror: simultaneous exceptions. */
export const KVM_INTERNAL_ERROR_SIMUL_EX = 2;
/** internal.suberror: exit while delivering an event. */
export const KVM_INTERNAL_ERROR_DELIVERY_EV = 3;
/** internal.suberror: unexpected hardware exit reason. */
export const KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON = 4;
/** emulation_failure.flags: insn_size/insn_bytes are valid. */
export const KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES = 1;

/** system_event.type: guest asked to power off. */
export const KVM_SYSTEM_EVENT_SHUTDOWN = 1;
/** system_event.type: guest asked to reset. */
export const KVM_SYSTEM_EVENT_RESET = 2;
/** system_event.type: guest crashed. */
export const KVM_SYSTEM_EVENT_CRASH = 3;
/** system_event.type: wake up (ARM). */
export const KVM_SYSTEM_EVENT_WAKEUP = 4;
/** system_event.type: suspend (ARM). */
export const KVM_SYSTEM_EVENT_SUSPEND = 5;
/** system_event.type: SEV guest terminated. */
export const KVM_SYSTEM_EVENT_SEV_TERM = 6;

/** msr.reason: invalid MSR access. */
export const KVM_MSR_EXIT_REASON_INVAL = 1;
/** msr.reason: unknown MSR. */
export const KVM_MSR_EXIT_REASON_UNKNOWN = 2;
/** msr.reason: denied by the MSR filter. */
export const KVM_MSR_EXIT_REASON_FILTER = 4;

/** kvm_run.flags: the vCPU was in SMM. */
export const KVM_RUN_X86_SMM = 1;
/** kvm_run.flags: a bus lock was detected. */
export const KVM_RUN_X86_BUS_LOCK = 2;

/** kvm_valid_regs/kvm_dirty_regs: s.regs.regs. */
export const KVM_SYNC_X86_REGS = 1;
/** kvm_valid_regs/kvm_dirty_regs: s.regs.sregs. */
export const KVM_SYNC_X86_SREGS = 2;
/** kvm_valid_regs/kvm_dirty_regs: s.regs.events. */
export const KVM_SYNC_X86_EVENTS = 4;

/** kvm_mp_state: running. */
export const KVM_MP_STATE_RUNNABLE = 0;
/** kvm_mp_state: AP waiting for INIT. */
export const KVM_MP_STATE_UNINITIALIZED = 1;
/** kvm_mp_state: INIT received, waiting for SIPI. */
export const KVM_MP_STATE_INIT_RECEIVED = 2;
/** kvm_mp_state: halted. */
export const KVM_MP_STATE_HALTED = 3;
/** kvm_mp_state: SIPI received. */
export const KVM_MP_STATE_SIPI_RECEIVED = 4;
/** kvm_mp_state: stopped (s390). */
export const KVM_MP_STATE_STOPPED = 5;
/** kvm_mp_state: check-stop (s390). */
export const KVM_MP_STATE_CHECK_STOP = 6;
/** kvm_mp_state: operating (s390). */
export const KVM_MP_STATE_OPERATING = 7;
/** kvm_mp_state: load (s390). */
export const KVM_MP_STATE_LOAD = 8;
/** kvm_mp_state: SEV-ES AP reset hold. */
export const KVM_MP_STATE_AP_RESET_HOLD = 9;
/** kvm_mp_state: suspended (ARM). */
export const KVM_MP_STATE_SUSPENDED = 10;
