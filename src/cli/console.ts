/**
 * Connects a machine's serial port to this process's terminal: raw mode
 * when stdin is a TTY (so Ctrl-C reaches the guest), Ctrl-] (0x1d, as
 * telnet and virsh) to quit, output batched per event-loop turn.
 */
import { appendFileSync, openSync, closeSync } from 'node:fs';
import type { SerialPort } from '../vm/machine.js';

/** The console escape byte: Ctrl-]. */
export const ESCAPE = 0x1d;

/** A detachable console connection. */
export interface ConsoleConnection {
  /** Restores the terminal and stops reading input. */
  close(): void;
}

/** Where guest output goes, batched: one write per turn of the event loop. */
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
 * Attaches the serial port to stdin/stdout. `onEscape` runs when the user
 * types Ctrl-] (only on a terminal: piped input is passed through as is).
 */
export function attachStdio(serial: SerialPort, onEscape: () => void): ConsoleConnection {
  serial.onOutput = batchedWriter((b) => process.stdout.write(b));
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  if (tty) stdin.setRawMode(true);
  const onData = (data: Buffer) => {
    if (tty) {
      const esc = data.indexOf(ESCAPE);
      if (esc >= 0) {
        if (esc > 0) serial.write(data.subarray(0, esc));
        onEscape();
        return;
      }
    }
    serial.write(data);
  };
  stdin.on('data', onData);
  stdin.resume();
  return {
    close() {
      stdin.off('data', onData);
      if (tty) stdin.setRawMode(false);
      stdin.pause();
    },
  };
}

/** Appends the serial output to a file (created if missing); input is not connected. */
export function attachFile(serial: SerialPort, path: string): ConsoleConnection {
  // Open once up front so a bad path fails before the guest starts.
  closeSync(openSync(path, 'a'));
  serial.onOutput = batchedWriter((b) => appendFileSync(path, b));
  return { close() {} };
}
