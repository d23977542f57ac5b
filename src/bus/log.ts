/**
 * Logging for guest-caused events. A guest can trigger a message on every
 * access, so everything here is rate-limited per key: the first few are
 * printed, then one line says how many were suppressed.
 */

/** Where the machine's diagnostics go; the CLI points it at stderr. */
export interface LogSink {
  warn(message: string): void;
}

/** Writes to stderr; the default until vm/ installs another sink. */
export const stderrSink: LogSink = {
  warn(message: string) {
    process.stderr.write(`tsvmm: ${message}\n`);
  },
};

/** Discards everything (tests that provoke errors on purpose). */
export const silentSink: LogSink = { warn() {} };

/** A sink that keeps messages in memory (tests that assert on them). */
export class MemorySink implements LogSink {
  readonly messages: string[] = [];
  warn(message: string): void {
    this.messages.push(message);
  }
}

/** Prints at most `burst` messages per key, then counts the rest. */
export class RateLimitedLog {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly sink: LogSink = stderrSink,
    private readonly burst = 5,
  ) {}

  /** Logs `message` unless `key` already used up its burst. */
  warn(key: string, message: string | (() => string)): void {
    const n = (this.seen.get(key) ?? 0) + 1;
    this.seen.set(key, n);
    if (n <= this.burst) {
      this.sink.warn(typeof message === 'function' ? message() : message);
      if (n === this.burst && this.burst > 1) this.sink.warn(`(further "${key}" messages suppressed)`);
    }
  }

  /** How many times `key` was reported, printed or not. */
  count(key: string): number {
    return this.seen.get(key) ?? 0;
  }
}

/** Formats a number as 0x-prefixed hex, for addresses in messages. */
export function hex(n: number | bigint, width = 0): string {
  const s = n.toString(16);
  return `0x${width > 0 ? s.padStart(width, '0') : s}`;
}
