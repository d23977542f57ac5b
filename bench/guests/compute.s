# bench/emu-mips compute workload: a register-only integer loop.
# Entered in 64-bit long mode at 0x100000; RDI = iteration count.
# 10 instructions per iteration (9 + the branch); writes a checksum to
# port 0xE9-free scratch (RAX) and exits through port 0xF4.
        .code64
        .globl _start
_start:
        mov     $0x12345678, %eax
        mov     $0x9abcdef0, %ebx
        xor     %ecx, %ecx
1:      add     %rbx, %rax
        xor     %rcx, %rbx
        shl     $3, %rax
        imul    $31, %rbx, %rdx
        sub     %rdx, %rax
        lea     7(%rax,%rbx,2), %rsi
        and     $0xffffff, %esi
        inc     %rcx
        cmp     %rdi, %rcx
        jne     1b
        mov     %eax, %ebx
        mov     $0, %al
        out     %al, $0xf4
        hlt
