/**
 * Every endpoint of the API in one table: method, path, what it does, its
 * bodies and errors (the OpenAPI document is generated from this table and
 * schemas.ts) and the handler. Handlers parse and format; the controller
 * does the work.
 */
import type { ServerResponse } from 'node:http';
import { parseConfigPart } from '../vm/config.js';
import { VERBS, type VmmController, type Verb } from './controller.js';
import { ApiError, toApiError, type ErrorCode } from './errors.js';
import { RestoreRequest, SnapshotRequest, type ComponentName } from './schemas.js';
import { streamEvents } from './sse.js';

/** What a handler gets. */
export interface RouteContext {
  readonly controller: VmmController;
  /** The parsed JSON body (undefined when there was none). */
  readonly body: unknown;
  readonly query: URLSearchParams;
  /** The OpenAPI document, for GET /openapi.json. */
  readonly openapi: () => unknown;
  /** The raw response, for streaming endpoints (they answer themselves and return "streamed"). */
  readonly res: ServerResponse;
}

/** A handler's answer: a status and a JSON body, or "streamed" when it wrote the response itself. */
export type RouteReply = { readonly status: number; readonly body: unknown } | 'streamed';

/** One endpoint. */
export interface Route {
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** The path; a `{name}` segment matches any one segment. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description: string;
  /** The JSON body it takes; `required: false` means an empty body is fine too. */
  readonly request?: { readonly schema: ComponentName; readonly required: boolean; readonly example: unknown };
  readonly query?: readonly { readonly name: string; readonly description: string; readonly example: string }[];
  readonly response: {
    readonly status: number;
    readonly description: string;
    /** A component, or a content type other than JSON (the events stream). */
    readonly schema: ComponentName | 'text/event-stream' | 'OpenAPI';
    readonly example?: unknown;
  };
  /** The error codes particular to this endpoint (every endpoint may also answer the common ones). */
  readonly errors: readonly ErrorCode[];
  readonly handle: (ctx: RouteContext) => RouteReply | Promise<RouteReply>;
}

/** Errors any endpoint may answer (every endpoint reads a body, if one is sent, within the same limits). */
export const COMMON_ERRORS: readonly ErrorCode[] = [
  'bad-request', 'malformed-json', 'body-too-large', 'headers-too-large', 'unsupported-media-type', 'not-found', 'method-not-allowed', 'internal-error',
];

const ok = (body: unknown): RouteReply => ({ status: 200, body });

const exampleConfig = { memory: 268435456, cpus: 1, accel: 'emu', kernel: '/srv/vm/bzImage', cmdline: 'console=ttyS0' };

const VERB_DOCS: Record<Verb, { summary: string; description: string; state: string }> = {
  start: {
    summary: 'Start the VM',
    description: 'Builds the machine and boots the guest. Valid in state created (serve mode, after PUT /v1/vm).',
    state: 'running',
  },
  pause: {
    summary: 'Pause every vCPU',
    description: 'Answers once no vCPU runs. Devices keep their state; timers fire (late) after resume. Valid while running.',
    state: 'paused',
  },
  resume: { summary: 'Resume a paused VM', description: 'Valid while paused.', state: 'running' },
  reset: {
    summary: 'Hard reset',
    description: 'Rebuilds the machine and boots again, as a guest reboot does (with noReboot the VM stops instead). Valid while running or paused.',
    state: 'running',
  },
  shutdown: {
    summary: 'Press the ACPI power button',
    description:
      'The guest decides what to do (a Linux guest with the ACPI button driver and a handler powers off; the VM then stops with exit code 0). Answers at once; follow GET /v1/events for the exit. Valid while running or paused.',
    state: 'running',
  },
  stop: {
    summary: 'Stop the VM at once',
    description: 'No guest shutdown (as pulling the plug); answers once the VM has stopped. The process then exits with code 0.',
    state: 'stopped',
  },
  nmi: {
    summary: 'Send an NMI to vCPU 0',
    description: 'Delivers a non-maskable interrupt through the local APIC of vCPU 0 (Linux logs it, or panics with unknown_nmi_panic). Valid while running or paused.',
    state: 'running',
  },
};

function verbRoute(verb: Verb): Route {
  const doc = VERB_DOCS[verb];
  return {
    method: 'POST',
    path: `/v1/vm/${verb}`,
    operationId: `${verb}Vm`,
    summary: doc.summary,
    description: `${doc.description} Takes no body (an empty JSON object is accepted).`,
    response: {
      status: 200,
      description: 'the state after the verb',
      schema: 'StateReply',
      example: { state: doc.state, exit: verb === 'stop' ? { code: 0, reason: 'stopped through the API' } : null },
    },
    errors: ['invalid-body', 'not-configured', 'invalid-state', ...(verb === 'start' ? (['vm-failed'] as const) : [])],
    handle: async ({ controller, body }) => {
      if (body !== undefined && !isEmptyObject(body)) throw new ApiError('invalid-body', `${verb} takes no body (or {})`, []);
      return ok(await controller.verb(verb));
    },
  };
}

function isEmptyObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
}

function hotplugRoute(method: 'POST' | 'DELETE', kind: 'disks' | 'nets'): Route {
  const what = kind === 'disks' ? 'disk' : 'network device';
  return {
    method,
    path: method === 'POST' ? `/v1/vm/${kind}` : `/v1/vm/${kind}/{id}`,
    operationId: `${method === 'POST' ? 'add' : 'remove'}${kind === 'disks' ? 'Disk' : 'Net'}`,
    summary: `${method === 'POST' ? 'Add' : 'Remove'} a ${what} (not supported)`,
    description: `Hot-plug is not supported: ${kind} are part of the configuration given before start. Always answers 409 hotplug-unsupported.`,
    response: {
      status: 409,
      description: 'never succeeds',
      schema: 'Error',
      example: { error: { code: 'hotplug-unsupported', message: `hot-plug is not supported: ${kind} are fixed when the VM is configured` } },
    },
    errors: ['hotplug-unsupported'],
    handle: () => {
      throw new ApiError('hotplug-unsupported', `hot-plug is not supported: ${kind} are fixed when the VM is configured`);
    },
  };
}

/** The API, in the order docs/api.md lists it. */
export const ROUTES: readonly Route[] = [
  {
    method: 'GET',
    path: '/v1/vm',
    operationId: 'describeVm',
    summary: 'Describe the VM',
    description: 'State, configuration (defaults filled in), boots, exit, and the VMM process.',
    response: {
      status: 200,
      description: 'the VM',
      schema: 'Description',
      example: {
        state: 'running',
        config: { ...exampleConfig, disks: [], nets: [], serial: { mode: 'stdio' }, debugExit: false, noReboot: false },
        boots: 1,
        exit: null,
        vmm: { version: '0.1.0', pid: 4242, mode: 'serve', accel: 'emu' },
      },
    },
    errors: [],
    handle: ({ controller }) => ok(controller.describe()),
  },
  {
    method: 'PUT',
    path: '/v1/vm',
    operationId: 'configureVm',
    summary: 'Configure the VM (serve mode)',
    description:
      'Gives a `tsvmm serve` VMM its VM: the body is the same schema as `tsvmm run --config` (unknown keys are refused). Files are checked and the default guest is built (when no kernel is given) before it answers. The VM then waits in state created until POST /v1/vm/start. Only once per process.',
    request: { schema: 'VmConfig', required: true, example: exampleConfig },
    response: { status: 200, description: 'the configured VM (state created)', schema: 'Description' },
    errors: ['invalid-body', 'invalid-config', 'already-configured', 'guest-unavailable', 'vm-failed'],
    handle: async ({ controller, body }) => ok(await controller.configure(body)),
  },
  ...VERBS.map(verbRoute),
  {
    method: 'GET',
    path: '/v1/vm/inspect',
    operationId: 'inspectVm',
    summary: 'Read the inspect tree',
    description: 'The VM\'s state and counters (vCPUs, devices, buses, memory) as JSON; `path` selects a subtree.',
    query: [{ name: 'path', description: 'slash-separated node names, e.g. machine/vcpus/0 (default: the whole tree)', example: 'machine/vcpus/0' }],
    response: {
      status: 200,
      description: 'the subtree',
      schema: 'InspectValue',
      example: { rip: '0xffffffff81e3c4a2', mode: 'long (64-bit)', cpl: 0, halted: true, waitingForSipi: false, instructions: 183742211 },
    },
    errors: ['not-configured', 'no-such-node'],
    handle: ({ controller, query }) => ok(controller.inspect(query.get('path') ?? '')),
  },
  {
    method: 'POST',
    path: '/v1/vm/snapshot',
    operationId: 'snapshotVm',
    summary: 'Write a snapshot',
    description:
      'Writes the VM (device and CPU state, guest memory, a versioned manifest) to a directory; restore it with `tsvmm run --restore DIR`, or into a `tsvmm serve` VMM with PUT /v1/vm/restore. A running VM is paused for the snapshot and resumed after it, also when it fails; a paused VM stays paused.',
    request: { schema: 'SnapshotRequest', required: true, example: { path: '/var/lib/tsvmm/snap1' } },
    response: { status: 200, description: 'the snapshot was written', schema: 'SnapshotReply', example: { path: '/var/lib/tsvmm/snap1', state: 'running', ms: 412 } },
    errors: ['invalid-body', 'bad-snapshot-path', 'not-configured', 'invalid-state', 'snapshot-failed'],
    handle: async ({ controller, body }) => {
      let request: SnapshotRequest;
      try {
        request = parseConfigPart(SnapshotRequest, body);
      } catch (e) {
        throw toApiError(e, 'invalid-body');
      }
      return ok(await controller.snapshot(request.path));
    },
  },
  {
    method: 'PUT',
    path: '/v1/vm/restore',
    operationId: 'restoreVm',
    summary: 'Restore the VM from a snapshot (serve mode)',
    description:
      'Gives a `tsvmm serve` VMM its VM from a snapshot directory instead of a configuration, as `tsvmm run --restore DIR` does: the configuration, device and CPU state and guest memory come from the snapshot, and the guest continues where it was. With `resume` it runs at once; otherwise it waits paused for POST /v1/vm/resume, having run no guest instruction. The console goes where the snapshot\'s configuration says (`serial`). Only before a VM is configured, once per process.',
    request: { schema: 'RestoreRequest', required: true, example: { dir: '/var/lib/tsvmm/snap1', resume: true } },
    response: { status: 200, description: 'the restored VM (state running with resume, else paused)', schema: 'Description' },
    errors: ['invalid-body', 'invalid-snapshot', 'already-configured', 'vm-failed'],
    handle: async ({ controller, body }) => {
      let request: RestoreRequest;
      try {
        request = parseConfigPart(RestoreRequest, body);
      } catch (e) {
        throw toApiError(e, 'invalid-body');
      }
      return ok(await controller.restore(request));
    },
  },
  hotplugRoute('POST', 'disks'),
  hotplugRoute('DELETE', 'disks'),
  hotplugRoute('POST', 'nets'),
  hotplugRoute('DELETE', 'nets'),
  {
    method: 'GET',
    path: '/v1/events',
    operationId: 'streamEvents',
    summary: 'Follow the VM\'s events',
    description:
      'Server-Sent Events: each event has `event:` (its type), `id:` and one `data:` line with the VmEvent as JSON. The first event is the current state; the stream ends after the exit event. In serve mode before configuration it waits. A comment line is sent every 15 s.',
    response: {
      status: 200,
      description: 'an event stream',
      schema: 'text/event-stream',
      example: 'event: state\nid: 1\ndata: {"type":"state","state":"running"}\n\nevent: exit\nid: 2\ndata: {"type":"exit","code":0,"reason":"the guest powered off"}\n\n',
    },
    errors: [],
    handle: ({ controller, res }) => {
      streamEvents(res, controller);
      return 'streamed';
    },
  },
  {
    method: 'GET',
    path: '/openapi.json',
    operationId: 'openapi',
    summary: 'This API as an OpenAPI 3.1 document',
    description: 'Includes the JSON Schema of the VM configuration (components.schemas.VmConfig), as `tsvmm run --print-schema` prints it.',
    response: { status: 200, description: 'the document', schema: 'OpenAPI' },
    errors: [],
    handle: ({ openapi }) => ok(openapi()),
  },
];

/** Splits a path into segments; `{name}` segments of a route match anything. */
function matches(route: Route, segments: readonly string[]): boolean {
  const want = route.path.split('/');
  return want.length === segments.length && want.every((w, i) => (w.startsWith('{') && w.endsWith('}') ? segments[i] !== '' : w === segments[i]));
}

/** The route for a method and path; `null` with the allowed methods when only the method is wrong. */
export function findRoute(method: string, path: string): { route: Route } | { allowed: string[] } | null {
  const segments = path.split('/');
  const candidates = ROUTES.filter((r) => matches(r, segments));
  if (candidates.length === 0) return null;
  const route = candidates.find((r) => r.method === method);
  return route ? { route } : { allowed: candidates.map((r) => r.method) };
}
