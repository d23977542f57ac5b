# Starts in 32-bit protected mode with paging off, flat segments (the PVH
# entry state), entered at 0x100000 with EBX = 0x12345 as a stand-in for
# the hvm_start_info pointer. It prints, builds its own page tables,
# switches to long mode itself and prints again.
        .code32
        .text
        .globl _start
_start:
        mov     %ebx, %edi              # keep the start-info pointer
        mov     $msg32, %esi
        mov     $msg32_len, %ecx
        mov     $0xe9, %dx
        rep outsb
        cmp     $0x12345, %edi
        jne     fail32

        # Identity-map 0..1 GiB with 2 MiB pages at 0x200000 (PML4, PDPT, PD).
        mov     $0x200000, %edi
        xor     %eax, %eax
        mov     $(3 * 4096 / 4), %ecx
        rep stosl
        movl    $0x201003, 0x200000     # PML4[0] -> PDPT
        movl    $0x202003, 0x201000     # PDPT[0] -> PD
        mov     $0x202000, %edi
        mov     $0x83, %eax             # present, writable, 2 MiB
        mov     $512, %ecx
1:      mov     %eax, (%edi)
        movl    $0, 4(%edi)
        add     $0x200000, %eax
        add     $8, %edi
        loop    1b

        mov     %cr4, %eax
        or      $0x20, %eax             # PAE
        mov     %eax, %cr4
        mov     $0x200000, %eax
        mov     %eax, %cr3
        mov     $0xc0000080, %ecx       # EFER.LME
        rdmsr
        or      $0x100, %eax
        wrmsr
        mov     %cr0, %eax
        or      $0x80000000, %eax       # PG
        mov     %eax, %cr0
        lgdt    gdtr
        ljmp    $0x08, $long_entry

fail32:
        mov     $1, %al
        out     %al, $0xf4
        hlt

        .code64
long_entry:
        mov     $0x10, %ax
        mov     %ax, %ds
        mov     %ax, %ss
        lea     msg64(%rip), %rsi
        mov     $msg64_len, %ecx
        mov     $0xe9, %dx
        rep outsb
        mov     $0xc0000080, %ecx       # EFER.LMA must now be set
        rdmsr
        test    $0x400, %eax
        jz      fail64
        mov     $0, %al
        out     %al, $0xf4
        hlt
fail64:
        mov     $2, %al
        out     %al, $0xf4
        hlt

        .p2align 3
gdt:    .quad   0
        .quad   0x00af9b000000ffff      # 64-bit code
        .quad   0x00cf93000000ffff      # data
gdtr:   .word   gdtr - gdt - 1
        .long   gdt
msg32:  .ascii  "hello from protected mode\n"
        msg32_len = . - msg32
msg64:  .ascii  "now in long mode\n"
        msg64_len = . - msg64
