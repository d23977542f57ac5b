/**
 * A client of the API over its unix socket: what `tsvmm ctl` and the tests
 * use. Requests return status and parsed JSON; events() follows the
 * Server-Sent Events stream.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';

/** The VMM could not be reached (no socket, nobody listening, connection lost). */
export class ApiUnreachableError extends Error {
  override name = 'ApiUnreachableError';
}

/** An answer of the API. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  /** The parsed JSON body (undefined when it was empty or not JSON). */
  readonly body: unknown;
  /** The body as text. */
  readonly text: string;
}

/** One Server-Sent Event. */
export interface SseEvent {
  readonly event: string;
  readonly id: string | undefined;
  /** The data line(s), parsed as JSON. */
  readonly data: unknown;
}

/** Options of ApiClient. */
export interface ApiClientOptions {
  /** Gives up on a request after this long (ms); default 10 minutes (configure may build the default guest). */
  readonly timeoutMs?: number;
}

/** Talks to one VMM's API socket. */
export class ApiClient {
  constructor(
    readonly socketPath: string,
    private readonly options: ApiClientOptions = {},
  ) {}

  /** Sends one request; a body is sent as JSON. */
  request(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          socketPath: this.socketPath,
          // A connection per request: a pooled one may belong to a VMM that has gone.
          agent: false,
          method,
          path,
          headers: payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {},
          timeout: this.options.timeoutMs ?? 600_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(new ApiUnreachableError(`the connection to ${this.socketPath} broke: ${e.message}`)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
            } catch {
              parsed = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, text });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.options.timeoutMs ?? 600_000} ms`)));
      req.on('error', (e) => reject(unreachable(this.socketPath, e)));
      req.end(payload);
    });
  }

  /** Follows GET /v1/events until the server ends the stream (after the exit event) or `signal` aborts. */
  async *events(signal?: AbortSignal): AsyncGenerator<SseEvent> {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest({ socketPath: this.socketPath, agent: false, method: 'GET', path: '/v1/events', signal }, resolve);
      req.on('error', (e) => reject(unreachable(this.socketPath, e)));
      req.end();
    });
    if (res.statusCode !== 200) {
      res.resume();
      throw new ApiUnreachableError(`GET /v1/events answered ${res.statusCode}`);
    }
    const parser = new SseParser();
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        for (const e of parser.push(chunk.toString('utf8'))) yield e;
      }
    } catch (e) {
      if ((e as Error).name === 'AbortError') return;
      throw unreachable(this.socketPath, e as Error);
    }
  }
}

function unreachable(path: string, e: Error): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new ApiUnreachableError(`${path}: no such socket (is the VMM running with --api-socket ${path}?)`);
  if (code === 'ECONNREFUSED') return new ApiUnreachableError(`${path}: nobody is listening (the VMM has exited)`);
  if (code === 'EPIPE' || code === 'ECONNRESET') return new ApiUnreachableError(`${path}: the VMM closed the connection`);
  return new ApiUnreachableError(`${path}: ${e.message}`);
}

/** Splits a text/event-stream into events (comments and retry fields are skipped). */
export class SseParser {
  private buffer = '';

  /** Feeds text; returns the events it completed. */
  push(text: string): SseEvent[] {
    this.buffer += text.replace(/\r\n?/g, '\n');
    const out: SseEvent[] = [];
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = 'message';
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'id') id = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length === 0) continue;
      let parsed: unknown = data.join('\n');
      try {
        parsed = JSON.parse(parsed as string) as unknown;
      } catch {
        // not JSON: keep the text
      }
      out.push({ event, id, data: parsed });
    }
    return out;
  }
}
