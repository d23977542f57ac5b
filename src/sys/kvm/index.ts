/**
 * The KVM ABI: ioctl numbers, constants, struct bindings and the kvm_run
 * layout. Everything but structs.ts is pure numbers and loads no koffi.
 */
export * from './ioctl-numbers.js';
export * from './constants.js';
export * from './exits.js';
export * from './run.js';
export * from './structs.js';
