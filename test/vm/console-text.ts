/**
 * The text a guest prints on a console, with the helpers guest tests need:
 * wait for a pattern, type a line, run a shell command and get its output.
 * VmProcess (console on the VMM's stdio) and SocketConsole (a --serial
 * socket) both build on it.
 */

/** A console's accumulated output and its input side. */
export abstract class ConsoleText {
  /** Everything the guest printed so far. */
  output = '';
  private waiters: Array<() => void> = [];

  /** Writes raw text to the guest. */
  protected abstract write(text: string): void;
  /** Why waiting cannot succeed any more (the VMM exited...), or null. */
  protected abstract ended(): string | null;
  /** Extra context for failure messages. */
  protected context(): string {
    return '';
  }

  /** Subclasses call this with every chunk of guest output. */
  protected received(text: string): void {
    this.output += text;
    for (const w of this.waiters) w();
  }

  /** Waits until the output after `from` matches `re`; fails with the tail after `timeoutMs`. */
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.slice(from).match(re);
      if (m) return m;
      const end = this.ended();
      if (end) throw new Error(`${end} before ${re} appeared:\n${this.tail()}\n${this.context()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${re}; console tail:\n${this.tail()}\n${this.context()}`);
      await new Promise<void>((resolve) => {
        const waiters = this.waiters;
        const t = setTimeout(done, Math.min(left, 1000));
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

  /** Types `line` and a newline; returns where its output starts. */
  send(line: string): number {
    const at = this.output.length;
    this.write(`${line}\n`);
    return at;
  }

  /** Runs a shell command in the guest; returns what it printed (between unique markers). */
  async run(command: string, timeoutMs = 60_000): Promise<string> {
    const tag = `__tsvmm_${Math.random().toString(36).slice(2, 8)}`;
    const from = this.send(`echo ${tag}_BEGIN; ${command}; echo ${tag}_END`);
    // Matched at line starts, so the echoed command line itself does not count
    // (and an empty output, BEGIN then END, still matches).
    const m = await this.waitFor(new RegExp(`^${tag}_BEGIN\\r?\\n([\\s\\S]*?)^${tag}_END`, 'm'), timeoutMs, from);
    return m[1]!.replace(/\r/g, '');
  }

  /** The last lines of output, for failure messages. */
  tail(lines = 30): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }
}
