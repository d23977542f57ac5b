/**
 * bench/emu-mips: guest instructions per second of the software CPU on
 * three fixed workloads (bench/guests/*.s), and in the same run the host
 * executing the same loops natively (a C program with the same
 * instructions in inline assembly), with the ratio.
 *
 *   node dist/bench/emu-mips.js [scale]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IoBus } from '../src/bus/io-bus.js';
import { silentSink } from '../src/bus/log.js';
import { EmuVcpu } from '../src/hv/emu/emu-vcpu.js';
import { ExitReason } from '../src/hv/partition.js';
import { longModeEntry } from '../src/loader/cpu-state.js';
import { GuestMemory } from '../src/memory/guest-memory.js';
import { assembleFlat, GUEST_LOAD_ADDRESS, TestDevice } from '../test/guests/harness.js';

interface Workload {
  readonly name: string;
  /** Iterations at scale 1. */
  readonly iterations: number;
  /** The same loop for the host, as a C function body run `n` times. */
  readonly native: string;
}

const WORKLOADS: readonly Workload[] = [
  {
    name: 'compute',
    iterations: 10_000_000,
    native: `
      unsigned long a = 0x12345678, b = 0x9abcdef0, c = 0, d, s;
      __asm__ volatile(
        "1: add %%rbx, %%rax\\n xor %%rcx, %%rbx\\n shl $3, %%rax\\n imul $31, %%rbx, %%rdx\\n"
        " sub %%rdx, %%rax\\n lea 7(%%rax,%%rbx,2), %%rsi\\n and $0xffffff, %%esi\\n inc %%rcx\\n"
        " cmp %%rdi, %%rcx\\n jne 1b"
        : "+a"(a), "+b"(b), "+c"(c), "=&d"(d), "=&S"(s) : "D"(n) : "cc");
      return 10 * n;`,
  },
  {
    name: 'memory',
    iterations: 3_000_000,
    native: `
      static unsigned char *buf;
      if (!buf) buf = calloc(1, 16 << 20);
      unsigned long c = 0, a, d;
      __asm__ volatile(
        "1: mov %%rcx, %%rax\\n imul $4104, %%rax, %%rax\\n and $0xfffff8, %%eax\\n"
        " mov (%%rbx,%%rax), %%rdx\\n add %%rcx, %%rdx\\n mov %%rdx, (%%rbx,%%rax)\\n"
        " inc %%rcx\\n cmp %%rdi, %%rcx\\n jne 1b"
        : "+c"(c), "=&a"(a), "=&d"(d) : "b"(buf), "D"(n) : "cc", "memory");
      return 9 * n;`,
  },
  {
    name: 'syscall',
    iterations: 1_000_000,
    native: `
      /* The host's cheapest real system call stands in for the guest's empty one. */
      for (unsigned long i = 0; i < n; i++) { long r; __asm__ volatile("syscall" : "=a"(r) : "a"(39) : "rcx", "r11", "memory"); }
      return 5 * n;`,
  },
];

function guestSource(name: string): string {
  return fileURLToPath(new URL(`../../bench/guests/${name}.s`, import.meta.url));
}

/** Runs a workload on the software CPU; returns retired instructions and seconds. */
async function runEmu(w: Workload, iterations: number): Promise<{ instructions: number; seconds: number }> {
  const image = await assembleFlat(guestSource(w.name));
  const memory = GuestMemory.create(64 << 20, { backing: 'shared' });
  memory.write(GUEST_LOAD_ADDRESS, image);
  let done = false;
  const dev = new TestDevice(() => {}, () => {
    done = true;
  });
  const pio = new IoBus('pio', 0x10000, silentSink);
  const mmio = new IoBus('mmio', 2 ** 52, silentSink);
  pio.register([dev]);
  mmio.register([dev]);
  const vcpu = new EmuVcpu(0, {
    index: 0, memory, buses: { pio, mmio }, cpus: 1, log: silentSink,
    clock: { tscHz: 1e9, nowNs: () => performance.now() * 1e6, bootWallNs: 0 },
  });
  const entry = longModeEntry(memory, GUEST_LOAD_ADDRESS);
  entry.regs.rdi = BigInt(iterations);
  entry.regs.rsi = BigInt(iterations);
  vcpu.setSpecialRegisters(entry.sregs);
  vcpu.setRegisters(entry.regs);
  const t0 = performance.now();
  while (!done) {
    const r = vcpu.run();
    if (r !== ExitReason.Interrupted && !done) throw new Error(`${w.name}: unexpected exit ${r} ${vcpu.exit.message}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  if (dev.transcript.exitStatus !== 0) throw new Error(`${w.name}: the guest reported failure`);
  return { instructions: vcpu.executor.retired, seconds };
}

/** Compiles the native loops once; returns a runner, or null (with the reason printed) without a compiler. */
function nativeRunner(): ((w: Workload, n: number) => { instructions: number; seconds: number }) | null {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-bench-'));
  const fns = WORKLOADS.map((w) => `static unsigned long w_${w.name}(unsigned long n) {${w.native}\n}`).join('\n');
  const table = WORKLOADS.map((w) => `{"${w.name}", w_${w.name}}`).join(',');
  writeFileSync(
    join(dir, 'native.c'),
    `#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <time.h>\n${fns}\n` +
      `static struct { const char *name; unsigned long (*f)(unsigned long); } T[] = {${table}};\n` +
      `int main(int argc, char **argv) { unsigned long n = strtoul(argv[2], 0, 10);\n` +
      ` for (unsigned i = 0; i < sizeof T / sizeof T[0]; i++) if (!strcmp(T[i].name, argv[1])) {\n` +
      `  struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a); unsigned long ins = T[i].f(n); clock_gettime(CLOCK_MONOTONIC, &b);\n` +
      `  printf("%lu %.9f\\n", ins, (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9); return 0; }\n return 1; }\n`,
  );
  try {
    execFileSync('cc', ['-O2', '-o', join(dir, 'native'), join(dir, 'native.c')], { stdio: 'pipe' });
  } catch (e) {
    console.log(`  (no native baseline: cannot compile it: ${(e as Error).message.split('\n')[0]})`);
    return null;
  }
  return (w, n) => {
    const [ins, sec] = execFileSync(join(dir, 'native'), [w.name, String(n)]).toString().trim().split(' ');
    return { instructions: Number(ins), seconds: Number(sec) };
  };
}

async function main(): Promise<void> {
  const scale = Number(process.argv[2] ?? 1);
  console.log(`bench/emu-mips: software CPU vs the host, node ${process.version}, scale ${scale}`);
  const native = nativeRunner();
  for (const w of WORKLOADS) {
    const n = Math.max(1, Math.round(w.iterations * scale));
    const emu = await runEmu(w, n);
    const mips = emu.instructions / emu.seconds / 1e6;
    let line = `  ${w.name.padEnd(8)} emu ${mips.toFixed(1).padStart(6)} MIPS (${(emu.instructions / 1e6).toFixed(1)}M instructions in ${emu.seconds.toFixed(2)} s)`;
    if (native) {
      const h = native(w, n * 10);
      const hostMips = h.instructions / h.seconds / 1e6;
      line += `; host ${hostMips.toFixed(0).padStart(6)} MIPS; emu/host ratio ${(mips / hostMips).toFixed(4)}`;
    }
    console.log(line);
  }
}

void main();
