/**
 * The HTTP plumbing of the API server: reading a JSON body within limits
 * (size, content type, syntax) and writing JSON answers. Everything a
 * client can get wrong here becomes an ApiError with a 4xx status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './errors.js';

/** Largest request body accepted (a VmConfig is a few hundred bytes). */
export const MAX_BODY_BYTES = 64 * 1024;

/** True when the request says its body is JSON (parameters such as charset=utf-8 allowed). */
function isJson(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  return typeof type === 'string' && /^application\/json\s*(;.*)?$/i.test(type.trim());
}

/** Reads the raw body, refusing more than MAX_BODY_BYTES (413) as soon as it is known. */
async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) {
    throw new ApiError('body-too-large', `the body is ${declared} bytes; at most ${MAX_BODY_BYTES} are accepted`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ApiError('body-too-large', `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Reads a JSON body. `required`: a body must be present (PUT /v1/vm);
 * otherwise an empty body reads as undefined. A body needs
 * `Content-Type: application/json` (415 without it).
 */
export async function readJsonBody(req: IncomingMessage, required: boolean): Promise<unknown> {
  const raw = await readRaw(req);
  if (raw.length === 0) {
    if (required) throw new ApiError('invalid-body', 'a JSON body is required', []);
    return undefined;
  }
  if (!isJson(req)) {
    const type = req.headers['content-type'];
    throw new ApiError(
      'unsupported-media-type',
      `the body must be JSON with Content-Type: application/json (got ${type === undefined ? 'no Content-Type' : JSON.stringify(type)})`,
    );
  }
  const text = raw.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ApiError('malformed-json', `the body is not valid JSON: ${(e as Error).message}`);
  }
}

/** Serializes for the wire; bigints (should one slip through) become strings rather than throwing. */
export function toJsonText(value: unknown, pretty = false): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), pretty ? 2 : undefined);
}

/** Sends a JSON answer and ends the response. */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = `${toJsonText(value)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/** Sends an ApiError as `{ "error": { code, message[, path] } }`. */
export function sendError(res: ServerResponse, err: ApiError, headers: Record<string, string> = {}): void {
  sendJson(res, err.status, err.body(), headers);
}
