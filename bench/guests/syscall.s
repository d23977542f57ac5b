# bench/emu-mips syscall workload: user mode calls SYSCALL in a loop; the
# kernel side returns at once with SYSRETQ. RDI = iteration count.
# Entered in 64-bit long mode at CPL 0 at 0x100000 (the boot GDT has only
# kernel segments, so this guest installs its own GDT with user segments).
        .code64
        .globl _start
_start:
        lgdt    gdtr(%rip)
        # Let user mode reach the first 2 MiB (U/S on PML4[0], PDPT[0], PD[0]).
        orq     $4, 0x2000
        orq     $4, 0x3000
        orq     $4, 0x4000
        mov     %cr3, %rax
        mov     %rax, %cr3
        # EFER.SCE; STAR: kernel CS 0x08 (SS 0x10), user base 0x18 (SS 0x20, CS64 0x28).
        mov     $0xc0000080, %ecx
        rdmsr
        or      $1, %eax
        wrmsr
        mov     $0xc0000081, %ecx
        xor     %eax, %eax
        mov     $0x00180008, %edx
        wrmsr
        mov     $0xc0000082, %ecx       # LSTAR
        lea     kentry(%rip), %rax
        xor     %edx, %edx
        wrmsr
        mov     $0xc0000084, %ecx       # SFMASK: clear IF
        mov     $0x200, %eax
        xor     %edx, %edx
        wrmsr
        # IRETQ to user mode with IOPL 3 (so the user loop can report through OUT).
        mov     %rdi, %rbx              # iteration count survives in RBX
        push    $0x23                   # SS (user data, RPL 3)
        push    $0x180000               # RSP: user stack
        push    $0x3002                 # RFLAGS: IOPL 3
        push    $0x2b                   # CS (user 64-bit code, RPL 3)
        lea     user(%rip), %rax
        push    %rax
        iretq
kentry:
        sysretq
user:
        xor     %r12d, %r12d
1:      syscall
        inc     %r12
        cmp     %rbx, %r12
        jne     1b
        mov     $0, %al
        out     %al, $0xf4
        hlt

        .p2align 3
gdt:    .quad   0
        .quad   0x00af9b000000ffff      # 0x08 kernel code 64
        .quad   0x00cf93000000ffff      # 0x10 kernel data
        .quad   0x00cffb000000ffff      # 0x18 user code 32 (unused)
        .quad   0x00cff3000000ffff      # 0x20 user data
        .quad   0x00affb000000ffff      # 0x28 user code 64
gdtr:   .word   gdtr - gdt - 1
        .quad   gdt
