import type { Command } from "commander";
import { NotImplementedError } from "./errors.js";
import type { CliContext } from "./io.js";
import { parseChoice } from "./values.js";

const ACTIONS = ["build", "path"] as const;

/** Adds `tsvmm guest [build|path]`: builds the default guest (Debian kernel + busybox initramfs) or shows where it is. */
export function addGuestCommand(program: Command, _ctx: CliContext): void {
  program
    .command("guest")
    .description("build the default guest (build) or print the paths of its kernel and initramfs (path, the default)")
    .argument("[ACTION]", "build or path", "path")
    .action((action: string) => {
      const what = parseChoice(action, "guest", ACTIONS);
      throw new NotImplementedError(`guest ${what}: the default guest recipe is not implemented yet`);
    });
}
