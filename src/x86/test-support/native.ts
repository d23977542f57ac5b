/**
 * The host CPU as an oracle: a small C harness, compiled here with the
 * system compiler, maps the test layout at fixed addresses, loads all 16
 * GPRs and RFLAGS, jumps to the instruction under test and lands on a pad
 * that stores everything back. Faults are caught with a signal handler on
 * an alternate stack (so the guest stack page is not touched) that
 * redirects to the same epilogue. Output: one JSON line per case.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CODE_IP, CODE_PAGE, DATA_BASE, DATA_SEED, DATA_SIZE, type DiffCase, type DiffResult, STACK_BASE, STACK_SEED, STACK_SIZE,
} from './layout.js';

// State page: inputs (regs @0, flags @128), outputs (regs @0x200, flags @0x280,
// landing id @0x288, fault rip @0x290, signal @0x298); scratch stack below 0x132000.
const C_SOURCE = String.raw`
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#define CODE_PAGE ${CODE_PAGE}UL
#define CODE_IP ${CODE_IP}UL
#define DATA_BASE ${DATA_BASE}UL
#define DATA_SIZE ${DATA_SIZE}UL
#define STACK_BASE ${STACK_BASE}UL
#define STACK_SIZE ${STACK_SIZE}UL
#define STATE 0x130000UL

__attribute__((visibility("hidden"))) uint64_t host_rsp;
__attribute__((visibility("hidden"))) uint64_t code_entry = CODE_IP;
extern void run_case(void);
extern char guest_exit[];

__asm__(
  ".text\n.globl run_case\n.hidden run_case\nrun_case:\n"
  " push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
  " mov %rsp, host_rsp(%rip)\n"
  " mov $0x130000, %eax\n"
  " push 128(%rax)\n popfq\n"
  " mov 8(%rax), %rcx\n mov 16(%rax), %rdx\n mov 24(%rax), %rbx\n mov 40(%rax), %rbp\n"
  " mov 48(%rax), %rsi\n mov 56(%rax), %rdi\n mov 64(%rax), %r8\n mov 72(%rax), %r9\n"
  " mov 80(%rax), %r10\n mov 88(%rax), %r11\n mov 96(%rax), %r12\n mov 104(%rax), %r13\n"
  " mov 112(%rax), %r14\n mov 120(%rax), %r15\n mov 32(%rax), %rsp\n mov (%rax), %rax\n"
  " jmp *code_entry(%rip)\n"
  ".globl guest_exit\n.hidden guest_exit\nguest_exit:\n"
  " mov %rax, 0x130200\n mov %rcx, 0x130208\n mov %rdx, 0x130210\n mov %rbx, 0x130218\n"
  " mov %rsp, 0x130220\n mov %rbp, 0x130228\n mov %rsi, 0x130230\n mov %rdi, 0x130238\n"
  " mov %r8, 0x130240\n mov %r9, 0x130248\n mov %r10, 0x130250\n mov %r11, 0x130258\n"
  " mov %r12, 0x130260\n mov %r13, 0x130268\n mov %r14, 0x130270\n mov %r15, 0x130278\n"
  " mov $0x132000, %rsp\n pushfq\n pop %rax\n mov %rax, 0x130280\n cld\n"
  " mov host_rsp(%rip), %rsp\n"
  " pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n ret\n");

static void on_signal(int sig, siginfo_t *si, void *ctx) {
  (void)si;
  ucontext_t *uc = ctx;
  *(volatile uint64_t *)(STATE + 0x290) = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
  *(volatile uint32_t *)(STATE + 0x298) = (uint32_t)sig;
  *(volatile uint8_t *)(STATE + 0x288) = 0xff;
  /* The guest's RSP may be non-canonical, which the kernel cannot return to: keep it aside. */
  *(volatile uint64_t *)(STATE + 0x2a0) = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
  uc->uc_mcontext.gregs[REG_RSP] = 0x132000;
  uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)guest_exit;
}

static void *map_at(uint64_t addr, uint64_t size, int prot) {
  void *p = mmap((void *)addr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p != (void *)addr) { fprintf(stderr, "cannot map 0x%lx\n", (unsigned long)addr); exit(2); }
  return p;
}

static void fill(uint8_t *p, uint64_t n, uint32_t x) {
  for (uint64_t i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; p[i] = (uint8_t)x; }
}

/* A landing pad: mov byte [STATE+0x288], id; jmp [rip+0]; dq guest_exit. */
static void pad(uint8_t *at, uint8_t id) {
  uint8_t b[] = {0xc6, 0x04, 0x25, 0x88, 0x02, 0x13, 0x00, id, 0xff, 0x25, 0, 0, 0, 0};
  memcpy(at, b, sizeof b);
  uint64_t t = (uint64_t)(uintptr_t)guest_exit;
  memcpy(at + sizeof b, &t, 8);
}

static void dump(const char *tag, const uint8_t *now, const uint8_t *was, uint64_t base, uint64_t n, int *first) {
  (void)tag;
  for (uint64_t i = 0; i < n; i++) if (now[i] != was[i]) {
    printf("%s\"%lx=%x\"", *first ? "" : ",", (unsigned long)(base + i), now[i]);
    *first = 0;
  }
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  FILE *f = fopen(argv[1], "rb");
  if (!f) return 2;
  uint8_t *code = map_at(CODE_PAGE, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC);
  uint8_t *data = map_at(DATA_BASE, DATA_SIZE, PROT_READ | PROT_WRITE);
  uint8_t *stack = map_at(STACK_BASE, STACK_SIZE, PROT_READ | PROT_WRITE);
  map_at(STATE, 0x2000, PROT_READ | PROT_WRITE);
  static uint8_t data0[DATA_SIZE], stack0[STACK_SIZE], dinit[DATA_SIZE], sinit[STACK_SIZE];
  fill(data0, DATA_SIZE, ${DATA_SEED}u);
  fill(stack0, STACK_SIZE, ${STACK_SEED}u);
  stack_t alt = { .ss_sp = malloc(1 << 16), .ss_size = 1 << 16, .ss_flags = 0 };
  sigaltstack(&alt, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  int sigs[] = {SIGFPE, SIGSEGV, SIGILL, SIGBUS, SIGTRAP};
  for (int k = 0; k < 5; k++) sigaction(sigs[k], &sa, NULL);
  uint64_t *state = (uint64_t *)STATE;
  for (;;) {
    uint8_t len;
    int32_t target;
    uint32_t npatch;
    if (fread(&len, 1, 1, f) != 1) break;
    uint8_t bytes[32];
    if (fread(bytes, 1, len, f) != len || fread(&target, 4, 1, f) != 1) return 3;
    if (fread(state, 8, 17, f) != 17 || fread(&npatch, 4, 1, f) != 1) return 3;
    memcpy(data, data0, DATA_SIZE);
    memcpy(stack, stack0, STACK_SIZE);
    for (uint32_t k = 0; k < npatch; k++) {
      uint32_t addr, n;
      if (fread(&addr, 4, 1, f) != 1 || fread(&n, 4, 1, f) != 1) return 3;
      if (fread((void *)(uintptr_t)addr, 1, n, f) != n) return 3;
    }
    memcpy(dinit, data, DATA_SIZE);
    memcpy(sinit, stack, STACK_SIZE);
    memset(code, 0xcc, 0x1000);
    memcpy(code + (CODE_IP - CODE_PAGE), bytes, len);
    pad(code + (CODE_IP - CODE_PAGE) + len, 1);
    if (target != 0x7fffffff) pad(code + (CODE_IP - CODE_PAGE) + target, 2);
    __builtin___clear_cache((char *)code, (char *)code + 0x1000);
    memset((void *)(STATE + 0x200), 0, 0x100);
    run_case();
    uint64_t *out = (uint64_t *)(STATE + 0x200);
    if (*(uint8_t *)(STATE + 0x288) == 0xff) out[4] = *(uint64_t *)(STATE + 0x2a0);
    printf("{\"r\":[");
    for (int k = 0; k < 16; k++) printf("%s\"%lx\"", k ? "," : "", (unsigned long)out[k]);
    printf("],\"f\":%lu,\"land\":%u,\"sig\":%u,\"rip\":%lu,\"m\":[", (unsigned long)out[16],
      *(uint8_t *)(STATE + 0x288), *(uint32_t *)(STATE + 0x298), (unsigned long)*(uint64_t *)(STATE + 0x290));
    int first = 1;
    dump("d", data, dinit, DATA_BASE, DATA_SIZE, &first);
    dump("s", stack, sinit, STACK_BASE, STACK_SIZE, &first);
    printf("]}\n");
  }
  return 0;
}
`;

let compiled: string | null | undefined;

/** Compiles the harness once per source version; null (with the reason in `nativeSkipReason`) when impossible. */
export function nativeHarness(): string | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    nativeSkipReason = `host is ${process.platform}/${process.arch}, not linux/x64`;
    return null;
  }
  const hash = createHash('sha256').update(C_SOURCE).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'tsvmm-x86-diff');
  const exe = join(dir, `harness-${hash}`);
  if (!existsSync(exe)) {
    mkdirSync(dir, { recursive: true });
    const src = join(dir, `harness-${hash}-${process.pid}.c`);
    writeFileSync(src, C_SOURCE);
    try {
      execFileSync(process.env.CC ?? 'cc', ['-O1', '-o', `${exe}.${process.pid}`, src], { stdio: 'pipe' });
    } catch (e) {
      nativeSkipReason = `no working C compiler: ${(e as Error).message.split('\n')[0]}`;
      return null;
    }
    renameSync(`${exe}.${process.pid}`, exe);
  }
  compiled = exe;
  return exe;
}

/** Why the native side is unavailable (set by nativeHarness). */
export let nativeSkipReason = '';

/** Serialises cases in the harness's input format. */
function encodeCases(cases: readonly DiffCase[]): Buffer {
  const parts: Buffer[] = [];
  for (const c of cases) {
    const head = Buffer.alloc(1 + c.code.length + 4 + 17 * 8 + 4);
    let o = 0;
    head[o++] = c.code.length;
    head.set(c.code, o);
    o += c.code.length;
    head.writeInt32LE(c.target ?? 0x7fffffff, o);
    o += 4;
    for (let r = 0; r < 16; r++, o += 8) head.writeBigUInt64LE(BigInt.asUintN(64, c.regs[r]!), o);
    head.writeBigUInt64LE(BigInt(c.flags | 2), o);
    o += 8;
    const patches = c.patches ?? [];
    head.writeUInt32LE(patches.length, o);
    parts.push(head);
    for (const p of patches) {
      const h = Buffer.alloc(8);
      h.writeUInt32LE(p.addr, 0);
      h.writeUInt32LE(p.bytes.length, 4);
      parts.push(h, Buffer.from(p.bytes));
    }
  }
  return Buffer.concat(parts);
}

/** Runs the cases on the host CPU. */
export function runNative(exe: string, cases: readonly DiffCase[]): DiffResult[] {
  const dir = join(tmpdir(), 'tsvmm-x86-diff');
  const input = join(dir, `cases-${process.pid}-${Math.random().toString(36).slice(2)}.bin`);
  writeFileSync(input, encodeCases(cases));
  let text: string;
  try {
    text = execFileSync(exe, [input], { maxBuffer: 1 << 30, encoding: "utf8", timeout: 120_000 });
  } finally {
    if (!process.env.TSVMM_KEEP_CASES) unlinkSync(input);
  }
  const lines = text.split('\n').filter((l) => l.length > 0);
  if (lines.length !== cases.length) throw new Error(`native harness produced ${lines.length} results for ${cases.length} cases`);
  return lines.map((l) => {
    const j = JSON.parse(l) as { r: string[]; f: number; land: number; sig: number; rip: number; m: string[] };
    const land = j.land === 1 ? 'next' : j.land === 2 ? 'target' : j.land === 0xff ? 'fault' : 'lost';
    return { regs: j.r.map((h) => BigInt(`0x${h}`)), flags: j.f, land, sig: j.sig, faultRip: j.rip, mem: j.m };
  });
}
