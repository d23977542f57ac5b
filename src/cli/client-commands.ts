import type { Command } from "commander";
import { ctlVerbsHelp, runCtl } from "./ctl-command.js";
import type { CliContext } from "./io.js";
import { attachConsole } from "./console-client.js";
import { parseSocketPath } from "./values.js";

/** Adds the API clients: `tsvmm ctl SOCKET VERB [ARGS...]` and `tsvmm console SOCKET`. */
export function addClientCommands(program: Command, ctx: CliContext): void {
  program
    .command("ctl")
    .description("send one request to a VMM's API socket (e.g. ctl vm.sock pause)")
    .argument("<SOCKET>", "the VMM's --api-socket")
    .argument("<VERB>", "what to ask for (see below)")
    .argument("[ARGS...]", "arguments of the verb")
    // ARGS belong to the verb, so dashes after VERB are not ctl's options.
    .passThroughOptions()
    .addHelpText(
      "after",
      `\nVerbs:\n${ctlVerbsHelp()}\n` +
        "\nExit codes: 0 success, 2 bad usage or the VMM refused the request (4xx), 3 the VMM cannot be reached or failed (5xx).",
    )
    .action(async (socket: string, verb: string, args: string[]) => {
      parseSocketPath(socket, "ctl: SOCKET");
      ctx.exitCode = await runCtl(socket, verb, args, ctx.io);
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
