/**
 * The guest's serial console for library users: what the guest printed (as
 * text and as streams), typing into it, waiting for a pattern and running a
 * shell command. It outlives guest reboots, as the VM's serial port does.
 */
import { Readable } from 'node:stream';
import type { SerialPort } from '../vm/machine.js';

/** Options of VmConsole.waitFor. */
export interface WaitForOptions {
  /** Give up after this long (ms); default 60 s. */
  readonly timeoutMs?: number;
  /** Only look at output from this position on (see VmConsole.position); default 0, all the output kept. */
  readonly from?: number;
}

/** Output kept for waitFor() and `text` (older output is dropped). */
export const KEPT_CHARS = 4 * 1024 * 1024;

/** How often queued input is retried while the guest's UART backlog is full (ms). */
const INPUT_RETRY_MS = 10;

/** The guest console of a library Vm. */
export class VmConsole {
  private kept = '';
  /** Position (in characters since boot) of kept[0]. */
  private base = 0;
  private readonly decoder = new TextDecoder('utf-8');
  private readonly streams = new Set<Readable>();
  private readonly waiters = new Set<() => void>();
  private queue: Uint8Array[] = [];
  private retry: NodeJS.Timeout | null = null;
  private endedWith: string | null = null;

  /** @internal Wired by the library Vm to the VM's serial port. */
  constructor(private readonly serial: SerialPort) {
    serial.onOutput = (bytes) => this.received(bytes);
  }

  /** The output kept so far (the last KEPT_CHARS characters), as text. */
  get text(): string {
    return this.kept;
  }

  /** How many characters the guest has printed so far: a `from` for waitFor() that skips what came before. */
  get position(): number {
    return this.base + this.kept.length;
  }

  /** A stream of the guest's output bytes from now on; it ends when the VM stops. Each call makes a new stream. */
  stream(): Readable {
    const r = new Readable({ read() {} });
    if (this.endedWith !== null) r.push(null);
    else {
      this.streams.add(r);
      r.once('close', () => this.streams.delete(r));
    }
    return r;
  }

  /** Types text (or bytes) into the console; what the UART cannot take yet is queued in order. */
  write(data: string | Uint8Array): void {
    this.queue.push(typeof data === 'string' ? new TextEncoder().encode(data) : data);
    this.pump();
  }

  /**
   * Waits until the output (from `options.from`) matches `pattern`; rejects
   * after the timeout or when the VM stops first, with the console's tail.
   */
  async waitFor(pattern: RegExp | string, options: WaitForOptions = {}): Promise<RegExpMatchArray> {
    const re = typeof pattern === 'string' ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : pattern;
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const from = Math.max(0, (options.from ?? 0) - this.base);
      const m = this.kept.slice(from).match(re);
      if (m) return m;
      if (this.endedWith !== null) throw new Error(`${this.endedWith} before ${re} appeared; console tail:\n${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${re}; console tail:\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.waiters.add(done);
      });
    }
  }

  /**
   * Runs a command in the guest's shell and resolves with what it printed
   * (without the command line the shell echoes). The shell must be at a
   * prompt; the output is found between two markers the command prints.
   */
  async run(command: string, options: { readonly timeoutMs?: number } = {}): Promise<string> {
    const tag = `__tsvmm_${Math.random().toString(36).slice(2, 10)}`;
    const from = this.position;
    // The quotes split each marker in the echoed command line, so only the printed ones match.
    this.write(`echo ${tag}_B''EGIN; ${command}; echo ${tag}_E''ND\n`);
    const m = await this.waitFor(new RegExp(`${tag}_BEGIN\\r?\\n([\\s\\S]*?)${tag}_END`), { from, timeoutMs: options.timeoutMs ?? 60_000 });
    return m[1]!.replace(/\r/g, '');
  }

  /** The last lines of output, for error messages. */
  tail(lines = 20): string {
    return this.kept.split('\n').slice(-lines).join('\n');
  }

  /** @internal The VM stopped: streams end, waiters fail with `reason`. */
  end(reason: string): void {
    this.endedWith = reason;
    for (const s of this.streams) s.push(null);
    this.streams.clear();
    if (this.retry) clearTimeout(this.retry);
    this.queue = [];
    for (const w of [...this.waiters]) w();
  }

  private received(bytes: Uint8Array): void {
    for (const s of this.streams) s.push(Buffer.from(bytes));
    this.kept += this.decoder.decode(bytes, { stream: true });
    if (this.kept.length > KEPT_CHARS) {
      const drop = this.kept.length - KEPT_CHARS;
      this.kept = this.kept.slice(drop);
      this.base += drop;
    }
    for (const w of [...this.waiters]) w();
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const taken = this.serial.write(head);
      if (taken < head.length) {
        this.queue[0] = head.subarray(taken);
        this.retry ??= setTimeout(() => {
          this.retry = null;
          this.pump();
        }, INPUT_RETRY_MS);
        return;
      }
      this.queue.shift();
    }
  }
}
