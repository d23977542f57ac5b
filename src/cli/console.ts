/**
 * Where the guest's serial console goes: this process's terminal (raw mode
 * on a TTY, so Ctrl-C reaches the guest; Ctrl-] ends the VM), a file, or a
 * unix socket that `tsvmm console` and other clients attach to. A
 * connection outlives one machine: after a guest reboot it is pointed at
 * the new machine's serial port.
 */
import { appendFileSync, closeSync, lstatSync, openSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { SerialPort } from '../vm/machine.js';
import { UsageError } from './errors.js';

/** The console escape byte: Ctrl-] (as telnet and virsh). */
export const ESCAPE = 0x1d;

/** Output kept for clients that attach to a socket console later. */
export const REPLAY_BYTES = 64 * 1024;

/** A console connection. */
export interface ConsoleConnection {
  /** Points the console at a machine's serial port (again after a reboot). */
  connect(serial: SerialPort): void;
  /** Restores the terminal, closes files and sockets. */
  close(): void;
}

/** Batches output: one write per turn of the event loop. */
function batchedWriter(write: (b: Buffer) => void): (bytes: Uint8Array) => void {
  let pending: Uint8Array[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const chunks = pending;
    pending = [];
    write(Buffer.concat(chunks));
  };
  return (bytes) => {
    pending.push(bytes);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

/**
 * The terminal: guest output to stdout, stdin to the guest. `onEscape`
 * runs when the user types Ctrl-] (only on a terminal: piped input passes
 * through as is).
 */
export function attachStdio(onEscape: () => void): ConsoleConnection {
  const output = batchedWriter((b) => process.stdout.write(b));
  let serial: SerialPort | null = null;
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  if (tty) stdin.setRawMode(true);
  const onData = (data: Buffer) => {
    if (tty) {
      const esc = data.indexOf(ESCAPE);
      if (esc >= 0) {
        if (esc > 0) serial?.write(data.subarray(0, esc));
        onEscape();
        return;
      }
    }
    serial?.write(data);
  };
  stdin.on('data', onData);
  stdin.resume();
  return {
    connect(s) {
      serial = s;
      s.onOutput = output;
    },
    close() {
      stdin.off('data', onData);
      if (tty) stdin.setRawMode(false);
      stdin.pause();
    },
  };
}

/** Appends the output to a file (created if missing); no input. */
export function attachFile(path: string): ConsoleConnection {
  try {
    // Open once up front so a bad path fails before the guest starts.
    closeSync(openSync(path, 'a'));
  } catch (e) {
    throw new UsageError(`--serial file=${path}: ${(e as Error).message}`);
  }
  const output = batchedWriter((b) => appendFileSync(path, b));
  return {
    connect(s) {
      s.onOutput = output;
    },
    close() {},
  };
}

/** A bounded ring of the most recent output bytes. */
class Replay {
  private buf = Buffer.alloc(0);
  push(b: Uint8Array): void {
    this.buf = Buffer.concat([this.buf, b]);
    if (this.buf.length > REPLAY_BYTES) this.buf = this.buf.subarray(this.buf.length - REPLAY_BYTES);
  }
  get bytes(): Buffer {
    return this.buf;
  }
}

/** Throws a UsageError when `path` cannot become our socket (exists, not a socket, or in use). */
async function claimSocketPath(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // does not exist: fine
  }
  if (!isSocket) throw new UsageError(`--serial socket=${path}: ${path} exists and is not a socket`);
  const inUse = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (inUse) throw new UsageError(`--serial socket=${path}: another VMM is serving a console there`);
  unlinkSync(path); // a stale socket from a VMM that died
}

/**
 * A unix-socket console: any number of clients; each receives the recent
 * output (bounded replay) and then the live output; input from any client
 * goes to the guest. Output is not lost while no client is attached.
 */
export async function attachSocket(path: string): Promise<ConsoleConnection & { clients(): number }> {
  await claimSocketPath(path);
  const replay = new Replay();
  const clients = new Set<Socket>();
  let serial: SerialPort | null = null;
  const server: Server = createServer((sock) => {
    clients.add(sock);
    if (replay.bytes.length > 0) sock.write(replay.bytes);
    sock.on('data', (d: Buffer) => serial?.write(d));
    // A client that disconnects abruptly only leaves the set; the VM runs on.
    const drop = () => clients.delete(sock);
    sock.on('close', drop);
    sock.on('error', drop);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new UsageError(`--serial socket=${path}: ${e.message}`)));
    server.listen(path, resolve);
  });
  const output = (b: Uint8Array) => {
    replay.push(b);
    for (const c of clients) if (!c.destroyed) c.write(b);
  };
  return {
    connect(s) {
      serial = s;
      s.onOutput = output;
    },
    close() {
      for (const c of clients) c.destroy();
      server.close();
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    },
    clients: () => clients.size,
  };
}
