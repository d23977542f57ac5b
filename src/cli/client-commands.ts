import type { Command } from "commander";
import { NotImplementedError, UsageError } from "./errors.js";
import type { CliContext } from "./io.js";
import { attachConsole } from "./console-client.js";
import { parseSocketPath, quote } from "./values.js";

/** Adds the API clients: `tsvmm ctl SOCKET VERB [ARGS...]` and `tsvmm console SOCKET`. */
export function addClientCommands(program: Command, ctx: CliContext): void {
  program
    .command("ctl")
    .description("send one request to a running VMM's API socket (e.g. ctl vm.sock pause)")
    .argument("<SOCKET>", "the VMM's --api-socket")
    .argument("<VERB>", "what to ask for, e.g. info, pause, resume, shutdown")
    .argument("[ARGS...]", "arguments of the verb")
    // ARGS belong to the verb, so dashes after VERB are not ctl's options.
    .passThroughOptions()
    .action((socket: string, verb: string) => {
      parseSocketPath(socket, "ctl: SOCKET");
      if (!/^[a-z][a-z0-9-]*$/.test(verb)) {
        throw new UsageError(`ctl: VERB ${quote(verb)} is not a verb (expected a lower-case word such as info or pause)`);
      }
      throw new NotImplementedError("ctl: the API client is not implemented yet");
    });
  program
    .command("console")
    .description("attach this terminal to a running VM's serial console (Ctrl-] quits)")
    .argument("<SOCKET>", "the VM's console socket (run --serial socket=PATH)")
    .action(async (socket: string) => {
      parseSocketPath(socket, "console: SOCKET");
      ctx.exitCode = await attachConsole(socket, ctx.io);
    });
}
