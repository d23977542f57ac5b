/**
 * Test support for the SSE/MMX/x87 differential tests: runs one
 * instruction from the same starting state on the host CPU (through the C
 * harness sse-diff-host.c, compiled with `cc`) and on the emulator, and
 * returns both end states in the same shape (FXSAVE image, GPRs, RFLAGS,
 * a memory window). Not used by the emulator itself.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GuestMemory } from '../memory/guest-memory.js';
import { ATTR, CS, Cpu } from './cpu.js';
import { decode } from './decoder.js';
import { EA } from './ea.js';
import { CpuFault, Vec } from './fault.js';
import { fxrstorImage, fxsaveImage } from './fxsave.js';
import { Instr } from './instr.js';
import { invalidOpcode } from './ops-misc.js';

/** Guest/host address of the memory window (the harness maps it there). */
export const MEM_BASE = 0x200000;
/** The window compared after each case: [MEM_BASE + WIN_OFF, + WIN_SIZE), crossing a page boundary. */
export const WIN_OFF = 0xf00;
export const WIN_SIZE = 0x200;
/** Address of the window's first byte. */
export const WIN = MEM_BASE + WIN_OFF;

/** A starting state. */
export interface DiffState {
  code: Uint8Array;
  /** FXSAVE image (x87, MMX, MXCSR, XMM). */
  fx: Uint8Array;
  /** RAX..R15. */
  gpr: bigint[];
  rflags: number;
  /** Initial contents of the memory window. */
  mem: Uint8Array;
}

/** An end state; sig = 0 when the instruction completed, else the signal the host raised (SIGSEGV 11, SIGILL 4, SIGFPE 8). */
export interface DiffResult {
  sig: number;
  fx: Uint8Array;
  gpr: bigint[];
  rflags: number;
  mem: Uint8Array;
}

/** A fresh state: FNINIT x87 state, MXCSR 0x1F80, zero registers and memory. */
export function blankState(code: number[]): DiffState {
  const fx = new Uint8Array(512);
  const d = new DataView(fx.buffer);
  d.setUint16(0, 0x37f, true);
  d.setUint32(24, 0x1f80, true);
  return { code: Uint8Array.from(code), fx, gpr: new Array<bigint>(16).fill(0n), rflags: 2, mem: new Uint8Array(WIN_SIZE) };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

let harness: string | null | undefined;
let harnessWhy = '';

/** Compiles the harness once; returns its path, or null (with hostSkipReason()) when it cannot run here. */
export function hostHarness(): string | null {
  if (harness !== undefined) return harness;
  harness = null;
  if (process.arch !== 'x64' || process.platform !== 'linux') {
    harnessWhy = `host is ${process.platform}/${process.arch}, not linux/x64`;
    return null;
  }
  const src = fileURLToPath(new URL('../../../src/x86/sse-diff-host.c', import.meta.url));
  if (!existsSync(src)) {
    harnessWhy = `harness source not found at ${src}`;
    return null;
  }
  const text = readFileSync(src);
  const dir = join(tmpdir(), `tsvmm-sse-diff-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`);
  const exe = join(dir, 'harness');
  if (!existsSync(exe)) {
    mkdirSync(dir, { recursive: true });
    // Test files run in parallel processes: build under a private name, then rename atomically.
    const tmp = `${exe}.${process.pid}`;
    const r = spawnSync('cc', ['-O1', '-o', tmp, src], { encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      harnessWhy = `cannot compile the C harness with cc: ${r.error?.message ?? r.stderr}`;
      return null;
    }
    renameSync(tmp, exe);
  }
  const probe = spawnSync(exe, [], { input: '\n', encoding: 'utf8' });
  if (probe.status !== 0) {
    harnessWhy = `the harness does not run: ${probe.stdout}${probe.stderr}`;
    return null;
  }
  harness = exe;
  return exe;
}

/** Why hostHarness() returned null. */
export function hostSkipReason(): string {
  return harnessWhy;
}

/** Runs the cases natively, in one harness process. */
export function runHost(cases: DiffState[]): DiffResult[] {
  const exe = hostHarness();
  if (!exe) throw new Error(hostSkipReason());
  const input = cases
    .map((c) => `${hex(c.code)} ${hex(c.fx)} ${c.gpr.map((g) => BigInt.asUintN(64, g).toString(16)).join(',')} ${c.rflags.toString(16)} ${hex(c.mem)}\n`)
    .join('');
  const r = spawnSync(exe, [], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`harness failed: ${r.stdout.slice(-500)} ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  if (lines.length !== cases.length) throw new Error(`harness answered ${lines.length} of ${cases.length} cases`);
  return lines.map((l) => {
    const p = l.split(' ');
    if (p[0] === 'SIG') return { sig: Number(p[1]), fx: new Uint8Array(512), gpr: [], rflags: 0, mem: new Uint8Array(0) };
    return {
      sig: 0,
      fx: unhex(p[1]!),
      gpr: p[2]!.split(',').map((x) => BigInt.asIntN(64, BigInt(`0x${x}`))),
      rflags: Number.parseInt(p[3]!, 16),
      mem: unhex(p[4]!),
    };
  });
}

/** A CPU in flat 64-bit mode (no paging: linear = physical) over 4 MiB of RAM, OSFXSR and OSXMMEXCPT set. */
export function flatCpu(): Cpu {
  const memory = GuestMemory.create(4 * 1024 * 1024, { backing: 'shared' });
  const port = { read: () => 0xffffffff, write: () => {} };
  const cpu = new Cpu(memory, port, port, { tscHz: 1e9, nowNs: () => 0, bootWallNs: 0 });
  cpu.cr0 = 0x33;
  cpu.cr4 = 0x620;
  cpu.efer = 0x500;
  cpu.segAttr[CS] = ATTR.L | ATTR.P | ATTR.S | 0xb;
  cpu.updateMode();
  return cpu;
}

const SIGNAL_OF: Record<number, number> = { [Vec.GP]: 11, [Vec.PF]: 11, [Vec.SS]: 11, [Vec.UD]: 4, [Vec.XM]: 8, [Vec.MF]: 8, [Vec.AC]: 7, [Vec.NM]: 99 };

/** Decodes `code` as one 64-bit instruction (at an address outside RAM). */
export function decodeOne(code: Uint8Array): Instr {
  const i = new Instr(invalidOpcode, EA.abs!);
  decode({ byte: (lin) => code[lin - 0x300000] ?? 0 }, { mode64: true, code32: false, csBase: 0 }, 0x300000, i);
  return i;
}

/** Runs one case on the emulator. */
export function runEmu(cpu: Cpu, c: DiffState): DiffResult {
  const u8 = cpu.u8;
  u8.fill(0, MEM_BASE, MEM_BASE + 0x2000);
  u8.set(c.mem, WIN);
  fxrstorImage(cpu.fpu, c.fx, true, 16);
  for (let r = 0; r < 16; r++) {
    const v = BigInt.asUintN(64, c.gpr[r]!);
    cpu.R[r] = Number(v & 0xffffffffn) | 0;
    cpu.H[r] = Number(v >> 32n) | 0;
  }
  cpu.fOp = 0;
  cpu.flags = (c.rflags & 0x8d5) | 2;
  const i = decodeOne(c.code);
  try {
    i.fn(cpu, i);
  } catch (e) {
    if (e instanceof CpuFault) return { sig: SIGNAL_OF[e.vector] ?? 100 + e.vector, fx: new Uint8Array(512), gpr: [], rflags: 0, mem: new Uint8Array(0) };
    throw e;
  }
  const fx = new Uint8Array(512);
  fxsaveImage(cpu.fpu, fx, true, 16);
  const gpr: bigint[] = [];
  for (let r = 0; r < 16; r++) gpr.push(BigInt.asIntN(64, (BigInt(cpu.H[r]! >>> 0) << 32n) | BigInt(cpu.R[r]! >>> 0)));
  return { sig: 0, fx, gpr, rflags: cpu.getFlags() & 0x8d5, mem: u8.slice(WIN, WIN + WIN_SIZE) };
}
