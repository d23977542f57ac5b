import type { Command } from "commander";
import { NotImplementedError } from "./errors.js";
import type { CliContext } from "./io.js";
import { parseSocketPath } from "./values.js";

/** Adds `tsvmm serve --api-socket PATH`: a VMM with no VM, configured through its HTTP API. */
export function addServeCommand(program: Command, _ctx: CliContext): void {
  program
    .command("serve")
    .description("serve the HTTP management API only; the VM is configured and started through it")
    .requiredOption("--api-socket <PATH>", "unix socket to serve the API on")
    .action((opts: { apiSocket: string }) => {
      parseSocketPath(opts.apiSocket, "--api-socket");
      throw new NotImplementedError("serve: the HTTP management API is not implemented yet");
    });
}
