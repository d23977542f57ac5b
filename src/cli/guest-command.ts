import cliProgress from "cli-progress";
import type { Command } from "commander";
import {
  checkDefaultGuest,
  defaultGuestPaths,
  ensureDefaultGuest,
  GuestBuildError,
  type DefaultGuest,
  type EnsureGuestOptions,
  type GuestCheck,
  type GuestPaths,
  type GuestProgress,
} from "../guest/index.js";
import { ExitCode, UsageError } from "./errors.js";
import { processIo, type CliContext, type CliIo } from "./io.js";
import { parseChoice } from "./values.js";

const ACTIONS = ["build", "path"] as const;

/** What `tsvmm guest` works with; tests replace it to build nothing and touch no real cache. */
export interface GuestCommandDeps {
  /** Builds the default guest or returns the cached one. */
  ensure(options: EnsureGuestOptions): Promise<DefaultGuest>;
  /** The paths of the current default guest (no side effects). */
  paths(): GuestPaths;
  /** Checks whether the guest at paths is complete and built from this tsvmm's recipe. */
  check(paths: GuestPaths): Promise<GuestCheck>;
  /** Where a progress bar may be drawn: standard error when it is a terminal, else undefined. */
  terminal(io: CliIo): NodeJS.WriteStream | undefined;
}

/** The real dependencies: this machine's apt, the user's cache and terminal. */
export const realGuestDeps: GuestCommandDeps = {
  ensure: ensureDefaultGuest,
  paths: () => defaultGuestPaths(),
  check: checkDefaultGuest,
  // Only the real stderr can be a terminal; an in-memory CliIo never is.
  terminal: (io) => (io === processIo && process.stderr.isTTY ? process.stderr : undefined),
};

/** Shows a build's progress. */
export interface ProgressReporter {
  /** Handles one progress report. */
  onProgress(p: GuestProgress): void;
  /** Removes the bar, if one is showing. */
  done(): void;
}

/** Reports build progress: a line per step, and on a terminal a bar while downloading. */
export function progressReporter(io: CliIo, terminal: NodeJS.WriteStream | undefined): ProgressReporter {
  let step: string | undefined;
  let bar: cliProgress.SingleBar | undefined;
  const stopBar = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    onProgress(p) {
      if (p.step === "check") return; // every run checks the cache: not news
      if (p.step !== step) {
        stopBar();
        step = p.step;
        io.stderr(`tsvmm: guest: ${p.message}\n`);
      }
      if (p.fraction === undefined || terminal === undefined) return;
      if (bar === undefined) {
        bar = new cliProgress.SingleBar(
          { stream: terminal, format: "  {bar} {percentage}%", hideCursor: false, clearOnComplete: true, barsize: 40 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(100, 0);
      }
      bar.update(Math.round(p.fraction * 100));
    },
    done: stopBar,
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function describe(guest: DefaultGuest): string {
  const { kernel, busybox } = guest.info;
  return `Linux ${kernel.release} (${kernel.package} ${kernel.version}) with ${busybox.package} ${busybox.version}`;
}

async function build(ctx: CliContext, deps: GuestCommandDeps, force: boolean): Promise<void> {
  const progress = progressReporter(ctx.io, deps.terminal(ctx.io));
  const started = Date.now();
  let guest: DefaultGuest;
  try {
    guest = await deps.ensure({ force, onProgress: (p) => progress.onProgress(p) });
  } finally {
    progress.done();
  }
  const elapsed = seconds(Date.now() - started);
  ctx.io.stderr(
    guest.built
      ? `tsvmm: guest: built ${describe(guest)} in ${elapsed}\n`
      : `tsvmm: guest: reusing ${describe(guest)}, built ${guest.info.builtAt} (--force rebuilds it)\n`,
  );
  ctx.io.stdout(`dir      ${guest.dir}\nkernel   ${guest.kernel}\ninitrd   ${guest.initrd}\ncmdline  ${guest.cmdline}\n`);
  ctx.exitCode = ExitCode.PowerOff;
}

async function path(ctx: CliContext, deps: GuestCommandDeps): Promise<void> {
  const paths = deps.paths();
  const check = await deps.check(paths);
  if (check.ok && paths.release !== undefined) {
    const { kernel, busybox, builtAt } = check.manifest;
    ctx.io.stdout(`${paths.dir}\n`);
    ctx.io.stderr(`tsvmm: guest: built: Linux ${kernel.release} with ${busybox.package} ${busybox.version}, on ${builtAt}\n`);
  } else {
    ctx.io.stdout(`${paths.root}\n`);
    const why = check.ok || check.reason === "not built" ? "not built yet" : `not usable (${check.reason})`;
    ctx.io.stderr(`tsvmm: guest: ${why}; \`tsvmm guest build\` builds it from Debian's packages\n`);
  }
  ctx.exitCode = ExitCode.PowerOff;
}

/** Runs `tsvmm guest ACTION`; exported so tests can pass fake dependencies. */
export async function runGuestCommand(
  action: string,
  opts: { force?: boolean },
  ctx: CliContext,
  deps: GuestCommandDeps = realGuestDeps,
): Promise<void> {
  const what = parseChoice(action, "guest", ACTIONS);
  if (what === "path" && opts.force) throw new UsageError("guest path: --force only applies to guest build");
  try {
    if (what === "build") await build(ctx, deps, opts.force === true);
    else await path(ctx, deps);
  } catch (err) {
    if (!(err instanceof GuestBuildError)) throw err;
    // One line, exit 3: the VMM could not do what was asked; the message says what to do.
    ctx.io.stderr(`tsvmm: guest ${what}: ${err.message.replace(/\s*\n\s*/g, " ")}\n`);
    ctx.exitCode = ExitCode.VmmFailure;
  }
}

/** Adds `tsvmm guest [build|path]`: builds the default guest (Debian kernel + busybox initramfs) or shows where it is. */
export function addGuestCommand(program: Command, ctx: CliContext): void {
  program
    .command("guest")
    .description("build the default guest (build) or print the directory it is cached in (path, the default)")
    .argument("[ACTION]", "build or path", "path")
    .option("--force", "build: rebuild even when a valid guest is cached")
    .addHelpText(
      "after",
      "\nThe default guest is Debian's cloud kernel (the one linux-image-cloud-amd64 depends on) with a" +
        "\nbusybox initramfs, built from packages fetched with apt-get download (no root needed)." +
        "\nbuild prints its kernel, initrd and command line; path prints its directory (and exits 0 when" +
        "\nnothing is built yet). Exit codes: 0 done, 2 bad usage, 3 the guest could not be built.",
    )
    .action(async (action: string, opts: { force?: boolean }) => runGuestCommand(action, opts, ctx));
}
