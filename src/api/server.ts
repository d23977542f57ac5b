/**
 * The HTTP API server: node:http on a unix socket. It routes requests
 * through the table in routes.ts and turns every failure into a JSON
 * error, so nothing a client sends can crash the VMM or touch the VM
 * unless it is a valid request.
 */
import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { VmmController } from './controller.js';
import { ApiError, oneLine, toApiError } from './errors.js';
import { readJsonBody, sendError, sendJson } from './http.js';
import { buildOpenApi, type JsonObject } from './openapi.js';
import { findRoute } from './routes.js';
import { claimSocketPath, SocketPathError } from './socket-path.js';

/** Options of the API server. */
export interface ApiServerOptions {
  /** The tsvmm version, for the OpenAPI document. */
  readonly version?: string;
  /** Where unexpected handler failures (500s) are reported besides the response. */
  readonly onInternalError?: (err: unknown) => void;
}

/** Builds the request handler (exported for tests that call it without a socket). */
export function apiHandler(controller: VmmController, options: ApiServerOptions = {}) {
  let doc: JsonObject | null = null;
  const openapi = () => (doc ??= buildOpenApi(options.version ?? 'unknown'));
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const { pathname, query } = parseTarget(req.url);
      const found = findRoute(req.method ?? '', pathname);
      if (found === null) throw new ApiError('not-found', `no endpoint at ${pathname} (see GET /openapi.json)`);
      if ('allowed' in found) {
        const allowed = found.allowed.join(', ');
        const e = new ApiError('method-not-allowed', `${req.method} is not allowed on ${pathname} (allowed: ${allowed})`);
        e.headers.allow = allowed;
        throw e;
      }
      const { route } = found;
      // Routes without a body still accept an empty one (or {}); readJsonBody enforces the limits.
      const body = await readJsonBody(req, route.request?.required ?? false);
      const reply = await route.handle({ controller, body, query, openapi, res });
      if (reply !== 'streamed') sendJson(res, reply.status, reply.body);
    } catch (err) {
      const apiErr = toApiError(err);
      if (apiErr.status >= 500) options.onInternalError?.(err);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const headers = { ...apiErr.headers };
      // An unread or oversized body must not be parsed as the next request.
      if (apiErr.code === 'body-too-large' || !req.complete) headers.connection = 'close';
      sendError(res, apiErr, headers);
    }
  };
}

/** Splits the request target; only origin-form targets ("/path?query") are accepted. */
function parseTarget(url: string | undefined): { pathname: string; query: URLSearchParams } {
  if (url === undefined || !url.startsWith('/') || url.startsWith('//')) {
    throw new ApiError('bad-request', `the request target must be a path such as /v1/vm (got ${JSON.stringify(url ?? '')})`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url, 'http://localhost');
  } catch {
    throw new ApiError('bad-request', `the request target ${JSON.stringify(url)} is not a valid path`);
  }
  // A trailing slash names the same resource: /v1/vm/ is /v1/vm.
  const pathname = parsed.pathname.length > 1 ? parsed.pathname.replace(/\/+$/, '') : parsed.pathname;
  return { pathname, query: parsed.searchParams };
}

/** A running API server. */
export interface ApiServer {
  /** The socket path it listens on. */
  readonly path: string;
  /** The node:http server (for tests). */
  readonly server: Server;
  /** Stops listening, ends open connections (event streams) and removes the socket file. */
  close(): Promise<void>;
}

/**
 * Serves the API on a unix socket. Throws SocketPathError (one line) when
 * the path is taken by another live server or is not a socket; a stale
 * socket file is replaced.
 */
export async function listenApi(path: string, controller: VmmController, options: ApiServerOptions = {}): Promise<ApiServer> {
  await claimSocketPath(path);
  const handler = apiHandler(controller, options);
  const server = createServer((req, res) => void handler(req, res));
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // Requests node's parser rejects (bad request line, oversized headers) still get a JSON error.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Bytes after a request that asked to close the connection are dropped, not answered:
    // its response is already on the wire.
    if (!socket.writable || err.code === 'ECONNRESET' || err.code === 'HPE_CLOSED_CONNECTION') return socket.destroy();
    const apiErr =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? new ApiError('headers-too-large', 'the request headers are too large')
        : new ApiError('bad-request', `malformed HTTP request: ${oneLine(err.message)}`);
    const body = `${JSON.stringify(apiErr.body())}\n`;
    const reason = apiErr.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
    socket.end(
      `HTTP/1.1 ${apiErr.status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) =>
      reject(new SocketPathError(e.code === 'EADDRINUSE' ? `${path} is in use by another running VMM` : `${path}: ${e.message}`));
    server.once('error', onError);
    server.listen(path, () => {
      server.off('error', onError);
      resolve();
    });
  });
  // Whoever can connect can stop the VM: only the owner, whatever the umask.
  chmodSync(path, 0o600);
  return {
    path,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // end() lets a last answer (an event stream's exit event) drain; a client that
        // does not hang up in time is cut off.
        for (const s of sockets) s.end();
        setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, 1000).unref();
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      }),
  };
}
