/**
 * Local APIC (xAPIC mode) registers, MSRs and fields.
 *
 * Spec: Intel SDM vol. 3A, chapter 11 "Advanced Programmable Interrupt
 * Controller (APIC)" (chapter 10 in older editions): table 11-1 "Local APIC
 * Register Address Map", 11.4.4 IA32_APIC_BASE, 11.5.1 LVT, 11.5.3 ESR,
 * 11.5.4 APIC timer (and 11.5.4.1 TSC-deadline mode), 11.6.1 ICR,
 * 11.6.2 LDR/DFR, 11.8 IRR/ISR/TMR/TPR/PPR/EOI, 11.9 SVR.
 */

/** Guest-physical base of the LAPIC page (DESIGN.md; IA32_APIC_BASE default). */
export const LAPIC_BASE = 0xfee00000;
/** Size of the LAPIC MMIO page. */
export const LAPIC_SIZE = 0x1000;

/** Local APIC ID (bits 31:24). */
export const APIC_ID = 0x020;
/** Local APIC version. */
export const APIC_VERSION = 0x030;
/** Task priority register. */
export const APIC_TPR = 0x080;
/** Arbitration priority register. */
export const APIC_APR = 0x090;
/** Processor priority register. */
export const APIC_PPR = 0x0a0;
/** EOI register (write-only). */
export const APIC_EOI = 0x0b0;
/** Remote read register. */
export const APIC_RRD = 0x0c0;
/** Logical destination register (bits 31:24). */
export const APIC_LDR = 0x0d0;
/** Destination format register (bits 31:28 model). */
export const APIC_DFR = 0x0e0;
/** Spurious interrupt vector register. */
export const APIC_SVR = 0x0f0;
/** In-service register, 8 dwords at 0x100-0x170. */
export const APIC_ISR = 0x100;
/** Trigger mode register, 8 dwords at 0x180-0x1F0. */
export const APIC_TMR = 0x180;
/** Interrupt request register, 8 dwords at 0x200-0x270. */
export const APIC_IRR = 0x200;
/** Error status register. */
export const APIC_ESR = 0x280;
/** LVT CMCI (absent: max LVT entry is 5). */
export const APIC_LVT_CMCI = 0x2f0;
/** Interrupt command register, low dword (a write sends the IPI). */
export const APIC_ICR_LO = 0x300;
/** Interrupt command register, high dword (destination in bits 31:24). */
export const APIC_ICR_HI = 0x310;
/** LVT timer. */
export const APIC_LVT_TIMER = 0x320;
/** LVT thermal sensor. */
export const APIC_LVT_THERMAL = 0x330;
/** LVT performance monitoring counters. */
export const APIC_LVT_PERF = 0x340;
/** LVT LINT0. */
export const APIC_LVT_LINT0 = 0x350;
/** LVT LINT1. */
export const APIC_LVT_LINT1 = 0x360;
/** LVT error. */
export const APIC_LVT_ERROR = 0x370;
/** Timer initial count. */
export const APIC_TIMER_ICR = 0x380;
/** Timer current count (read-only). */
export const APIC_TIMER_CCR = 0x390;
/** Timer divide configuration. */
export const APIC_TIMER_DCR = 0x3e0;

/** Version register: version 0x14 (integrated xAPIC), max LVT entry 5 (6 LVTs), no EOI-broadcast suppression. */
export const LAPIC_VERSION = 0x00050014;

/** Index of each LVT in the model's lvt array, in register order. */
export const LVT_TIMER = 0;
/** LVT index: thermal. */
export const LVT_THERMAL = 1;
/** LVT index: performance counters. */
export const LVT_PERF = 2;
/** LVT index: LINT0. */
export const LVT_LINT0 = 3;
/** LVT index: LINT1. */
export const LVT_LINT1 = 4;
/** LVT index: error. */
export const LVT_ERROR = 5;
/** Number of LVT entries. */
export const LVT_COUNT = 6;

/** LVT bits 7:0: vector. */
export const LVT_VECTOR = 0xff;
/** LVT bits 10:8: delivery mode (thermal, perf, LINT0/1). */
export const LVT_DELIVERY_SHIFT = 8;
/** LVT bit 12: delivery status (read-only; always idle here). */
export const LVT_DELIVERY_STATUS = 1 << 12;
/** LVT bit 13: input pin polarity (LINT0/1), 1 = active low. */
export const LVT_POLARITY_LOW = 1 << 13;
/** LVT bit 14: remote IRR (LINT0/1, read-only). */
export const LVT_REMOTE_IRR = 1 << 14;
/** LVT bit 15: trigger mode (LINT0/1), 1 = level. */
export const LVT_TRIGGER_LEVEL = 1 << 15;
/** LVT bit 16: mask. */
export const LVT_MASKED = 1 << 16;
/** LVT timer bits 18:17: timer mode. */
export const LVT_TIMER_MODE_SHIFT = 17;
/** Timer mode 00: one-shot. */
export const TIMER_ONESHOT = 0;
/** Timer mode 01: periodic. */
export const TIMER_PERIODIC = 1;
/** Timer mode 10: TSC-deadline. */
export const TIMER_TSC_DEADLINE = 2;
/** Reset value of every LVT: masked. */
export const LVT_RESET = LVT_MASKED;

/** Writable bits per LVT, indexed by LVT_*; the timer's mode bits are added when TSC-deadline mode exists. */
export const LVT_WRITABLE: readonly number[] = [
  0x000300ff, // timer: vector, mask, mode bit 17 (bit 18 only with TSC-deadline)
  0x000107ff, // thermal: vector, delivery mode, mask
  0x000107ff, // perf
  0x0001a7ff, // LINT0: vector, delivery mode, polarity, trigger, mask
  0x0001a7ff, // LINT1
  0x000100ff, // error: vector, mask
];
/** LVT timer bit 18, writable only when TSC-deadline mode is supported. */
export const LVT_TIMER_TSC_BIT = 1 << 18;

/** SVR bits 7:0: spurious vector. */
export const SVR_VECTOR = 0xff;
/** SVR bit 8: APIC software enable. */
export const SVR_ENABLE = 1 << 8;
/** SVR bit 9: focus processor checking disabled. */
export const SVR_FOCUS_DISABLED = 1 << 9;
/** SVR bits software can write (bit 12, EOI-broadcast suppression, is not supported). */
export const SVR_WRITABLE = 0x3ff;
/** SVR reset value: vector 0xFF, software-disabled. */
export const SVR_RESET = 0xff;

/** DFR bits 31:28: model (1111 flat, 0000 cluster); the rest read as ones. */
export const DFR_MODEL_MASK = 0xf0000000;
/** DFR model value for the flat model. */
export const DFR_FLAT = 0xf;
/** DFR reset value (flat model). */
export const DFR_RESET = 0xffffffff;

/** ESR bit 5: send illegal vector. */
export const ESR_SEND_ILLEGAL_VECTOR = 1 << 5;
/** ESR bit 6: receive illegal vector. */
export const ESR_RECEIVE_ILLEGAL_VECTOR = 1 << 6;
/** ESR bit 7: illegal register address. */
export const ESR_ILLEGAL_REGISTER = 1 << 7;

/** ICR bits 7:0: vector. */
export const ICR_VECTOR = 0xff;
/** ICR bits 10:8: delivery mode. */
export const ICR_DELIVERY_SHIFT = 8;
/** ICR bit 11: destination mode, 1 = logical. */
export const ICR_DEST_LOGICAL = 1 << 11;
/** ICR bit 12: delivery status (read-only; reads 0 = idle). */
export const ICR_DELIVERY_STATUS = 1 << 12;
/** ICR bit 14: level, 1 = assert. */
export const ICR_LEVEL_ASSERT = 1 << 14;
/** ICR bit 15: trigger mode, 1 = level. */
export const ICR_TRIGGER_LEVEL = 1 << 15;
/** ICR bits 19:18: destination shorthand. */
export const ICR_SHORTHAND_SHIFT = 18;
/** ICR low bits software can write. */
export const ICR_LO_WRITABLE = 0x000ccfff;
/** ICR high bits 31:24: destination. */
export const ICR_HI_WRITABLE = 0xff000000;

/** DCR bits 0, 1 and 3: divide value. */
export const DCR_WRITABLE = 0xb;

/** MSR IA32_APIC_BASE. */
export const MSR_IA32_APIC_BASE = 0x1b;
/** MSR IA32_TSC_DEADLINE. */
export const MSR_IA32_TSC_DEADLINE = 0x6e0;
/** IA32_APIC_BASE bit 8: this is the bootstrap processor. */
export const APIC_BASE_BSP = 1 << 8;
/** IA32_APIC_BASE bit 10: x2APIC mode enable (not supported). */
export const APIC_BASE_EXTD = 1 << 10;
/** IA32_APIC_BASE bit 11: APIC global enable. */
export const APIC_BASE_ENABLE = 1 << 11;
/** IA32_APIC_BASE bits 35:12 as far as a number's low 32 bits hold them. */
export const APIC_BASE_ADDR_MASK = 0xfffff000;
