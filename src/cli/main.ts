#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { VmBuildError } from "../vm/build-error.js";
import { tsvmmVersion } from "../vm/version.js";
import { addClientCommands } from "./client-commands.js";
import { addDiskCommand } from "./disk-command.js";
import { ExitCode, NotImplementedError, UsageError } from "./errors.js";
import { addGuestCommand } from "./guest-command.js";
import { processIo, type CliContext, type CliIo } from "./io.js";
import { addRunCommand } from "./run-command.js";
import { addServeCommand } from "./serve-command.js";

/** Builds the commander program; actions report their exit code through ctx. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command("tsvmm");
  // Settings first: subcommands copy them when created. Commander's own errors become
  // CommanderErrors that main() prints as one line; help and version go to stdout.
  program
    .description("a virtual machine monitor for Node.js: boots Linux guests on KVM or a software x86-64 CPU")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.stdout(text),
      writeErr: () => {},
      outputError: () => {},
    })
    .enablePositionalOptions()
    .version(tsvmmVersion(), "-V, --version", "print the version and exit");
  addRunCommand(program, ctx);
  addServeCommand(program, ctx);
  addGuestCommand(program, ctx);
  addDiskCommand(program, ctx);
  addClientCommands(program, ctx);
  return program;
}

// Commander writes "error: ..." and sometimes a second line of suggestions.
function commanderMessage(err: CommanderError): string {
  return err.message.replace(/^error: /, "").replace(/\s*\n\s*/g, " ").trim();
}

/** Runs tsvmm with argv (without node and script); resolves with the exit code, never exits itself. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const ctx: CliContext = { io, exitCode: ExitCode.PowerOff };
  // The innermost command commander reached, to name it when a subcommand is missing.
  let reached: Command | undefined;
  const program = buildProgram(ctx);
  for (const cmd of [program, ...program.commands]) {
    cmd.hook("preSubcommand", (_parent, sub) => {
      reached = sub;
    });
  }
  const fail = (message: string, code: number): number => {
    io.stderr(`tsvmm: ${message.replace(/\s*\n\s*/g, " ")}\n`);
    return code;
  };
  try {
    await program.parseAsync([...argv], { from: "user" });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return ExitCode.PowerOff;
      if (err.code === "commander.help" && err.exitCode === 0) return ExitCode.PowerOff; // `tsvmm help run`
      if (err.code === "commander.help") {
        // Commander shows help (as an error) when a command that needs a subcommand got none.
        const cmd = reached ?? program;
        const name = cmd === program ? "tsvmm" : `tsvmm ${cmd.name()}`;
        const subs = cmd.commands.map((c) => c.name()).join(", ");
        return fail(`missing command after '${name}' (expected one of ${subs}; see ${name} --help)`, ExitCode.Usage);
      }
      return fail(commanderMessage(err), ExitCode.Usage);
    }
    // The VM builder's one-line refusals (a file, a disk, a backend) are usage errors too.
    if (err instanceof UsageError || err instanceof VmBuildError) return fail(err.message, ExitCode.Usage);
    if (err instanceof NotImplementedError) return fail(err.message, ExitCode.VmmFailure);
    return internalError(err, io);
  }
}

function internalError(err: unknown, io: CliIo): number {
  const message = err instanceof Error ? err.message : String(err);
  io.stderr(`tsvmm: internal error: ${message.replace(/\s*\n\s*/g, " ")}\n`);
  if (process.env.TSVMM_DEBUG === "1" && err instanceof Error && err.stack !== undefined) {
    io.stderr(`${err.stack}\n`);
  }
  return ExitCode.VmmFailure;
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    // npm's bin shim is a symlink; compare the real files.
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

// Exit only after both streams have flushed: on pipes they may be asynchronous.
function exitAfterFlush(code: number): void {
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}

if (isEntryPoint()) {
  const crash = (err: unknown) => exitAfterFlush(internalError(err, processIo));
  process.on("uncaughtException", crash);
  process.on("unhandledRejection", crash);
  main(process.argv.slice(2)).then(exitAfterFlush, crash);
}
