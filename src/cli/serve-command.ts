/**
 * `tsvmm serve --api-socket PATH`: a VMM with no VM until one is configured
 * through the API (PUT /v1/vm, then POST /v1/vm/start), as Firecracker's
 * API-driven boot, or restored from a snapshot (PUT /v1/vm/restore). The
 * VM is built exactly as `tsvmm run` builds it; when it stops, the process
 * exits with its exit code.
 */
import type { Command } from 'commander';
import { VmmController } from '../api/controller.js';
import { ApiError } from '../api/errors.js';
import { GuestBuildError } from '../guest/index.js';
import { buildVm, VmBuildError, type PreparedVm } from '../vm/build.js';
import { formatConfigPath, type VmConfig } from '../vm/config.js';
import { checkConfigFiles } from '../vm/input-file.js';
import type { OpenSnapshot } from '../vm/snapshot.js';
import { SnapshotError } from '../vm/snapshot-format.js';
import { tsvmmVersion } from '../vm/version.js';
import { ExitCode, UsageError } from './errors.js';
import type { CliContext, CliIo } from './io.js';
import { runVm, serveApi, stderrLog } from './start.js';
import { parseSocketPath } from './values.js';

/** Builds the VM for PUT /v1/vm; the user's mistakes become 4xx answers (naming the key), the VMM's 5xx. */
async function buildForApi(config: VmConfig, io: CliIo): Promise<PreparedVm> {
  try {
    checkConfigFiles(config, formatConfigPath, 'set "readonly": true to attach it read-only');
    return await buildVm(config, { log: stderrLog(io) });
  } catch (e) {
    if (e instanceof VmBuildError) throw new ApiError('invalid-config', e.message, e.path, { cause: e });
    if (e instanceof GuestBuildError) throw new ApiError('guest-unavailable', e.message, undefined, { cause: e });
    throw new ApiError('vm-failed', `the VM could not be built: ${(e as Error).message}`, undefined, { cause: e });
  }
}

/** Builds the VM of a snapshot for PUT /v1/vm/restore; a snapshot that cannot be restored is the client's mistake. */
async function restoreForApi(snapshot: OpenSnapshot, io: CliIo): Promise<PreparedVm> {
  try {
    return await buildVm(snapshot.manifest.config, { log: stderrLog(io), restore: snapshot });
  } catch (e) {
    if (e instanceof VmBuildError) {
      // The snapshot's own refusals read as the open's do: "DIR: why"; others say what could not be opened.
      const why = e.cause instanceof SnapshotError ? e.cause.message : `its VM cannot be built: ${e.message}`;
      throw new ApiError('invalid-snapshot', `${snapshot.dir}: ${why}`, ['dir'], { cause: e });
    }
    throw new ApiError('vm-failed', `the snapshot's VM could not be built: ${(e as Error).message}`, undefined, { cause: e });
  }
}

/** What kept the console from being attached, as the API reports it. */
function consoleFailure(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof UsageError || e instanceof VmBuildError) return new ApiError('invalid-config', message, ['serial'], { cause: e });
  return new ApiError('vm-failed', `the console could not be attached: ${message}`, undefined, { cause: e });
}

/** Serves the API until a VM is configured or restored and has run (its exit code), or a signal ends an idle VMM (0). */
export async function serve(socket: string, io: CliIo): Promise<number> {
  let prepared: PreparedVm | null = null;
  const controller = new VmmController(
    {
      factory: async (config) => (prepared = await buildForApi(config, io)).vm,
      restorer: async (snapshot) => (prepared = await restoreForApi(snapshot, io)).vm,
    },
    { version: tsvmmVersion() },
  );
  const api = await serveApi(socket, controller, io);
  io.stderr(`tsvmm: serving the API on ${socket}; configure the VM with PUT /v1/vm (tsvmm ctl ${socket} configure FILE)\n`);
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
  let onSignal: ((sig: NodeJS.Signals) => void) | null = null;
  // The controller waits with its answer (and with starting a restored VM) until the console is attached.
  let consoleReady: { ok: () => void; fail: (e: unknown) => void } | null = null;
  const what = await new Promise<'vm' | NodeJS.Signals>((resolve) => {
    controller.onVm(
      () =>
        new Promise<void>((ok, fail) => {
          consoleReady = { ok, fail };
          resolve('vm');
        }),
    );
    onSignal = (sig) => resolve(sig);
    for (const s of signals) process.on(s, onSignal);
  });
  for (const s of signals) process.off(s, onSignal!);
  if (what !== 'vm' || prepared === null) {
    await api.close();
    io.stderr(`tsvmm: stopped by ${what} before a VM was configured\n`);
    return ExitCode.PowerOff;
  }
  const vm = (prepared as PreparedVm).vm;
  const ready = consoleReady as { ok: () => void; fail: (e: unknown) => void } | null;
  return runVm(prepared, vm.config, {
    io,
    api,
    controller,
    start: false,
    onConsole: (e) => (e === undefined ? ready?.ok() : ready?.fail(consoleFailure(e))),
  });
}

/** Adds `tsvmm serve --api-socket PATH`: a VMM with no VM, configured through its HTTP API. */
export function addServeCommand(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('serve the HTTP management API only; the VM is configured (or restored) and started through it')
    .requiredOption('--api-socket <PATH>', 'unix socket to serve the API on')
    .addHelpText(
      'after',
      '\nThen: tsvmm ctl PATH configure vm.json; tsvmm ctl PATH start (or PUT /v1/vm, POST /v1/vm/start; see docs/api.md).' +
        '\nOr continue a snapshot: tsvmm ctl PATH restore DIR [--resume] (PUT /v1/vm/restore).' +
        "\nWhen the VM stops the process exits with the VM's exit code, as tsvmm run does.",
    )
    .action(async (opts: { apiSocket: string }) => {
      parseSocketPath(opts.apiSocket, '--api-socket');
      ctx.exitCode = await serve(opts.apiSocket, ctx.io);
    });
}
