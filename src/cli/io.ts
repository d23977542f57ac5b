/** Where a command writes; main() takes one so tests can run commands in-process and read the output. */
export interface CliIo {
  /** Writes text (the caller supplies newlines) to standard output. */
  stdout(text: string): void;
  /** Writes text (the caller supplies newlines) to standard error. */
  stderr(text: string): void;
}

/** The real process streams. */
export const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** An in-memory CliIo for tests: everything written is collected in `out` and `err`. */
export function captureIo(): CliIo & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout(text: string) {
      io.out += text;
    },
    stderr(text: string) {
      io.err += text;
    },
  };
  return io;
}

/** What a command action shares with main(): where to write, and the exit code it settled on. */
export interface CliContext {
  /** Output streams for the command. */
  io: CliIo;
  /** Set by the action that ran; main() returns it. */
  exitCode: number;
}
