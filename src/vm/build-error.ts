/**
 * VmBuildError: the user's mistake found while building a VM (a file that
 * cannot be read, a disk that cannot be opened, a backend this machine
 * lacks, a snapshot that cannot be restored). Its message is one line
 * naming what was wrong, as `tsvmm run` prints it (`--kernel: PATH: no
 * such file`); each management interface maps it to its own contract:
 * the CLI exits 2, the API answers 400 invalid-config, the library throws
 * ConfigError.
 */
import type { ConfigPath } from './config.js';

/** A mistake in what the VM was asked to be built from; the message is one line. */
export class VmBuildError extends Error {
  override name = 'VmBuildError';

  /**
   * `path` is the config key the mistake is about (["disks", 0, "path"]),
   * when there is one; a snapshot that cannot be restored has none.
   */
  constructor(
    message: string,
    readonly path?: ConfigPath,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
