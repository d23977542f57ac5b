/**
 * The tsvmm library API (`import { Vm } from "tsvmm"`).
 *
 * - `Vm`: create, start and drive a VM in this process, with its console
 *   (the README shows a ten-line example).
 * - `ApiClient`: drive a VM in another process through its API socket
 *   (`tsvmm run|serve --api-socket PATH`; docs/api.md).
 * - The configuration schema, and the building blocks devices and backends
 *   are written against.
 *
 * What is exported here is the stable surface; deeper imports may change.
 */
export { Vm, type VmOptions, type CreateOptions, type VmExit } from './api/library.js';
export { VmConsole, type WaitForOptions } from './api/guest-console.js';
export type { InspectJson } from './api/inspect-json.js';
export type { VmEvent, VmState } from './vm/vm.js';
export { VmStateError } from './vm/vm.js';
export { ApiError, ERROR_CODES, type ErrorCode } from './api/errors.js';
export { ApiClient, ApiUnreachableError, type ApiResponse, type SseEvent } from './api/client.js';
export type { Description, StateReply, SnapshotReply, ApiState } from './api/schemas.js';
export { buildOpenApi } from './api/openapi.js';
export { parseVmConfig, vmConfigJsonSchema, ConfigError, type VmConfig, type VmConfigInput } from './vm/config.js';
export { GuestMemory, GuestMemoryError } from './memory/guest-memory.js';
export { IoBus, RegionConflictError } from './bus/io-bus.js';
export type {
  ChipsetDevice, IoPart, PciPart, Region, AccessSize, SavedState, InspectNode, VmmDevice, DeviceFactory,
} from './bus/device.js';
export type { IrqLine, MsiTarget, MsiMessage, InterruptSource } from './bus/irq.js';
export { ExitReason, VcpuExit, type Vcpu, type Partition, type Hypervisor } from './hv/partition.js';
