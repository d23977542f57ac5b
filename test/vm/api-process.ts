/**
 * Helpers of the management tests (api*.test.ts): a VMM command whose
 * stdio is the guest console (serve, or run under `script` for a
 * terminal), waiting for an API socket, and running `tsvmm ctl`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { ApiClient } from '../../src/api/client.js';
import { ConsoleText } from './console-text.js';
import { CLI } from './vm-process.js';

/** A process whose stdout is a guest console and whose stdin types into it. */
export class CommandConsole extends ConsoleText {
  private readonly child: ChildProcess;
  /** What it printed on stderr. */
  errors = '';
  /** Resolves with the exit code. */
  readonly exited: Promise<number>;

  constructor(argv: readonly string[]) {
    super();
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => this.received(d.toString('latin1')));
    this.child.stderr!.on('data', (d: Buffer) => (this.errors += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  }

  /** Writes raw text (keys), no newline added. */
  type(text: string): void {
    this.child.stdin!.write(text);
  }

  protected write(text: string): void {
    this.child.stdin!.write(text);
  }

  protected ended(): string | null {
    return this.child.exitCode !== null ? `the process exited (${this.child.exitCode})` : null;
  }

  protected override context(): string {
    return `stderr:\n${this.errors}`;
  }

  /** Kills the process (cleanup after a failure). */
  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** `tsvmm serve ARGS` with its console (once configured) on pipes. */
export function tsvmmCommand(args: readonly string[]): string[] {
  return [process.execPath, CLI, ...args];
}

/** Polls the API socket until GET /v1/vm answers 200; returns a client. */
export async function waitForApi(path: string, timeoutMs = 60_000): Promise<ApiClient> {
  const client = new ApiClient(path);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await client.request('GET', '/v1/vm')).status === 200) return client;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`the API at ${path} did not come up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The result of one `tsvmm ctl` run. */
export interface CtlResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `tsvmm ctl SOCKET ARGS...` to completion. */
export function ctl(socket: string, ...args: string[]): Promise<CtlResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'ctl', socket, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

/** Why `script` (util-linux) cannot give a child a terminal here, or null when it can. */
export function scriptUnavailable(): string | null {
  const r = spawnSync('script', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'skipped: script (util-linux) is not installed';
  return null;
}

/** Sleeps. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
