/**
 * Renders the OpenAPI document as docs/api.md: every endpoint with its
 * bodies, examples and errors, the error codes, and the schemas as field
 * tables. The file is committed; a test renders the document the server
 * serves and compares, so the docs cannot go stale. Regenerate with
 * `npm run build && node dist/src/api/api-docs.js > docs/api.md`.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildOpenApi, type JsonObject } from './openapi.js';

type Schema = JsonObject;

const INTRO = `# tsvmm management API

<!-- Generated from the OpenAPI document (GET /openapi.json) by src/api/api-docs.ts; do not edit by hand.
     Regenerate: npm run build && node dist/src/api/api-docs.js > docs/api.md -->

One VMM process runs one VM. Its HTTP API listens on a unix socket:

- \`tsvmm run --api-socket PATH [flags]\` starts the VM from the command line and serves the API beside it;
- \`tsvmm serve --api-socket PATH\` starts with no VM: configure it with \`PUT /v1/vm\` (the same schema as
  \`tsvmm run --config\`), then \`POST /v1/vm/start\`, as Firecracker does; or continue a snapshot with
  \`PUT /v1/vm/restore\`. When the VM stops, the process exits with the VM's exit code (DESIGN.md), as
  \`tsvmm run\` does.

\`\`\`sh
curl --unix-socket vm.sock http://localhost/v1/vm                 # describe
curl --unix-socket vm.sock -X POST http://localhost/v1/vm/pause   # pause
curl --unix-socket vm.sock -N http://localhost/v1/events          # follow events
tsvmm ctl vm.sock pause                                           # the same, from the CLI
\`\`\`

Conventions:

- The version is in the path (\`/v1/...\`); fields may be added to answers within v1, never removed or renamed.
- Bodies are JSON with \`Content-Type: application/json\`, at most 64 KiB; unknown keys are refused.
- Errors are \`{"error": {"code": "...", "message": "..."}}\`: \`code\` is stable (see [Error codes](#error-codes)),
  \`message\` is one line for a person. 4xx means the request was wrong and changed nothing; 5xx means the VMM failed.
- A socket path where another live VMM answers is refused (\`tsvmm\` exits with 2); a stale socket file is replaced.
- The JSON Schema of the VM configuration is \`components.schemas.VmConfig\` of \`GET /openapi.json\`;
  \`tsvmm run --print-schema\` prints it too.
`;

const esc = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const anchor = (name: string) => name.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-');

/** A short type name for a schema: `integer`, `"a" \| "b"`, `[Name](#name)`, `array of ...`. */
function typeOf(s: Schema): string {
  if (typeof s.$ref === 'string') {
    const name = s.$ref.split('/').pop()!;
    return `[${name}](#${anchor(name)})`;
  }
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (Array.isArray(s.enum)) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' | ');
  const alts = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (alts) return alts.map(typeOf).join(' or ');
  if (s.type === 'array') return `array of ${typeOf((s.items as Schema | undefined) ?? {})}`;
  if (s.type === 'object') return variantName(s);
  if (typeof s.type === 'string') return s.format ? `${s.type} (${s.format})` : s.type;
  return 'any JSON';
}

// An object variant of a union is named by its discriminating constant, e.g. `object (mode "user")`.
function variantName(s: Schema): string {
  const props = (s.properties ?? {}) as Record<string, Schema>;
  const tag = Object.entries(props).find(([, p]) => p.const !== undefined);
  return tag ? `object (${tag[0]} ${JSON.stringify(tag[1].const)})` : 'object';
}

function constraints(s: Schema): string {
  const out: string[] = [];
  if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) out.push(`≤ ${s.maximum}`);
  if (s.multipleOf !== undefined) out.push(`multiple of ${s.multipleOf}`);
  if (s.minLength !== undefined && s.minLength !== 1) out.push(`at least ${s.minLength} characters`);
  if (s.pattern !== undefined && s.format === undefined) out.push(`matches \`${s.pattern}\``);
  return out.join(', ');
}

/** Field rows of an object schema, nested objects and arrays of objects flattened as `a.b`, `list[].c`. */
function fieldRows(s: Schema, prefix: string): string[] {
  const props = (s.properties ?? {}) as Record<string, Schema>;
  const required = new Set((s.required ?? []) as string[]);
  const rows: string[] = [];
  for (const [name, p] of Object.entries(props)) {
    const full = `${prefix}${name}`;
    const def = p.default === undefined ? (required.has(name) ? 'required' : 'optional') : `\`${JSON.stringify(p.default)}\``;
    const notes = [p.description as string | undefined, constraints(p)].filter((x) => x).join('; ');
    rows.push(`| \`${full}\` | ${esc(typeOf(p))} | ${def} | ${esc(notes)} |`);
    rows.push(...nestedRows(p, full));
  }
  return rows;
}

function nestedRows(p: Schema, name: string): string[] {
  if (p.type === 'object' && p.properties) return fieldRows(p, `${name}.`);
  const alts = (p.oneOf ?? p.anyOf) as Schema[] | undefined;
  if (alts) return alts.filter((a) => a.type === 'object' && a.properties).flatMap((a) => fieldRows(a, `${name}(${variantName(a).slice(8, -1)}).`));
  if (p.type === 'array' && p.items) return nestedRows(p.items as Schema, `${name}[]`);
  return [];
}

function schemaSection(name: string, s: Schema): string {
  const lines = [`### ${name}`, '', `${s.description ?? ''}`.trim(), ''];
  const alts = (s.oneOf ?? s.anyOf) as Schema[] | undefined;
  const header = ['| field | type | required or default | description |', '|---|---|---|---|'];
  if (s.type === 'object' && s.properties) lines.push(...header, ...fieldRows(s, ''), '');
  else if (alts) {
    for (const a of alts) {
      lines.push(`One of: ${typeOf(a)}${a.description ? ` — ${a.description}` : ''}`, '');
      if (a.type === 'object' && a.properties) lines.push(...header, ...fieldRows(a, ''), '');
    }
  }
  lines.push('<details><summary>JSON Schema</summary>', '', '```json', JSON.stringify(s, null, 2), '```', '', '</details>', '');
  return lines.filter((l, i, all) => !(l === '' && all[i - 1] === '')).join('\n');
}

function json(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

type ErrorTable = Record<string, { status: number; when: string }>;

function endpointSection(path: string, method: string, op: JsonObject, codes: ErrorTable): string {
  const m = method.toUpperCase();
  const lines = [`### ${m} ${path}`, '', `**${op.summary as string}.** ${op.description as string}`, ''];
  const params = (op.parameters ?? []) as JsonObject[];
  for (const p of params) lines.push(`- ${p.in} parameter \`${p.name as string}\`${p.required ? ' (required)' : ''}: ${p.description as string}`);
  if (params.length > 0) lines.push('');
  const body = op.requestBody as { required: boolean; content: Record<string, { schema: Schema; example: unknown }> } | undefined;
  const curlBody = body ? ` -H 'Content-Type: application/json' -d '${JSON.stringify(body.content['application/json']!.example)}'` : '';
  const query = params.find((p) => p.in === 'query');
  const target = `${path}${query ? `?${query.name as string}=${query.example as string}` : ''}`.replace('{id}', 'disk0');
  const streams = Object.keys(((op.responses as Record<string, { content?: object }>)[op['x-answer'] as string]?.content) ?? {}).includes('text/event-stream');
  const flags = `${m === 'GET' ? '' : ` -X ${m}`}${streams ? ' -N' : ''}${curlBody}`;
  lines.push('```sh', `curl --unix-socket vm.sock${flags} http://localhost${target}`, '```', '');
  if (body) {
    const b = body.content['application/json']!;
    lines.push(`Request body (${body.required ? 'required' : 'optional'}): ${typeOf(b.schema)}`, '', '```json', json(b.example), '```', '');
  }
  const responses = op.responses as Record<string, { description: string; content?: Record<string, { schema: Schema; example?: unknown }> }>;
  const okStatus = op['x-answer'] as string;
  const ok = responses[okStatus]!;
  const [type, content] = Object.entries(ok.content ?? {})[0] ?? ['', undefined];
  lines.push(`Answer ${okStatus}: ${ok.description}${content ? ` — \`${type}\` ${type === 'application/json' ? typeOf(content.schema) : ''}` : ''}`.trimEnd(), '');
  if (content?.example !== undefined) lines.push('```' + (type === 'application/json' ? 'json' : 'text'), json(content.example).trimEnd(), '```', '');
  const particular = (op['x-errors'] ?? []) as string[];
  if (particular.length > 0) {
    lines.push('| status | error code | when |', '|---|---|---|');
    for (const c of particular) lines.push(`| ${codes[c]!.status} | \`${c}\` | ${esc(codes[c]!.when)} |`);
    lines.push('');
  }
  return lines.join('\n');
}

/** The whole of docs/api.md for an OpenAPI document. */
export function renderApiDocs(doc: JsonObject): string {
  const paths = doc.paths as Record<string, Record<string, JsonObject>>;
  const out = [INTRO, '## Endpoints', '', '| method | path | what |', '|---|---|---|'];
  for (const [path, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const title = `${method.toUpperCase()} ${path}`;
      out.push(`| ${method.toUpperCase()} | [\`${path}\`](#${anchor(title)}) | ${esc(op.summary as string)} |`);
    }
  }
  const codes = doc['x-error-codes'] as ErrorTable;
  const common = (doc['x-common-errors'] as string[]).map((c) => `\`${c}\``).join(', ');
  out.push('', `Besides the errors listed under each endpoint, any request may be answered with ${common} (see [Error codes](#error-codes)).`, '');
  for (const [path, ops] of Object.entries(paths)) for (const [method, op] of Object.entries(ops)) out.push(endpointSection(path, method, op, codes));
  out.push('## Error codes', '', '| code | status | when |', '|---|---|---|');
  for (const [code, e] of Object.entries(codes)) out.push(`| \`${code}\` | ${e.status} | ${esc(e.when)} |`);
  out.push('', '## Schemas', '');
  for (const [name, s] of Object.entries((doc.components as { schemas: Record<string, Schema> }).schemas)) out.push(schemaSection(name, s));
  return `${out.join('\n').trimEnd()}\n`;
}

function isEntryPoint(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) process.stdout.write(renderApiDocs(buildOpenApi('docs')));
