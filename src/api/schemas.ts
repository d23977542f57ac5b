/**
 * The zod schemas of every API body: requests are validated with them, and
 * the OpenAPI document (GET /openapi.json, docs/api.md) is generated from
 * them, so the documentation cannot drift from what the server accepts.
 * The VM configuration is the one schema of src/vm/config.ts (the same as
 * `tsvmm run --config`).
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { ACCELS, VmConfig } from '../vm/config.js';
import { ERROR_CODES, type ErrorCode } from './errors.js';

/** The states the API reports: the Vm's, plus "unconfigured" for `serve` before PUT /v1/vm. */
export const API_STATES = ['unconfigured', 'created', 'running', 'paused', 'stopped'] as const;
/** One of API_STATES. */
export type ApiState = (typeof API_STATES)[number];

const State = z.enum(API_STATES).describe('the lifecycle state: unconfigured (serve only), created, running, paused, stopped');

/** How a VM ended: the process exit code of DESIGN.md and why. */
export const ExitInfo = z
  .strictObject({
    code: z.number().int().describe('0 powered off, 3 VMM failure, 4 guest crashed, (V<<1)|1 for debug-exit V'),
    reason: z.string().describe('one line, e.g. "the guest powered off"'),
  })
  .describe('how the VM ended');

/** Body of POST /v1/vm/snapshot. */
export const SnapshotRequest = z
  .strictObject({
    path: z
      .string({ error: 'a directory path' })
      .min(1, { error: 'a directory path' })
      .refine((s) => !s.includes('\0'), { error: 'a directory path without NUL bytes' })
      .describe("where to write the snapshot; relative paths are resolved against the VMM's working directory"),
  }, { error: (i) => (i.code === 'unrecognized_keys' ? 'only the key path' : 'an object such as {"path": "/tmp/snap"}') })
  .describe('where to write a snapshot');
/** A parsed snapshot request. */
export type SnapshotRequest = z.infer<typeof SnapshotRequest>;

/** Body of PUT /v1/vm/restore. */
export const RestoreRequest = z
  .strictObject(
    {
      dir: z
        .string({ error: 'an absolute directory path' })
        .refine((s) => isAbsolute(s) && !s.includes('\0'), { error: 'an absolute directory path' })
        .describe("the snapshot directory (as POST /v1/vm/snapshot wrote it); absolute, since the VMM's working directory is not the client's"),
      resume: z
        .boolean({ error: 'true or false' })
        .default(false)
        .describe('run the restored VM at once; otherwise it waits paused for POST /v1/vm/resume'),
    },
    { error: (i) => (i.code === 'unrecognized_keys' ? 'only the keys dir and resume' : 'an object such as {"dir": "/var/lib/tsvmm/snap1"}') },
  )
  .describe('the snapshot to restore and whether to resume it');
/** A parsed restore request. */
export type RestoreRequest = z.output<typeof RestoreRequest>;

/** GET /v1/vm: everything about the VM in one object. */
export const Description = z
  .strictObject({
    state: State,
    config: VmConfig.nullable().describe('the configuration with defaults filled in; null before PUT /v1/vm'),
    boots: z.number().int().min(0).describe('machines built so far: 1 after start, +1 per guest reboot or reset'),
    exit: ExitInfo.nullable().describe('set once the VM has stopped'),
    vmm: z
      .strictObject({
        version: z.string().describe('the tsvmm version'),
        pid: z.number().int().describe('the VMM process'),
        mode: z.enum(['run', 'serve']).describe('run: VM from the command line; serve: configured through the API'),
        accel: z.enum(ACCELS).nullable().describe('the accelerator asked for (null before configuration)'),
      })
      .describe('the VMM process'),
  })
  .describe('the VM and its VMM');
/** The answer of GET /v1/vm. */
export type Description = z.infer<typeof Description>;

/** The answer of the lifecycle verbs. */
export const StateReply = z
  .strictObject({
    state: State,
    exit: ExitInfo.nullable().describe('set when the verb stopped the VM'),
  })
  .describe('the state after the verb');
/** A parsed StateReply. */
export type StateReply = z.infer<typeof StateReply>;

/** The answer of POST /v1/vm/snapshot. */
export const SnapshotReply = z
  .strictObject({
    path: z.string().describe('the snapshot directory, absolute'),
    state: State,
    ms: z.number().int().describe('how long it took; a running VM was paused for this long'),
  })
  .describe('where the snapshot went and the state after it');
/** A parsed SnapshotReply. */
export type SnapshotReply = z.infer<typeof SnapshotReply>;

/** One event of GET /v1/events (the `data:` of a Server-Sent Event; its `event:` is `type`). */
export const VmEventSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('state'), state: State }).describe('the state changed (the first event tells the current state)'),
    z
      .strictObject({ type: z.literal('reboot'), boot: z.number().int(), reason: z.string() })
      .describe('the guest rebooted (or was reset); a fresh machine boots'),
    z
      .strictObject({ type: z.literal('exit'), code: z.number().int(), reason: z.string() })
      .describe('the VM stopped; the stream ends after this event'),
  ])
  .describe('a VM event');

/** An inspect subtree in plain JSON (see inspect-json.ts). */
export const InspectValue = z
  .union([z.record(z.string(), z.unknown()), z.string(), z.number(), z.boolean(), z.null()])
  .describe('objects for nodes, values for leaves; 64-bit values and hex-tagged numbers are strings ("0x...")');

const errorCodes = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

/** The body of every error response. */
export const ErrorResponse = z
  .strictObject({
    error: z.strictObject({
      code: z.enum(errorCodes).describe('stable: clients branch on it'),
      message: z.string().describe('one line for a person'),
      path: z
        .array(z.union([z.string(), z.number().int()]))
        .optional()
        .describe('invalid-body, invalid-config, bad-snapshot-path, invalid-snapshot: the key path of the offending value'),
    }),
  })
  .describe('an error');

/** Every schema the OpenAPI document names, by component name. */
export const COMPONENTS = {
  VmConfig,
  SnapshotRequest,
  RestoreRequest,
  Description,
  StateReply,
  SnapshotReply,
  VmEvent: VmEventSchema,
  InspectValue,
  Error: ErrorResponse,
  ExitInfo,
} as const;

/** A component name of the OpenAPI document. */
export type ComponentName = keyof typeof COMPONENTS;
