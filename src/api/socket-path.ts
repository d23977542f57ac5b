/**
 * Taking a unix socket path for a server: a path where another live server
 * answers is refused, a stale socket file (its server died) is replaced,
 * anything that is not a socket is left alone.
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { createConnection } from 'node:net';

/** The path cannot be used; `message` is one line. */
export class SocketPathError extends Error {
  override name = 'SocketPathError';
}

/** True when something accepts connections on `path`. */
export function socketAnswers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    const done = (live: boolean) => {
      clearTimeout(timer);
      c.destroy();
      resolve(live);
    };
    // A server too busy to accept within the timeout still owns the path.
    const timer = setTimeout(() => done(true), timeoutMs);
    c.once('connect', () => done(true));
    c.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'EAGAIN'));
  });
}

/** Makes `path` free for listen(): throws SocketPathError when it is in use or not a socket. */
export async function claimSocketPath(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw new SocketPathError(`${path} exists and is not a socket`);
  if (await socketAnswers(path)) throw new SocketPathError(`${path} is in use by another running VMM`);
  try {
    unlinkSync(path); // stale: its server is gone
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new SocketPathError(`${path}: ${(e as Error).message}`);
  }
}
