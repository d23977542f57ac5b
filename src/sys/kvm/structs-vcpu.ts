/**
 * koffi bindings of the vCPU-state structs of <asm/kvm.h> (x86-64), and the
 * shapes they decode to. Built lazily through kvmStructs() in structs.ts.
 *
 * Arrays of bytes are bound as uint8_t even where C says char (koffi would
 * decode a char array as a string) and two-dimensional byte arrays are
 * flattened (koffi 3.3 decodes nested numeric arrays wrongly); sizes and
 * offsets are unchanged, and abi.test.ts holds every field against C.
 */
import type { Koffi, KType } from '../ffi.js';
import { FlexStruct, type U64 } from '../struct.js';

/** struct kvm_regs. */
export interface KvmRegs {
  rax: U64; rbx: U64; rcx: U64; rdx: U64; rsi: U64; rdi: U64; rsp: U64; rbp: U64;
  r8: U64; r9: U64; r10: U64; r11: U64; r12: U64; r13: U64; r14: U64; r15: U64;
  rip: U64; rflags: U64;
}
/** struct kvm_segment. */
export interface KvmSegment {
  base: U64; limit: number; selector: number; type: number; present: number; dpl: number;
  db: number; s: number; l: number; g: number; avl: number; unusable: number; padding?: number;
}
/** struct kvm_dtable. */
export interface KvmDtable {
  base: U64; limit: number; padding?: ArrayLike<number>;
}
/** The part kvm_sregs and kvm_sregs2 share. */
interface KvmSregsCommon {
  cs: KvmSegment; ds: KvmSegment; es: KvmSegment; fs: KvmSegment; gs: KvmSegment; ss: KvmSegment;
  tr: KvmSegment; ldt: KvmSegment; gdt: KvmDtable; idt: KvmDtable;
  cr0: U64; cr2: U64; cr3: U64; cr4: U64; cr8: U64; efer: U64; apic_base: U64;
}
/** struct kvm_sregs. */
export interface KvmSregs extends KvmSregsCommon {
  interrupt_bitmap: ArrayLike<bigint>;
}
/** struct kvm_sregs2. */
export interface KvmSregs2 extends KvmSregsCommon {
  flags: U64; pdptrs: ArrayLike<bigint>;
}
/** struct kvm_fpu (fpr is 8x16 bytes and xmm 16x16 bytes, flattened). */
export interface KvmFpu {
  fpr: Uint8Array; fcw: number; fsw: number; ftwx: number; pad1?: number; last_opcode: number;
  last_ip: U64; last_dp: U64; xmm: Uint8Array; mxcsr: number; pad2?: number;
}
/** struct kvm_cpuid_entry2. */
export interface KvmCpuidEntry2 {
  function: number; index: number; flags: number; eax: number; ebx: number; ecx: number; edx: number;
  padding?: ArrayLike<number>;
}
/** struct kvm_cpuid2 without its entries. */
export interface KvmCpuid2Header { nent: number; padding?: number }
/** struct kvm_msr_entry. */
export interface KvmMsrEntry { index: number; reserved?: number; data: U64 }
/** struct kvm_msrs without its entries. */
export interface KvmMsrsHeader { nmsrs: number; pad?: number }
/** struct kvm_msr_list without its indices. */
export interface KvmMsrListHeader { nmsrs: number }
/** An entry of kvm_msr_list.indices (bound as a one-field struct). */
export interface KvmMsrIndex { index: number }
/** struct kvm_vcpu_events. */
export interface KvmVcpuEvents {
  exception: { injected: number; nr: number; has_error_code: number; pending: number; error_code: number };
  interrupt: { injected: number; nr: number; soft: number; shadow: number };
  nmi: { injected: number; pending: number; masked: number; pad?: number };
  sipi_vector: number;
  flags: number;
  smi: { smm: number; pending: number; smm_inside_nmi: number; latched_init: number };
  triple_fault: { pending: number };
  reserved?: ArrayLike<number>;
  exception_has_payload: number;
  exception_payload: U64;
}
/** struct kvm_lapic_state (the 1 KiB APIC register page). */
export interface KvmLapicState { regs: Uint8Array }
/** struct kvm_xsave (the first 4 KiB; KVM_GET_XSAVE2 may need more, use a plain buffer). */
export interface KvmXsave { region: Uint32Array }
/** struct kvm_xcr. */
export interface KvmXcr { xcr: number; reserved?: number; value: U64 }
/** struct kvm_xcrs. */
export interface KvmXcrs { nr_xcrs: number; flags: number; xcrs: KvmXcr[]; padding?: ArrayLike<bigint> }
/** struct kvm_mp_state. */
export interface KvmMpState { mp_state: number }
/** struct kvm_translation. */
export interface KvmTranslation {
  linear_address: U64; physical_address: U64; valid: number; writeable: number; usermode: number;
  pad?: ArrayLike<number>;
}
/** struct kvm_interrupt. */
export interface KvmInterrupt { irq: number }
/** struct kvm_debugregs. */
export interface KvmDebugregs { db: ArrayLike<bigint>; dr6: U64; dr7: U64; flags: U64; reserved?: ArrayLike<bigint> }
/** struct kvm_guest_debug. */
export interface KvmGuestDebug { control: number; pad?: number; arch: { debugreg: ArrayLike<bigint | number> } }
/** struct kvm_signal_mask without its sigset. */
export interface KvmSignalMaskHeader { len: number }

/** Defines the vCPU-state types with koffi (called once, by kvmStructs()). */
export function defineVcpuStructs(k: Koffi) {
  const u8 = 'uint8_t';
  const u16 = 'uint16_t';
  const u32 = 'uint32_t';
  const u64 = 'uint64_t';
  const arr = (t: string | KType, n: number) => k.array(t, n);

  const kvm_regs = k.struct('kvm_regs', {
    rax: u64, rbx: u64, rcx: u64, rdx: u64, rsi: u64, rdi: u64, rsp: u64, rbp: u64,
    r8: u64, r9: u64, r10: u64, r11: u64, r12: u64, r13: u64, r14: u64, r15: u64,
    rip: u64, rflags: u64,
  });
  const kvm_segment = k.struct('kvm_segment', {
    base: u64, limit: u32, selector: u16, type: u8, present: u8, dpl: u8, db: u8, s: u8, l: u8,
    g: u8, avl: u8, unusable: u8, padding: u8,
  });
  const kvm_dtable = k.struct('kvm_dtable', { base: u64, limit: u16, padding: arr(u16, 3) });
  const sregsCommon = {
    cs: kvm_segment, ds: kvm_segment, es: kvm_segment, fs: kvm_segment, gs: kvm_segment,
    ss: kvm_segment, tr: kvm_segment, ldt: kvm_segment, gdt: kvm_dtable, idt: kvm_dtable,
    cr0: u64, cr2: u64, cr3: u64, cr4: u64, cr8: u64, efer: u64, apic_base: u64,
  };
  const kvm_sregs = k.struct('kvm_sregs', { ...sregsCommon, interrupt_bitmap: arr(u64, 4) });
  const kvm_sregs2 = k.struct('kvm_sregs2', { ...sregsCommon, flags: u64, pdptrs: arr(u64, 4) });
  const kvm_fpu = k.struct('kvm_fpu', {
    fpr: arr(u8, 8 * 16), fcw: u16, fsw: u16, ftwx: u8, pad1: u8, last_opcode: u16,
    last_ip: u64, last_dp: u64, xmm: arr(u8, 16 * 16), mxcsr: u32, pad2: u32,
  });
  const kvm_cpuid_entry2 = k.struct('kvm_cpuid_entry2', {
    function: u32, index: u32, flags: u32, eax: u32, ebx: u32, ecx: u32, edx: u32, padding: arr(u32, 3),
  });
  const kvm_cpuid2 = k.struct('kvm_cpuid2', { nent: u32, padding: u32 });
  const kvm_msr_entry = k.struct('kvm_msr_entry', { index: u32, reserved: u32, data: u64 });
  // Aligned as C aligns it: to its flexible array of 8-byte-aligned entries.
  const kvm_msrs = k.struct('kvm_msrs', { nmsrs: [8, u32], pad: u32 });
  const kvm_msr_list = k.struct('kvm_msr_list', { nmsrs: u32 });
  const msr_index = k.struct('kvm_msr_index', { index: u32 });
  const kvm_vcpu_events = k.struct('kvm_vcpu_events', {
    exception: k.struct({ injected: u8, nr: u8, has_error_code: u8, pending: u8, error_code: u32 }),
    interrupt: k.struct({ injected: u8, nr: u8, soft: u8, shadow: u8 }),
    nmi: k.struct({ injected: u8, pending: u8, masked: u8, pad: u8 }),
    sipi_vector: u32,
    flags: u32,
    smi: k.struct({ smm: u8, pending: u8, smm_inside_nmi: u8, latched_init: u8 }),
    triple_fault: k.struct({ pending: u8 }),
    reserved: arr(u8, 26),
    exception_has_payload: u8,
    exception_payload: u64,
  });
  const kvm_lapic_state = k.struct('kvm_lapic_state', { regs: arr(u8, 0x400) });
  const kvm_xsave = k.struct('kvm_xsave', { region: arr(u32, 1024) });
  const kvm_xcr = k.struct('kvm_xcr', { xcr: u32, reserved: u32, value: u64 });
  const kvm_xcrs = k.struct('kvm_xcrs', { nr_xcrs: u32, flags: u32, xcrs: arr(kvm_xcr, 16), padding: arr(u64, 16) });
  const kvm_mp_state = k.struct('kvm_mp_state', { mp_state: u32 });
  const kvm_translation = k.struct('kvm_translation', {
    linear_address: u64, physical_address: u64, valid: u8, writeable: u8, usermode: u8, pad: arr(u8, 5),
  });
  const kvm_interrupt = k.struct('kvm_interrupt', { irq: u32 });
  const kvm_debugregs = k.struct('kvm_debugregs', {
    db: arr(u64, 4), dr6: u64, dr7: u64, flags: u64, reserved: arr(u64, 9),
  });
  const kvm_guest_debug_arch = k.struct('kvm_guest_debug_arch', { debugreg: arr(u64, 8) });
  const kvm_guest_debug = k.struct('kvm_guest_debug', { control: u32, pad: u32, arch: kvm_guest_debug_arch });
  const kvm_signal_mask = k.struct('kvm_signal_mask', { len: u32 });
  const kvm_sync_regs = k.struct('kvm_sync_regs', { regs: kvm_regs, sregs: kvm_sregs, events: kvm_vcpu_events });

  return {
    kvm_regs, kvm_segment, kvm_dtable, kvm_sregs, kvm_sregs2, kvm_fpu, kvm_cpuid_entry2, kvm_cpuid2,
    kvm_msr_entry, kvm_msrs, kvm_msr_list, kvm_vcpu_events, kvm_lapic_state, kvm_xsave, kvm_xcr,
    kvm_xcrs, kvm_mp_state, kvm_translation, kvm_interrupt, kvm_debugregs, kvm_guest_debug_arch,
    kvm_guest_debug, kvm_signal_mask, kvm_sync_regs,
    /** kvm_cpuid2 with its entries. */
    cpuid2: new FlexStruct<KvmCpuid2Header, KvmCpuidEntry2>(kvm_cpuid2, 'nent', 'entries', kvm_cpuid_entry2),
    /** kvm_msrs with its entries. */
    msrs: new FlexStruct<KvmMsrsHeader, KvmMsrEntry>(kvm_msrs, 'nmsrs', 'entries', kvm_msr_entry),
    /** kvm_msr_list with its indices. */
    msrList: new FlexStruct<KvmMsrListHeader, KvmMsrIndex>(kvm_msr_list, 'nmsrs', 'indices', msr_index),
  };
}
