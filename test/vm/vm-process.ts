/**
 * Runs a VMM as a child process with the guest console on its stdio (CI
 * has no TTY, so plain pipes): `tsvmm run` for the tests, or any other
 * command (QEMU in the benchmarks).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConsoleText } from './console-text.js';

/** The compiled CLI. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** A process whose stdout/stdin are a guest console. */
export class ProcessConsole extends ConsoleText {
  private readonly child: ChildProcess;
  /** What the process printed on stderr. */
  errors = '';
  /** Resolves with the exit code when the process ends. */
  readonly exited: Promise<number>;

  constructor(argv: readonly string[], env: NodeJS.ProcessEnv = process.env) {
    super();
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.child.stdout!.on('data', (d: Buffer) => this.received(d.toString('latin1')));
    this.child.stderr!.on('data', (d: Buffer) => {
      this.errors += d.toString();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  }

  /** The child's pid (for /proc sampling). */
  get pid(): number | undefined {
    return this.child.pid;
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

  /** Kills the process (cleanup after a failure). */
  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** `tsvmm run ARGS` with the console on pipes. */
export class VmProcess extends ProcessConsole {
  /** `wrapper` runs the VMM under another command (e.g. `ip netns exec NS`). */
  constructor(args: readonly string[], env: NodeJS.ProcessEnv = process.env, wrapper: readonly string[] = []) {
    super([...wrapper, process.execPath, CLI, 'run', ...args], env);
  }
}
