/**
 * Runs `tsvmm run` as a child process with its console on pipes, for the
 * guest-booting tests: wait for text the guest prints, type commands,
 * collect the exit code. CI has no TTY, so the console is plain pipes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** A running VMM process. */
export class VmProcess {
  private readonly child: ChildProcess;
  /** Everything the guest printed on the console so far. */
  output = '';
  /** What the VMM printed on stderr. */
  errors = '';
  /** Resolves with the exit code when the process ends. */
  readonly exited: Promise<number>;
  private waiters: Array<() => void> = [];

  constructor(args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(process.execPath, [CLI, 'run', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.output += d.toString('latin1');
      for (const w of this.waiters) w();
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.errors += d.toString();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  }

  /**
   * Waits until the console output after `from` matches `re`; returns the
   * match. Fails with the tail of the output after `timeoutMs`.
   */
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.slice(from).match(re);
      if (m) return m;
      if (this.child.exitCode !== null) throw new Error(`the VMM exited (${this.child.exitCode}) before ${re} appeared:\n${this.tail()}\n${this.errors}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${re}; console tail:\n${this.tail()}\nstderr:\n${this.errors}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, Math.min(left, 1000));
        const waiters = this.waiters;
        function done() {
          clearTimeout(t);
          const k = waiters.indexOf(done);
          if (k >= 0) waiters.splice(k, 1);
          resolve();
        }
        waiters.push(done);
      });
    }
  }

  /** Types `line` and a newline into the console; returns where its output starts. */
  send(line: string): number {
    const at = this.output.length;
    this.child.stdin!.write(`${line}\n`);
    return at;
  }

  /**
   * Runs a shell command in the guest and returns what it printed between
   * two unique markers (the command's own echo and prompts excluded).
   */
  async run(command: string, timeoutMs = 60_000): Promise<string> {
    const tag = `__tsvmm_${Math.random().toString(36).slice(2, 8)}`;
    const from = this.send(`echo ${tag}_BEGIN; ${command}; echo ${tag}_END`);
    // The markers are matched at line starts so the echoed command line does not count.
    const m = await this.waitFor(new RegExp(`(?:^|\\n)${tag}_BEGIN\\r?\\n([\\s\\S]*?)(?:^|\\n)${tag}_END`), timeoutMs, from);
    return m[1]!.replace(/\r/g, '');
  }

  /** The last lines of console output, for failure messages. */
  tail(lines = 30): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }

  /** Kills the process (cleanup after a failed test). */
  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
