/**
 * The OpenAPI 3.1 document of the API (GET /openapi.json): the paths come
 * from the route table, the schemas from the zod schemas the server
 * validates with (z.toJSONSchema), the error codes from errors.ts.
 * docs/api.md is rendered from this same document (api-docs.ts).
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import { COMMON_ERRORS, ROUTES, type Route } from './routes.js';
import { COMPONENTS } from './schemas.js';

/** A JSON object (the document is plain JSON). */
export type JsonObject = { [key: string]: unknown };

/** Where the API is served, for the document's `servers` entry. */
const SOCKET_NOTE =
  'The API listens on a unix socket (`tsvmm run --api-socket PATH` or `tsvmm serve --api-socket PATH`); ' +
  'e.g. `curl --unix-socket PATH http://localhost/v1/vm`.';

/**
 * The "what it accepts" phrase a config schema carries as its error
 * message (src/vm/config.ts), used as the description of schema nodes
 * that have none, so the VmConfig documentation comes from the schema.
 */
function acceptsPhrase(schema: z.core.$ZodType): string | undefined {
  const error = (schema._zod.def as { error?: (issue: unknown) => unknown }).error;
  if (typeof error !== 'function') return undefined;
  try {
    const text = error({ code: 'invalid_type', input: undefined });
    return typeof text === 'string' ? text : undefined;
  } catch {
    return undefined;
  }
}

/** components.schemas: every schema of schemas.ts, cross-referenced by $ref. */
function componentSchemas(): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(COMPONENTS)) registry.add(schema, { id });
  const out = z.toJSONSchema(registry, {
    io: 'input',
    uri: (id) => `#/components/schemas/${id}`,
    override: (ctx) => {
      const json = ctx.jsonSchema as JsonObject;
      // z.number().int() states the safe-integer range; it says nothing to a reader.
      if (json.minimum === Number.MIN_SAFE_INTEGER) delete json.minimum;
      if (json.maximum === Number.MAX_SAFE_INTEGER) delete json.maximum;
      if (json.description === undefined && json.$ref === undefined) {
        const phrase = acceptsPhrase(ctx.zodSchema);
        if (phrase !== undefined) json.description = phrase;
      }
    },
  });
  const schemas: Record<string, JsonObject> = {};
  for (const [id, schema] of Object.entries(out.schemas)) {
    // Components are embedded in the document: their own $schema/$id would only confuse tools.
    const { $schema: _s, $id: _i, ...rest } = schema as JsonObject;
    schemas[id] = rest;
  }
  return schemas;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function errorResponses(codes: readonly ErrorCode[]): JsonObject {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: JsonObject = {};
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const first = list[0]!;
    out[String(status)] = {
      description: list.map((c) => `${c}: ${ERROR_CODES[c].when}`).join('; '),
      content: {
        'application/json': {
          schema: ref('Error'),
          example: { error: { code: first, message: exampleMessage(first) } },
        },
      },
    };
  }
  return out;
}

function exampleMessage(code: ErrorCode): string {
  switch (code) {
    case 'invalid-state':
      return 'cannot resume a VM that is running';
    case 'invalid-config':
      return 'cpus: 0 is not accepted (expected an integer from 1 to 255)';
    case 'not-found':
      return 'no endpoint at /v1/vm/explode';
    default:
      return ERROR_CODES[code].when.replace(/\s*\(.*\)$/, '');
  }
}

function operation(route: Route): JsonObject {
  const codes = [...new Set([...route.errors, ...COMMON_ERRORS])];
  const { status, description, schema, example } = route.response;
  const success: JsonObject =
    schema === 'text/event-stream'
      ? { description, content: { 'text/event-stream': { schema: { type: 'string' }, example } } }
      : schema === 'OpenAPI'
        ? { description, content: { 'application/json': { schema: { type: 'object' } } } }
        : { description, content: { 'application/json': { schema: ref(schema), ...(example === undefined ? {} : { example }) } } };
  const params = [
    ...(route.query ?? []).map((q) => ({ name: q.name, in: 'query', required: false, description: q.description, schema: { type: 'string' }, example: q.example })),
    ...(route.path.includes('{id}') ? [{ name: 'id', in: 'path', required: true, description: 'the device id', schema: { type: 'string' } }] : []),
  ];
  const errors = errorResponses(codes.filter((c) => ERROR_CODES[c].status !== status));
  return {
    operationId: route.operationId,
    summary: route.summary,
    description: route.description,
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(route.request
      ? {
          requestBody: {
            required: route.request.required,
            content: { 'application/json': { schema: ref(route.request.schema), example: route.request.example } },
          },
        }
      : {}),
    responses: { [String(status)]: success, ...errors },
    // The codes particular to this endpoint (docs list the common ones once), and which
    // response is the answer (JSON orders numeric keys, so the first is not necessarily it).
    'x-errors': [...route.errors],
    'x-answer': String(status),
  };
}

/** Builds the document; `version` is the tsvmm version it describes. */
export function buildOpenApi(version: string): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const route of ROUTES) {
    paths[route.path] = { ...(paths[route.path] ?? {}), [route.method.toLowerCase()]: operation(route) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'tsvmm management API',
      version,
      description:
        `Manage one VM per VMM process: describe it, drive its lifecycle, read its inspect tree, snapshot it and follow its events. ${SOCKET_NOTE} ` +
        'Bodies are JSON (`Content-Type: application/json`, at most 64 KiB). Errors are `{"error": {"code", "message"}}` with a stable code: 4xx for the client\'s mistakes, 5xx only for VMM failures.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: 'http://localhost', description: 'over the unix socket given with --api-socket' }],
    paths,
    components: { schemas: componentSchemas() },
    'x-common-errors': [...COMMON_ERRORS],
    'x-error-codes': Object.fromEntries(Object.entries(ERROR_CODES).map(([code, e]) => [code, { status: e.status, when: e.when }])),
  };
}
