import type { VmConfig } from "../vm/config.js";
import { ExitCode } from "./errors.js";
import { processIo, type CliIo } from "./io.js";

/** What `tsvmm run` hands the VM besides its configuration. */
export interface StartOptions {
  /** Serve the HTTP management API on this unix socket while the VM runs. */
  apiSocket?: string;
  /** Where messages for the operator go. */
  io?: CliIo;
}

/**
 * Boots the VM and resolves with the process exit code (DESIGN.md "Exit codes").
 * This is the seam the Linux-boot work replaces; until a CPU backend can boot a guest
 * it reports that and fails with ExitCode.VmmFailure.
 */
export async function startVm(config: VmConfig, options: StartOptions = {}): Promise<number> {
  void config;
  const io = options.io ?? processIo;
  io.stderr("tsvmm: no CPU backend can boot a guest yet (the software CPU and KVM backends are being built)\n");
  return ExitCode.VmmFailure;
}
