/**
 * `tsvmm ctl SOCKET VERB [ARGS]`: the command-line client of the HTTP API.
 * Prints JSON (describe, inspect, events) or one short line, and exits 0 on
 * success, 2 for usage mistakes and for 4xx answers (one line with the
 * server's message), 3 when the VMM cannot be reached or answers 5xx.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApiClient, ApiUnreachableError, type ApiResponse } from '../api/client.js';
import type { Description, SnapshotReply, StateReply } from '../api/schemas.js';
import { absoluteConfigPaths } from '../vm/config-paths.js';
import { ExitCode, UsageError } from './errors.js';
import type { CliIo } from './io.js';
import { quote } from './values.js';

interface CtlVerb {
  readonly args: string;
  readonly help: string;
  /** How many ARGS it takes: [min, max]. */
  readonly arity: readonly [number, number];
  run(client: ApiClient, args: readonly string[], io: CliIo): Promise<number>;
}

/** A 4xx/5xx answer, as the exit code and one line on stderr. */
function failed(r: ApiResponse, verb: string, io: CliIo): number {
  const err = (r.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const message = typeof err?.message === 'string' ? err.message : `HTTP ${r.status}`;
  const code = typeof err?.code === 'string' ? ` [${err.code}]` : '';
  io.stderr(`tsvmm: ctl ${verb}: ${message}${code}\n`);
  return r.status >= 500 || r.status < 400 ? ExitCode.VmmFailure : ExitCode.Usage;
}

async function call(client: ApiClient, verb: string, io: CliIo, method: string, path: string, body: unknown, print: (b: unknown) => string): Promise<number> {
  const r = await client.request(method, path, body);
  if (r.status !== 200) return failed(r, verb, io);
  io.stdout(`${print(r.body)}\n`);
  return ExitCode.PowerOff;
}

const pretty = (b: unknown) => JSON.stringify(b, null, 2);

function lifecycle(verb: string, line: (r: StateReply) => string, help: string): CtlVerb {
  return {
    args: '',
    help,
    arity: [0, 0],
    run: (client, _args, io) => call(client, verb, io, 'POST', `/v1/vm/${verb}`, undefined, (b) => line(b as StateReply)),
  };
}

function readConfig(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`ctl configure: ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UsageError(`ctl configure: ${file}: malformed JSON: ${(e as Error).message}`);
  }
}

// `restore DIR [--resume]`, the flag on either side of DIR.
function restoreArgs(args: readonly string[]): { dir: string; resume: boolean } {
  const flags = args.filter((a) => a.startsWith('-'));
  const dirs = args.filter((a) => !a.startsWith('-'));
  const bad = flags.find((f) => f !== '--resume');
  if (bad !== undefined) throw new UsageError(`ctl restore: unknown option ${quote(bad)} (expected --resume)`);
  if (dirs.length !== 1 || flags.length > 1) throw new UsageError('ctl restore: expected a snapshot directory (usage: tsvmm ctl SOCKET restore DIR [--resume])');
  return { dir: dirs[0]!, resume: flags.length === 1 };
}

/** Every verb, in the order `ctl --help` lists them. */
export const CTL_VERBS: Readonly<Record<string, CtlVerb>> = {
  describe: {
    args: '',
    help: 'the VM: state, config, boots, exit (JSON)',
    arity: [0, 0],
    run: (c, _a, io) => call(c, 'describe', io, 'GET', '/v1/vm', undefined, pretty),
  },
  configure: {
    args: 'FILE',
    help: 'give a `tsvmm serve` VMM its VM (a JSON config, as run --config; relative paths from here)',
    arity: [1, 1],
    run: (c, a, io) => call(c, 'configure', io, 'PUT', '/v1/vm', absoluteConfigPaths(readConfig(a[0]!), process.cwd()), () => 'configured (state created; next: start)'),
  },
  start: lifecycle('start', (r) => r.state, 'start a configured VM'),
  pause: lifecycle('pause', (r) => r.state, 'pause every vCPU'),
  resume: lifecycle('resume', (r) => r.state, 'resume a paused VM'),
  reset: lifecycle('reset', () => 'reset (the guest boots again)', 'hard reset'),
  shutdown: lifecycle('shutdown', () => 'power button pressed (the guest decides)', 'press the ACPI power button'),
  stop: lifecycle('stop', (r) => `stopped (exit code ${r.exit?.code ?? '?'}: ${r.exit?.reason ?? ''})`, 'stop the VM at once'),
  nmi: lifecycle('nmi', () => 'NMI sent to vCPU 0', 'send an NMI to vCPU 0'),
  inspect: {
    args: '[PATH]',
    help: 'the inspect tree, or its subtree at PATH (JSON)',
    arity: [0, 1],
    run: (c, a, io) => call(c, 'inspect', io, 'GET', `/v1/vm/inspect${a[0] ? `?path=${encodeURIComponent(a[0])}` : ''}`, undefined, pretty),
  },
  snapshot: {
    args: 'PATH',
    help: 'write a snapshot to the directory PATH',
    arity: [1, 1],
    // The VMM may run elsewhere in the file system: send the path as this shell means it.
    run: (c, a, io) =>
      call(c, 'snapshot', io, 'POST', '/v1/vm/snapshot', { path: resolve(a[0]!) }, (b) => {
        const r = b as SnapshotReply;
        return `snapshot written to ${r.path} (${r.state})`;
      }),
  },
  restore: {
    args: 'DIR [--resume]',
    help: 'give a `tsvmm serve` VMM its VM from a snapshot; it waits paused unless --resume',
    arity: [1, 2],
    run: (c, a, io) => {
      const { dir, resume } = restoreArgs(a);
      // As for snapshot: the path as this shell means it.
      const abs = resolve(dir);
      return call(c, 'restore', io, 'PUT', '/v1/vm/restore', { dir: abs, resume }, (b) => {
        const state = (b as Description).state;
        return `restored from ${abs} (${state}${state === 'paused' ? '; next: resume' : ''})`;
      });
    },
  },
  events: {
    args: '',
    help: 'follow the events, one JSON object per line, until the VM exits',
    arity: [0, 0],
    run: async (c, _a, io) => {
      let exited = false;
      for await (const e of c.events()) {
        io.stdout(`${JSON.stringify(e.data)}\n`);
        if (e.event === 'exit') exited = true;
      }
      if (exited) return ExitCode.PowerOff;
      io.stderr('tsvmm: ctl events: the VMM closed the stream before the VM exited\n');
      return ExitCode.VmmFailure;
    },
  },
};

/** The verbs with their arguments, for help texts. */
export function ctlVerbsHelp(): string {
  const usages = Object.entries(CTL_VERBS).map(([name, v]) => [`${name} ${v.args}`, v.help] as const);
  const width = Math.max(...usages.map(([u]) => u.length));
  return usages.map(([usage, help]) => `  ${usage.padEnd(width)}  ${help}`).join('\n');
}

/** Runs one ctl verb against the socket; resolves with the exit code. Usage mistakes throw UsageError. */
export async function runCtl(socket: string, verb: string, args: readonly string[], io: CliIo): Promise<number> {
  const spec = Object.hasOwn(CTL_VERBS, verb) ? CTL_VERBS[verb]! : undefined;
  if (spec === undefined) {
    throw new UsageError(`ctl: ${quote(verb)} is not a verb (expected one of ${Object.keys(CTL_VERBS).join(', ')})`);
  }
  const [min, max] = spec.arity;
  if (args.length < min || args.length > max) {
    const usage = `tsvmm ctl SOCKET ${verb}${spec.args ? ` ${spec.args}` : ''}`;
    const n = (k: number) => `${k} argument${k === 1 ? '' : 's'}`;
    const count = min === max ? n(min) : args.length < min ? `at least ${n(min)}` : `at most ${n(max)}`;
    throw new UsageError(`ctl ${verb}: expected ${count} (usage: ${usage})`);
  }
  try {
    return await spec.run(new ApiClient(socket), args, io);
  } catch (e) {
    if (e instanceof ApiUnreachableError) {
      io.stderr(`tsvmm: ctl ${verb}: cannot reach the VMM: ${e.message}\n`);
      return ExitCode.VmmFailure;
    }
    throw e;
  }
}
