/** Exit codes of tsvmm, as DESIGN.md promises them to scripts. */
export const ExitCode = {
  /** The guest powered off (or rebooted under --no-reboot), or a command succeeded. */
  PowerOff: 0,
  /** Bad usage or configuration: nothing was started. */
  Usage: 2,
  /** The VMM itself failed (including features not built yet). */
  VmmFailure: 3,
  /** The guest crashed: triple fault, or a panic seen through pvpanic. */
  GuestCrash: 4,
} as const;

/** One of the values of ExitCode (debug-exit codes are plain numbers on top of these). */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A mistake in the command line or configuration; main prints its one-line message and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
  /** The exit code this error ends the process with. */
  readonly exitCode = ExitCode.Usage;
}

/** A command or feature that exists in the interface but not yet in the code; exits 3. */
export class NotImplementedError extends Error {
  override name = "NotImplementedError";
  /** The exit code this error ends the process with. */
  readonly exitCode = ExitCode.VmmFailure;
}
