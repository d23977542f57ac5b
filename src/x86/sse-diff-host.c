/*
 * Host side of the SSE/MMX/x87 differential test (sse-diff.test.ts and
 * x87-diff.test.ts). Reads one case per line on stdin:
 *
 *   <code hex> <fxsave image hex, 512 bytes> <16 GPRs hex, comma-separated> <rflags hex> <memory window hex>
 *
 * loads the state (FXRSTOR for x87/MMX/SSE, then RFLAGS and the GPRs except
 * RSP), runs the instruction bytes natively, stores the state back (GPRs,
 * RFLAGS, FXSAVE) and prints one line:
 *
 *   OK <fxsave image hex> <GPRs> <rflags> <memory window hex>   or   SIG <signal number>
 *
 * The memory window lives at a fixed address (MEM_BASE) so the emulator can
 * use the same addresses.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MEM_BASE 0x200000UL
#define MEM_SIZE 0x2000UL
#define WIN_OFF 0xf00UL
#define WIN_SIZE 0x200UL

struct state {
  uint8_t fx[512];
  uint64_t gpr[16];
  uint64_t rflags;
} __attribute__((aligned(64)));

struct state g_st;
uint64_t g_state, g_code, g_rsp, g_tmp;
uint8_t g_host_fx[512] __attribute__((aligned(16)));
extern void run_stub(void);
extern char stub_epilogue[];

__asm__(
    ".text\n"
    ".globl run_stub\n"
    "run_stub:\n"
    "  push %rbx\n  push %rbp\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
    "  mov %rsp, g_rsp(%rip)\n"
    "  fxsave g_host_fx(%rip)\n"
    "  mov g_state(%rip), %rax\n"
    "  fxrstor (%rax)\n"
    "  pushq 640(%rax)\n"
    "  popfq\n"
    "  mov 520(%rax), %rcx\n"
    "  mov 528(%rax), %rdx\n"
    "  mov 536(%rax), %rbx\n"
    "  mov 552(%rax), %rbp\n"
    "  mov 560(%rax), %rsi\n"
    "  mov 568(%rax), %rdi\n"
    "  mov 576(%rax), %r8\n"
    "  mov 584(%rax), %r9\n"
    "  mov 592(%rax), %r10\n"
    "  mov 600(%rax), %r11\n"
    "  mov 608(%rax), %r12\n"
    "  mov 616(%rax), %r13\n"
    "  mov 624(%rax), %r14\n"
    "  mov 632(%rax), %r15\n"
    "  mov 544(%rax), %rsp\n"
    "  mov 512(%rax), %rax\n"
    "  jmp *g_code(%rip)\n"
    ".globl stub_epilogue\n"
    "stub_epilogue:\n"
    "  mov %rax, g_tmp(%rip)\n"
    "  mov g_state(%rip), %rax\n"
    "  mov %rsp, 544(%rax)\n"
    "  mov g_rsp(%rip), %rsp\n"
    "  mov %rcx, 520(%rax)\n"
    "  mov %rdx, 528(%rax)\n"
    "  mov %rbx, 536(%rax)\n"
    "  mov %rbp, 552(%rax)\n"
    "  mov %rsi, 560(%rax)\n"
    "  mov %rdi, 568(%rax)\n"
    "  mov %r8, 576(%rax)\n"
    "  mov %r9, 584(%rax)\n"
    "  mov %r10, 592(%rax)\n"
    "  mov %r11, 600(%rax)\n"
    "  mov %r12, 608(%rax)\n"
    "  mov %r13, 616(%rax)\n"
    "  mov %r14, 624(%rax)\n"
    "  mov %r15, 632(%rax)\n"
    "  mov g_tmp(%rip), %rcx\n"
    "  mov %rcx, 512(%rax)\n"
    "  pushfq\n"
    "  popq 640(%rax)\n"
    "  fxsave (%rax)\n"
    "  fxrstor g_host_fx(%rip)\n"
    "  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbp\n  pop %rbx\n"
    "  ret\n");

static sigjmp_buf g_jmp;

static void on_signal(int sig) { siglongjmp(g_jmp, sig); }

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Parses hex into out (at most max bytes); returns the number of bytes and advances *p past the token. */
static size_t parse_hex(char **p, uint8_t *out, size_t max) {
  char *s = *p;
  while (*s == ' ') s++;
  size_t n = 0;
  while (hexval(s[0]) >= 0 && hexval(s[1]) >= 0 && n < max) {
    out[n++] = (uint8_t)(hexval(s[0]) << 4 | hexval(s[1]));
    s += 2;
  }
  while (*s && *s != ' ' && *s != '\n') s++;
  *p = s;
  return n;
}

static uint64_t parse_u64(char **p) {
  char *s = *p;
  while (*s == ' ' || *s == ',') s++;
  uint64_t v = strtoull(s, &s, 16);
  *p = s;
  return v;
}

static void put_hex(const uint8_t *b, size_t n) {
  for (size_t k = 0; k < n; k++) printf("%02x", b[k]);
}

int main(void) {
  uint8_t *mem = mmap((void *)MEM_BASE, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (mem != (uint8_t *)MEM_BASE) {
    printf("ERR cannot map the memory window\n");
    return 1;
  }
  uint8_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED) {
    printf("ERR cannot map code\n");
    return 1;
  }
  /* Handlers run on their own stack: the instruction under test may have changed RSP. */
  static uint8_t altstack[1 << 16];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_NODEFER | SA_ONSTACK;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  sigaction(SIGILL, &sa, NULL);
  sigaction(SIGFPE, &sa, NULL);
  g_state = (uint64_t)&g_st;
  g_code = (uint64_t)code;

  static char line[1 << 16];
  while (fgets(line, sizeof line, stdin)) {
    char *p = line;
    uint8_t insn[32];
    size_t n = parse_hex(&p, insn, sizeof insn);
    if (n == 0) continue;
    memcpy(code, insn, n);
    /* jmp *0(%rip); .quad stub_epilogue */
    code[n] = 0xff;
    code[n + 1] = 0x25;
    memset(code + n + 2, 0, 4);
    uint64_t epi = (uint64_t)stub_epilogue;
    memcpy(code + n + 6, &epi, 8);
    memset(&g_st, 0, sizeof g_st);
    parse_hex(&p, g_st.fx, 512);
    for (int r = 0; r < 16; r++) g_st.gpr[r] = parse_u64(&p);
    g_st.rflags = (parse_u64(&p) & 0x8d5) | 2;
    memset(mem, 0, MEM_SIZE);
    parse_hex(&p, mem + WIN_OFF, WIN_SIZE);
    int sig = sigsetjmp(g_jmp, 1);
    if (sig == 0) {
      run_stub();
    } else {
      __asm__ volatile("fxrstor g_host_fx(%%rip)" ::: "memory");
      printf("SIG %d\n", sig);
      fflush(stdout);
      continue;
    }
    printf("OK ");
    put_hex(g_st.fx, 512);
    printf(" ");
    for (int r = 0; r < 16; r++) printf("%s%016llx", r ? "," : "", (unsigned long long)g_st.gpr[r]);
    printf(" %llx ", (unsigned long long)g_st.rflags);
    put_hex(mem + WIN_OFF, WIN_SIZE);
    printf("\n");
    fflush(stdout);
  }
  return 0;
}
