/**
 * The commands of the console REPL (Ctrl-] on a terminal console): what
 * each does, its help line, argument parsing and completion. The verbs go
 * through the same controller as the HTTP API, so both behave alike. The
 * terminal side (readline, switching the console) is in repl.ts.
 */
import { ApiError } from '../api/errors.js';
import { inspectLines, type InspectJson } from '../api/inspect-json.js';
import type { VmmController } from '../api/controller.js';
import { VmStateError } from '../vm/vm.js';

/** Guest memory as the REPL reads and writes it (the current machine's). */
export interface ReplMemory {
  readonly size: number;
  read(gpa: number, length: number): Uint8Array;
  write(gpa: number, bytes: Uint8Array): void;
}

/** What the REPL acts on. */
export interface ReplTarget {
  readonly controller: VmmController;
  /** The running machine's memory, or null when there is none (stopped). */
  memory(): ReplMemory | null;
}

/** What the terminal does after a command: prompt again, go back to the console, or end (the VM stopped). */
export type ReplNext = 'prompt' | 'console' | 'exit';

/** A command's output (lines, no trailing newline) and what comes next. */
export interface ReplResult {
  readonly output: string;
  readonly next: ReplNext;
}

/** Most bytes `read` dumps at once. */
export const MAX_READ = 64 * 1024;

interface Command {
  readonly name: string;
  readonly args: string;
  readonly help: string;
  run(args: string[], target: ReplTarget): Promise<ReplResult> | ReplResult;
}

const say = (output: string, next: ReplNext = 'prompt'): ReplResult => ({ output, next });

class ReplUsage extends Error {}

/** Parses a number: 0x-prefixed hex or decimal. */
export function parseReplNumber(text: string | undefined, what: string): number {
  if (text === undefined) throw new ReplUsage(`missing ${what}`);
  const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text.slice(2), 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw new ReplUsage(`${what}: ${JSON.stringify(text)} is not a number (decimal, or hex with 0x)`);
  return n;
}

/** Formats bytes as `xxd` does: address, 16 hex bytes, ASCII. */
export function hexDump(base: number, bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const row = bytes.subarray(off, off + 16);
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${(base + off).toString(16).padStart(8, '0')}: ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}

function memoryOf(target: ReplTarget): ReplMemory {
  const m = target.memory();
  if (m === null) throw new ReplUsage(`the VM is ${target.controller.state}: no guest memory`);
  return m;
}

async function verb(target: ReplTarget, name: Parameters<VmmController['verb']>[0], done: string): Promise<ReplResult> {
  const r = await target.controller.verb(name, 'stopped from the console');
  return say(done.replace('$STATE', r.state));
}

function info(target: ReplTarget): ReplResult {
  const d = target.controller.describe();
  const lines = [`state: ${d.state}`, `boots: ${d.boots}`];
  if (d.config) {
    const c = d.config;
    lines.push(`memory: ${c.memory / 1024 / 1024} MiB, cpus: ${c.cpus}, accel: ${c.accel}`, `kernel: ${c.kernel ?? '(default guest)'}`);
  }
  if (d.exit) lines.push(`exit: ${d.exit.code} (${d.exit.reason})`);
  const vcpus = d.state === 'unconfigured' ? null : tryInspect(target, 'machine/vcpus');
  if (vcpus && typeof vcpus === 'object') {
    for (const [i, v] of Object.entries(vcpus)) {
      const c = v as Record<string, InspectJson>;
      lines.push(`vcpu${i}: rip ${String(c.rip)} ${String(c.mode)}${c.halted ? ' halted' : ''}, ${String(c.instructions)} instructions`);
    }
  }
  return say(lines.join('\n'));
}

function tryInspect(target: ReplTarget, path: string): InspectJson | null {
  try {
    return target.controller.inspect(path);
  } catch {
    return null;
  }
}

/** Every command, in the order help lists them. */
export const REPL_COMMANDS: readonly Command[] = [
  { name: 'continue', args: '', help: 'back to the guest console (also Enter on an empty line, Ctrl-D or Ctrl-])', run: () => say('', 'console') },
  { name: 'info', args: '', help: 'state, configuration and vCPUs', run: (_a, t) => info(t) },
  { name: 'pause', args: '', help: 'pause every vCPU', run: (_a, t) => verb(t, 'pause', 'paused') },
  { name: 'resume', args: '', help: 'resume a paused VM', run: (_a, t) => verb(t, 'resume', 'running') },
  { name: 'reset', args: '', help: 'hard reset: the machine is rebuilt and boots again', run: (_a, t) => verb(t, 'reset', 'reset; the guest boots again') },
  {
    name: 'shutdown',
    args: '',
    help: 'press the ACPI power button (the guest decides)',
    run: (_a, t) => verb(t, 'shutdown', 'power button pressed'),
  },
  { name: 'nmi', args: '', help: 'send an NMI to vCPU 0 (through its local APIC)', run: (_a, t) => verb(t, 'nmi', 'NMI sent to vCPU 0') },
  {
    name: 'inspect',
    args: '[PATH]',
    help: 'print the inspect tree, or the subtree at PATH (Tab completes)',
    run: (a, t) => say(inspectLines(t.controller.inspect(a[0] ?? ''), a[0]?.replace(/^\/+|\/+$/g, '') ?? '').join('\n')),
  },
  {
    name: 'read',
    args: 'ADDR LEN',
    help: `hex dump of guest memory (numbers decimal or 0x-hex; LEN at most ${MAX_READ})`,
    run: (a, t) => {
      const addr = parseReplNumber(a[0], 'ADDR');
      const len = parseReplNumber(a[1], 'LEN');
      if (len < 1 || len > MAX_READ) throw new ReplUsage(`LEN: expected 1 to ${MAX_READ}`);
      return say(hexDump(addr, memoryOf(t).read(addr, len)));
    },
  },
  {
    name: 'write',
    args: 'ADDR HEXBYTES',
    help: 'write bytes to guest memory, e.g. write 0x1000 deadbeef',
    run: (a, t) => {
      const addr = parseReplNumber(a[0], 'ADDR');
      const hex = a.slice(1).join('');
      if (hex === '' || !/^([0-9a-f]{2})+$/i.test(hex)) throw new ReplUsage('HEXBYTES: expected pairs of hex digits, e.g. deadbeef');
      const bytes = Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
      memoryOf(t).write(addr, bytes);
      return say(`wrote ${bytes.length} byte${bytes.length === 1 ? '' : 's'} at 0x${addr.toString(16)}`);
    },
  },
  {
    name: 'snapshot',
    args: 'PATH',
    help: 'write a snapshot to the directory PATH (a running VM is paused for it, then resumed)',
    run: async (a, t) => {
      if (a[0] === undefined) throw new ReplUsage('missing PATH');
      const r = await t.controller.snapshot(a[0]);
      return say(`snapshot written to ${r.path} (${r.state})`);
    },
  },
  { name: 'stop', args: '', help: 'stop the VM at once (no guest shutdown)', run: (_a, t) => verb(t, 'stop', 'stopped').then((r) => ({ ...r, next: 'exit' })) },
  { name: 'quit', args: '', help: 'stop the VM and exit (as stop)', run: (_a, t) => verb(t, 'stop', 'stopped').then((r) => ({ ...r, next: 'exit' })) },
  { name: 'help', args: '', help: 'list the commands', run: () => say(helpText()) },
];

/** The help text: one line per command. */
export function helpText(): string {
  const width = Math.max(...REPL_COMMANDS.map((c) => `${c.name} ${c.args}`.length));
  return REPL_COMMANDS.map((c) => `  ${`${c.name} ${c.args}`.padEnd(width)}  ${c.help}`).join('\n');
}

/** Runs one line typed at the prompt; never throws (errors are output lines). */
export async function runReplLine(line: string, target: ReplTarget): Promise<ReplResult> {
  const [name, ...args] = line.trim().split(/\s+/).filter((w) => w !== '');
  if (name === undefined) return say('', 'console');
  const matches = REPL_COMMANDS.filter((c) => c.name.startsWith(name.toLowerCase()));
  const command = matches.find((c) => c.name === name.toLowerCase()) ?? (matches.length === 1 ? matches[0] : undefined);
  if (command === undefined) {
    const hint = matches.length > 1 ? `: ambiguous (${matches.map((c) => c.name).join(', ')})` : ' (type help)';
    return say(`unknown command ${JSON.stringify(name)}${hint}`);
  }
  try {
    return await command.run(args, target);
  } catch (e) {
    if (e instanceof ReplUsage) return say(`${command.name}: ${e.message} (usage: ${command.name} ${command.args})`.trimEnd());
    if (e instanceof ApiError || e instanceof VmStateError) return say(`${command.name}: ${e.message}`);
    return say(`${command.name}: failed: ${(e as Error).message}`);
  }
}

/** readline's completer: command names, then inspect paths. */
export function replCompleter(target: ReplTarget): (line: string) => [string[], string] {
  return (line) => {
    const words = line.split(/\s+/);
    if (words.length <= 1) {
      const hits = REPL_COMMANDS.map((c) => c.name).filter((n) => n.startsWith(line.trim()));
      return [hits.map((h) => `${h} `), line];
    }
    if (words[0] === 'inspect' && words.length === 2) {
      const partial = words[1]!;
      const slash = partial.lastIndexOf('/');
      const parent = partial.slice(0, slash + 1);
      const node = tryInspect(target, parent);
      if (node === null || typeof node !== 'object') return [[], partial];
      const hits = Object.entries(node)
        .filter(([k]) => `${parent}${k}`.startsWith(partial))
        .map(([k, v]) => `${parent}${k}${v !== null && typeof v === 'object' ? '/' : ''}`);
      return [hits, partial];
    }
    return [[], line];
  };
}
