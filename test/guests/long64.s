# Starts in 64-bit long mode (the VMM set up paging and segments; see
# src/loader/cpu-state.ts), loaded and entered at 0x100000.
# Exercises: string port output, port input, 4- and 8-byte MMIO, a compute
# loop, and the debug-exit port. Expected transcript: test/guests/README.md.
        .code64
        .text
        .globl _start
_start:
        lea     hello(%rip), %rsi
        mov     $hello_len, %ecx
        mov     $0xe9, %dx
        rep outsb                       # one string-I/O exit (or several)

        mov     $0xf0, %dx
        in      %dx, %eax               # test port answers 0x5a5a5a5a
        cmp     $0x5a5a5a5a, %eax
        jne     fail

        mov     $0xd0000000, %ebx       # scratch MMIO registers
        movl    $0x12345678, (%rbx)
        mov     (%rbx), %eax            # reads back what was written
        cmp     $0x12345678, %eax
        jne     fail
        movabs  $0x1122334455667788, %rax
        mov     %rax, 8(%rbx)           # split by the bus: low half first
        mov     8(%rbx), %rcx
        cmp     %rax, %rcx
        jne     fail

        xor     %eax, %eax              # sum 1..1000 = 500500
        mov     $1000, %ecx
1:      add     %rcx, %rax
        loop    1b
        cmp     $500500, %rax
        jne     fail
        mov     %eax, 16(%rbx)          # report the sum to the MMIO scratch

        lea     bye(%rip), %rsi
        mov     $bye_len, %ecx
        mov     $0xe9, %dx
        rep outsb
        mov     $0, %al
        out     %al, $0xf4              # debug-exit: status (0 << 1) | 1
        hlt
fail:
        mov     $1, %al
        out     %al, $0xf4
        hlt

hello:  .ascii  "hello from long mode\n"
        hello_len = . - hello
bye:    .ascii  "long mode ok\n"
        bye_len = . - bye
