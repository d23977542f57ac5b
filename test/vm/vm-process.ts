/**
 * Runs `tsvmm run` as a child process with its console on pipes, for the
 * guest-booting tests. CI has no TTY, so the console is plain pipes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConsoleText } from './console-text.js';

/** The compiled CLI. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** A running VMM process whose stdio is the guest console. */
export class VmProcess extends ConsoleText {
  private readonly child: ChildProcess;
  /** What the VMM printed on stderr. */
  errors = '';
  /** Resolves with the exit code when the process ends. */
  readonly exited: Promise<number>;

  /** `wrapper` runs the VMM under another command (e.g. `ip netns exec NS`). */
  constructor(args: readonly string[], env: NodeJS.ProcessEnv = process.env, wrapper: readonly string[] = []) {
    super();
    const argv = [...wrapper, process.execPath, CLI, 'run', ...args];
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.child.stdout!.on('data', (d: Buffer) => this.received(d.toString('latin1')));
    this.child.stderr!.on('data', (d: Buffer) => {
      this.errors += d.toString();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  }

  protected write(text: string): void {
    this.child.stdin!.write(text);
  }

  protected ended(): string | null {
    return this.child.exitCode !== null ? `the VMM exited (${this.child.exitCode})` : null;
  }

  protected override context(): string {
    return `stderr:\n${this.errors}`;
  }

  /** Kills the process (cleanup after a failed test). */
  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
