/**
 * `tsvmm console SOCKET`: attaches this terminal to a VM's socket console
 * (`run --serial socket=PATH`). Raw mode on a TTY so keys reach the guest;
 * Ctrl-] detaches and leaves the VM running.
 */
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { ESCAPE } from './console.js';
import { ExitCode, UsageError } from './errors.js';
import type { CliIo } from './io.js';

/** Connects stdin/stdout to the socket until detach or the VMM closes it; resolves with the exit code. */
export async function attachConsole(path: string, io: CliIo): Promise<number> {
  if (!existsSync(path)) throw new UsageError(`console: ${path}: no such socket (start the VM with --serial socket=${path})`);
  const sock = createConnection(path);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', (e) => reject(new UsageError(`console: ${path}: ${e.message}`)));
  });
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  if (tty) {
    stdin.setRawMode(true);
    io.stderr(`tsvmm: attached to ${path}; Ctrl-] detaches\r\n`);
  }
  return new Promise<number>((resolve) => {
    let done = false;
    const finish = (code: number, message: string) => {
      if (done) return;
      done = true;
      stdin.off('data', onData);
      if (tty) stdin.setRawMode(false);
      stdin.pause();
      sock.destroy();
      if (message) io.stderr(`${tty ? '\r\n' : ''}tsvmm: ${message}\n`);
      resolve(code);
    };
    const onData = (data: Buffer) => {
      const esc = tty ? data.indexOf(ESCAPE) : -1;
      if (esc >= 0) {
        if (esc > 0) sock.write(data.subarray(0, esc));
        finish(ExitCode.PowerOff, 'detached (the VM keeps running)');
        return;
      }
      sock.write(data);
    };
    stdin.on('data', onData);
    stdin.resume();
    // Without a TTY (scripts), end of input detaches too.
    stdin.once('end', () => finish(ExitCode.PowerOff, ''));
    sock.on('data', (d: Buffer) => process.stdout.write(d));
    sock.on('close', () => finish(ExitCode.PowerOff, 'the VM closed the console'));
    sock.on('error', (e) => finish(ExitCode.VmmFailure, `console: ${e.message}`));
  });
}
