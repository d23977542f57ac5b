/**
 * The tsvmm library API (`import { ... } from "tsvmm"`). It grows with the
 * machine: today it exposes the configuration schema and the building
 * blocks devices and backends are written against.
 */
export { parseVmConfig, vmConfigJsonSchema, ConfigError, type VmConfig, type VmConfigInput } from './vm/config.js';
export { GuestMemory, GuestMemoryError } from './memory/guest-memory.js';
export { IoBus, RegionConflictError } from './bus/io-bus.js';
export type {
  ChipsetDevice, IoPart, PciPart, Region, AccessSize, SavedState, InspectNode, VmmDevice, DeviceFactory,
} from './bus/device.js';
export type { IrqLine, MsiTarget, MsiMessage, InterruptSource } from './bus/irq.js';
export { ExitReason, VcpuExit, type Vcpu, type Partition, type Hypervisor } from './hv/partition.js';
