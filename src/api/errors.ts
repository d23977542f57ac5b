/**
 * The API's errors: one stable code per kind of mistake or failure, each
 * with its HTTP status, and the mapping from the errors the VM and config
 * layers throw. Clients branch on `code`, never on `message`.
 *
 * DEVNOTE: the table below is also the "Error codes" section of
 * docs/api.md (rendered from the OpenAPI document), so a new code is
 * documented by adding it here.
 */
import { ConfigError, formatConfigPath, type ConfigPath } from '../vm/config.js';
import { VmStateError } from '../vm/vm.js';

/** Every error code the API answers with, its status and when it happens. */
export const ERROR_CODES = {
  'bad-request': { status: 400, when: 'the request line, a header or a query parameter is malformed' },
  'malformed-json': { status: 400, when: 'the body is not valid JSON' },
  'invalid-body': { status: 400, when: 'the body is JSON but does not match the schema (`path` names the offending key)' },
  'invalid-config': {
    status: 400,
    when: 'the VM configuration is invalid, or names a file that cannot be used (`path` names the key)',
  },
  'bad-snapshot-path': { status: 400, when: 'the snapshot directory cannot be created or written (the VM was not paused)' },
  'invalid-snapshot': {
    status: 400,
    when: 'the directory holds no snapshot this VMM can restore: missing, corrupt, from a newer tsvmm or another backend, or naming disks or networks that cannot be opened',
  },
  'not-found': { status: 404, when: 'no endpoint has this path' },
  'no-such-node': { status: 404, when: 'the inspect path names no node of the tree' },
  'method-not-allowed': { status: 405, when: 'the endpoint exists but not with this method (see the Allow header)' },
  'not-configured': { status: 409, when: '`serve` mode: no VM has been configured yet (PUT /v1/vm first)' },
  'already-configured': {
    status: 409,
    when: 'PUT /v1/vm or PUT /v1/vm/restore on a VMM that already has its VM (one VMM process runs one VM)',
  },
  'invalid-state': { status: 409, when: 'the verb is not valid in the current state, e.g. resume while running' },
  'hotplug-unsupported': { status: 409, when: 'disks and NICs cannot be added or removed while the VMM runs' },
  'body-too-large': { status: 413, when: 'the body is larger than the limit (64 KiB)' },
  'headers-too-large': { status: 431, when: 'the request headers are larger than the HTTP parser accepts' },
  'unsupported-media-type': { status: 415, when: 'a body was sent without `Content-Type: application/json`' },
  'internal-error': { status: 500, when: 'a bug in the VMM; the message says what failed' },
  'vm-failed': { status: 500, when: 'the VMM could not build or start the machine' },
  'guest-unavailable': { status: 500, when: 'the default guest could not be built on this host' },
  'snapshot-failed': { status: 500, when: 'writing the snapshot failed (the VM is left as it was)' },
} as const;

/** A stable error code (see ERROR_CODES). */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The `error` member of every error response. */
export interface ErrorInfo {
  readonly code: ErrorCode;
  /** One line for a person. */
  readonly message: string;
  /** For invalid-body, invalid-config and the snapshot path errors: the key path of the offending value. */
  readonly path?: readonly (string | number)[];
}

/** An error the API reports to its client; thrown by handlers, turned into a response by the server. */
export class ApiError extends Error {
  override name = 'ApiError';
  /** The HTTP status (from ERROR_CODES). */
  readonly status: number;
  /** Extra response headers (Allow for method-not-allowed). */
  readonly headers: Record<string, string> = {};

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly path?: ConfigPath,
    options?: ErrorOptions,
  ) {
    super(oneLine(message), options);
    this.status = ERROR_CODES[code].status;
  }

  /** The response body. */
  body(): { error: ErrorInfo } {
    return { error: { code: this.code, message: this.message, ...(this.path ? { path: [...this.path] } : {}) } };
  }
}

/** Messages are one line: clients print them as is. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Maps what a handler threw to an ApiError: state conflicts become 409,
 * config mistakes 400 (`configCode` says which body was invalid), anything
 * else is a VMM failure (500, internal-error).
 */
export function toApiError(err: unknown, configCode: 'invalid-body' | 'invalid-config' = 'invalid-body'): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof VmStateError) return new ApiError('invalid-state', err.message, undefined, { cause: err });
  if (err instanceof ConfigError) {
    const message = configCode === 'invalid-body' ? `${formatBodyPath(err.path)}: ${err.found} (expected ${err.expected})` : err.message;
    return new ApiError(configCode, message, err.path, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError('internal-error', message || 'unknown error', undefined, { cause: err });
}

// ConfigError names the root "config"; in other bodies "body" reads better.
function formatBodyPath(path: ConfigPath): string {
  return path.length === 0 ? 'body' : formatConfigPath(path);
}
