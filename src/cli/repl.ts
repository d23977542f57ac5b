/**
 * The guest console on a terminal, with the REPL behind Ctrl-]: keys go to
 * the guest in raw mode until Ctrl-] opens a prompt (node:readline, with
 * completion and history); `continue`, Enter or Ctrl-D go back. The guest
 * keeps running while the prompt is open (unless paused there); its output
 * is held meanwhile and shown on return, so it does not tear the prompt.
 *
 * DEVNOTE: only for a TTY. Piped stdin keeps console.ts's attachStdio, where
 * the escape byte passes through to the guest as any other byte.
 */
import { createInterface, type Interface } from 'node:readline';
import type { SerialPort } from '../vm/machine.js';
import { ESCAPE, type ConsoleConnection } from './console.js';
import { replCompleter, runReplLine, type ReplTarget } from './repl-commands.js';

/** Guest output held while the prompt is open; beyond this the oldest is dropped. */
export const HELD_OUTPUT_BYTES = 1024 * 1024;

const PROMPT = '(tsvmm) ';

/** Attaches the terminal (stdin must be a TTY) as the guest console, Ctrl-] opening the REPL. */
export function attachTerminal(target: ReplTarget): ConsoleConnection {
  const stdin = process.stdin;
  const stdout = process.stdout;
  let serial: SerialPort | null = null;
  let rl: Interface | null = null;
  let held: Buffer[] = [];
  let heldBytes = 0;
  let dropped = 0;
  let closed = false;
  const history: string[] = [];

  // One write per turn of the event loop: the guest writes a byte at a time.
  let pending: Buffer[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const out = Buffer.concat(pending);
    pending = [];
    if (rl === null) stdout.write(out);
    else hold(out);
  };
  const hold = (b: Buffer) => {
    held.push(b);
    heldBytes += b.length;
    while (heldBytes > HELD_OUTPUT_BYTES && held.length > 1) {
      const first = held.shift()!;
      heldBytes -= first.length;
      dropped += first.length;
    }
  };
  const output = (bytes: Uint8Array) => {
    pending.push(Buffer.from(bytes));
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  const onData = (data: Buffer) => {
    if (rl !== null) return; // readline has the keyboard
    const esc = data.indexOf(ESCAPE);
    if (esc < 0) {
      serial?.write(data);
      return;
    }
    if (esc > 0) serial?.write(data.subarray(0, esc));
    openPrompt();
  };

  // `stopping`: the VM is being stopped from the prompt; startVm closes the console next.
  const backToConsole = (stopping = false) => {
    if (rl === null) return;
    const r = rl;
    rl = null;
    r.close(); // readline leaves raw mode on close: take it back
    if (closed) return;
    stdin.setRawMode(true);
    stdin.resume();
    if (stopping) return;
    stdout.write('\r\ntsvmm: back to the console\r\n');
    if (dropped > 0) stdout.write(`tsvmm: ${dropped} bytes of guest output were dropped while the prompt was open\r\n`);
    const out = Buffer.concat(held);
    held = [];
    heldBytes = 0;
    dropped = 0;
    if (out.length > 0) stdout.write(out);
  };

  const openPrompt = () => {
    stdout.write('\r\ntsvmm: the guest keeps running; type help for commands, Enter to go back\r\n');
    const r = createInterface({
      input: stdin,
      output: stdout,
      terminal: true,
      prompt: PROMPT,
      completer: replCompleter(target),
      history: [...history],
      historySize: 200,
      removeHistoryDuplicates: true,
    });
    rl = r;
    let busy = false;
    r.on('line', (line: string) => {
      if (busy) return;
      if (line.trim() !== '' && history[0] !== line) history.unshift(line);
      busy = true;
      void runReplLine(line, target).then(({ output: text, next }) => {
        busy = false;
        if (rl !== r) return;
        if (text !== '') stdout.write(`${text}\n`);
        if (next === 'prompt') r.prompt();
        else backToConsole(next === 'exit');
      });
    });
    // Ctrl-C clears the line as in a shell; Ctrl-D (close) and Ctrl-] go back to the console.
    r.on('SIGINT', () => {
      r.write('', { ctrl: true, name: 'u' });
      stdout.write('^C\n');
      r.prompt();
    });
    r.on('close', () => {
      if (rl === r) backToConsole();
    });
    const onKey = (_s: string | undefined, key: { sequence?: string } | undefined) => {
      if (key?.sequence === String.fromCharCode(ESCAPE) && rl === r) backToConsole();
    };
    stdin.on('keypress', onKey);
    r.once('close', () => stdin.off('keypress', onKey));
    r.prompt();
  };

  stdin.setRawMode(true);
  stdin.on('data', onData);
  stdin.resume();
  return {
    connect(s) {
      serial = s;
      s.onOutput = output;
    },
    close() {
      closed = true;
      if (rl !== null) {
        const r = rl;
        rl = null;
        r.close();
      }
      flush();
      if (held.length > 0) stdout.write(Buffer.concat(held));
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
    },
  };
}
