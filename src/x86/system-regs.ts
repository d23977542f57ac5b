/**
 * Names for system-level bits and registers: RFLAGS system bits, MSR
 * numbers, control register bits used by the executor.
 */

/** RFLAGS system bits (the arithmetic ones are in flags.ts). */
export const NT = 1 << 14;
export const RF = 1 << 16;
export const VM = 1 << 17;
export const AC = 1 << 18;
export const VIF = 1 << 19;
export const VIP = 1 << 20;
export const ID_FLAG = 1 << 21;
export const IOPL_MASK = 3 << 12;

/** Model-specific registers the emulated CPU implements. */
export const MSR = {
  TSC: 0x10,
  PLATFORM_ID: 0x17,
  APIC_BASE: 0x1b,
  FEATURE_CONTROL: 0x3a,
  TSC_ADJUST: 0x3b,
  SPEC_CTRL: 0x48,
  PRED_CMD: 0x49,
  BIOS_SIGN_ID: 0x8b,
  MTRRCAP: 0xfe,
  ARCH_CAPABILITIES: 0x10a,
  FLUSH_CMD: 0x10b,
  SYSENTER_CS: 0x174,
  SYSENTER_ESP: 0x175,
  SYSENTER_EIP: 0x176,
  MCG_CAP: 0x179,
  MCG_STATUS: 0x17a,
  MISC_ENABLE: 0x1a0,
  MTRR_DEF_TYPE: 0x2ff,
  PAT: 0x277,
  TSC_DEADLINE: 0x6e0,
  EFER: 0xc0000080,
  STAR: 0xc0000081,
  LSTAR: 0xc0000082,
  CSTAR: 0xc0000083,
  SFMASK: 0xc0000084,
  FS_BASE: 0xc0000100,
  GS_BASE: 0xc0000101,
  KERNEL_GS_BASE: 0xc0000102,
  TSC_AUX: 0xc0000103,
  KVM_WALL_CLOCK_NEW: 0x4b564d00,
  KVM_SYSTEM_TIME_NEW: 0x4b564d01,
  KVM_ASYNC_PF_EN: 0x4b564d02,
  KVM_STEAL_TIME: 0x4b564d03,
  KVM_EOI_EN: 0x4b564d04,
  KVM_POLL_CONTROL: 0x4b564d05,
  KVM_WALL_CLOCK: 0x11,
  KVM_SYSTEM_TIME: 0x12,
} as const;
