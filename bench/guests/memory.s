# bench/emu-mips memory workload: loads and stores striding across
# 16 MiB with 4-level paging (the entry state maps 0..1 GiB with 2 MiB
# pages; this remaps 16..32 MiB with 4 KiB pages so the TLB works).
# RDI = iteration count. 8 instructions per iteration.
        .code64
        .globl _start
_start:
        # Page table for 16..32 MiB: a PD at 0x4000 exists (entries 8..15 = 2 MiB pages);
        # point them at eight page tables at 0x200000.. with 4 KiB pages.
        mov     $0x200000, %rdi
        mov     $0x1000003, %rax        # first 4 KiB page of 16 MiB, present+writable
        mov     $4096, %ecx
1:      mov     %rax, (%rdi)
        add     $0x1000, %rax
        add     $8, %rdi
        loop    1b
        mov     $0x4000 + 8 * 8, %rdi
        mov     $0x200003, %rax
        mov     $8, %ecx
2:      mov     %rax, (%rdi)
        add     $0x1000, %rax
        add     $8, %rdi
        loop    2b
        mov     %cr3, %rax
        mov     %rax, %cr3
        mov     %rsi, %rdi              # iteration count passed in RSI
        mov     $0x1000000, %rbx        # base of the 16 MiB region
        xor     %ecx, %ecx
        xor     %edx, %edx
3:      mov     %rcx, %rax
        imul    $4104, %rax, %rax       # stride of a page + 8 bytes: a new page each time
        and     $0xfffff8, %eax
        mov     (%rbx,%rax), %rdx
        add     %rcx, %rdx
        mov     %rdx, (%rbx,%rax)
        inc     %rcx
        cmp     %rdi, %rcx
        jne     3b
        mov     $0, %al
        out     %al, $0xf4
        hlt
