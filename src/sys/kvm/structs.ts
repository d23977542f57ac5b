/**
 * All KVM struct bindings, built on first use (koffi is loaded lazily, see
 * ffi.ts). Use them with the helpers of ../struct.ts:
 *
 *   const T = kvmStructs();
 *   const regs = ioctlOut<KvmRegs>(vcpuFd, KVM_GET_REGS, T.kvm_regs);
 *   ioctlPtr(vcpuFd, KVM_SET_CPUID2, T.cpuid2.build({}, entries));
 */
import { koffi } from '../ffi.js';
import { encodeStruct } from '../struct.js';
import { defineVcpuStructs } from './structs-vcpu.js';
import { defineVmStructs } from './structs-vm.js';

export type * from './structs-vcpu.js';
export type * from './structs-vm.js';

/** The object kvmStructs() returns: koffi types by C name, plus FlexStruct helpers. */
export type KvmStructs = ReturnType<typeof defineVcpuStructs> & ReturnType<typeof defineVmStructs>;

let structs: KvmStructs | undefined;

/** The KVM struct types (defined once per thread, on first call). */
export function kvmStructs(): KvmStructs {
  if (structs === undefined) {
    const k = koffi();
    structs = { ...defineVcpuStructs(k), ...defineVmStructs(k) };
  }
  return structs;
}

/** Builds a struct kvm_signal_mask carrying `sigset` (8 bytes for the kernel's sigset_t). */
export function buildSignalMask(sigset: Uint8Array): Uint8Array {
  const T = kvmStructs();
  const buf = new Uint8Array(T.kvm_signal_mask.size + sigset.length);
  encodeStruct(T.kvm_signal_mask, { len: sigset.length }, buf);
  buf.set(sigset, T.kvm_signal_mask.size);
  return buf;
}
