/**
 * sys/: the only layer that talks to the host OS through koffi. Above it,
 * nothing imports koffi; they use these wrappers and the KVM ABI in kvm/.
 */
export * from './errors.js';
export * as libc from './libc.js';
export * from './struct.js';
export type { KType } from './ffi.js';
export * as kvm from './kvm/index.js';
