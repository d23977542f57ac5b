/**
 * The CPUID model of the software CPU: it advertises only what the
 * emulator implements (emulator.md: FPU, MSR, PAE, CX8, PGE, FXSR, CMOV,
 * SSE, SSE2, LM and NOPL are what a 64-bit kernel requires), plus the KVM
 * paravirtual clock so the guest needs no timer calibration, ARAT so the
 * LAPIC timer is trusted in idle, and an invariant TSC.
 */

/** Registers returned by one CPUID leaf. */
export interface CpuidResult {
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

/** Options that vary per vCPU or machine. */
export interface CpuidConfig {
  /** This vCPU's APIC ID. */
  readonly apicId: number;
  /** vCPUs in the machine (logical processor count). */
  readonly cpus: number;
  /** TSC frequency in Hz (leaf 0x15/0x16 and the KVM clock agree with it). */
  readonly tscHz: number;
}

function str4(s: string): number {
  return (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;
}

const BRAND = 'tsvmm virtual CPU'.padEnd(48, '\0');

// Leaf 1 EDX: FPU TSC MSR PAE CX8 APIC PGE CMOV PAT CLFSH MMX FXSR SSE SSE2 PSE DE.
const L1_EDX =
  (1 << 0) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 8) | (1 << 9) |
  (1 << 13) | (1 << 15) | (1 << 16) | (1 << 19) | (1 << 23) | (1 << 24) | (1 << 25) | (1 << 26);
// Leaf 1 ECX: CX16, POPCNT, TSC-deadline, hypervisor.
const L1_ECX = (1 << 13) | (1 << 23) | (1 << 24) | (1 << 31);
// Extended leaf 0x80000001 EDX: SYSCALL, NX, 1 GiB pages, RDTSCP, LM. ECX: LAHF/SAHF in 64-bit mode.
const E1_EDX = (1 << 11) | (1 << 20) | (1 << 26) | (1 << 27) | (1 << 29);
const E1_ECX = 1 << 0;
// Leaf 7 EBX: ERMS (the kernel then copies with REP MOVSB, which the emulator does in bulk). EDX: ARCH_CAPABILITIES.
const L7_EBX = 1 << 9;
const L7_EDX = 1 << 29;

/** KVM paravirtual features (leaf 0x40000001 EAX): CLOCKSOURCE, CLOCKSOURCE2, CLOCKSOURCE_STABLE_BIT. */
export const KVM_FEATURES = (1 << 0) | (1 << 3) | (1 << 24);

/** Evaluates CPUID for leaf `eax`, subleaf `ecx`. */
export function cpuid(cfg: CpuidConfig, leaf: number, sub: number): CpuidResult {
  leaf >>>= 0;
  const r: CpuidResult = { eax: 0, ebx: 0, ecx: 0, edx: 0 };
  switch (leaf) {
    case 0:
      r.eax = 0x16;
      r.ebx = str4('Genu');
      r.edx = str4('ineI');
      r.ecx = str4('ntel');
      break;
    case 1:
      // Family 6, model 0x3c-like generic stepping; the kernel keys little on it.
      r.eax = (6 << 8) | (0xf << 4) | 1;
      r.ebx = ((cfg.apicId & 0xff) << 24) | ((cfg.cpus & 0xff) << 16) | (8 << 8);
      r.ecx = L1_ECX;
      r.edx = L1_EDX;
      break;
    case 6:
      r.eax = 1 << 2; // ARAT: the LAPIC timer keeps running in deep C-states
      break;
    case 7:
      if (sub === 0) {
        r.ebx = L7_EBX;
        r.edx = L7_EDX;
      }
      break;
    case 0x15: {
      // TSC / crystal ratio: crystal 25 MHz, TSC = crystal * ebx / eax.
      const crystal = 25_000_000;
      r.eax = 1;
      r.ebx = Math.round(cfg.tscHz / crystal);
      r.ecx = crystal;
      break;
    }
    case 0x16:
      r.eax = Math.round(cfg.tscHz / 1e6);
      r.ebx = r.eax;
      r.ecx = 100;
      break;
    case 0x40000000:
      r.eax = 0x40000001;
      r.ebx = str4('KVMK');
      r.ecx = str4('VMKV');
      r.edx = str4('M\0\0\0');
      break;
    case 0x40000001:
      r.eax = KVM_FEATURES;
      break;
    case 0x80000000:
      r.eax = 0x80000008;
      break;
    case 0x80000001:
      r.ecx = E1_ECX;
      r.edx = E1_EDX;
      break;
    case 0x80000002:
    case 0x80000003:
    case 0x80000004: {
      const base = (leaf - 0x80000002) * 16;
      r.eax = str4(BRAND.slice(base, base + 4));
      r.ebx = str4(BRAND.slice(base + 4, base + 8));
      r.ecx = str4(BRAND.slice(base + 8, base + 12));
      r.edx = str4(BRAND.slice(base + 12, base + 16));
      break;
    }
    case 0x80000007:
      r.edx = 1 << 8; // invariant TSC
      break;
    case 0x80000008:
      r.eax = 40 | (48 << 8); // 40 physical, 48 linear address bits
      break;
  }
  return r;
}
