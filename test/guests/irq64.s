# Starts in 64-bit long mode at 0x100000. Takes interrupts three ways:
#  1. int3 (exception vector 3 through the IDT),
#  2. a device interrupt: asks the test device (port 0xf0) to raise GSI 5,
#     routed by the IOAPIC to vector 0x30 on the bootstrap LAPIC,
#  3. a LAPIC timer interrupt (one-shot, vector 0x31).
# Each handler prints a line on port 0xe9; the guest then exits with 0.
        .code64
        .text
        .globl _start
_start:
        lea     idt(%rip), %rdi         # fill IDT entries 3, 0x30, 0x31
        lea     on_bp(%rip), %rax
        mov     $3, %ecx
        call    set_gate
        lea     on_dev(%rip), %rax
        mov     $0x30, %ecx
        call    set_gate
        lea     on_timer(%rip), %rax
        mov     $0x31, %ecx
        call    set_gate
        lidt    idtr(%rip)

        int3                            # 1. handler prints "int3\n"
        cmpb    $1, seen_bp(%rip)
        jne     fail

        mov     $0xfee00000, %ebx       # LAPIC: software-enable, spurious 0xff
        movl    $0x1ff, 0xf0(%rbx)
        mov     $0xfec00000, %esi       # IOAPIC: GSI 5 -> vector 0x30, edge, fixed, APIC 0
        movl    $0x1a, (%rsi)           # redirection entry 5, high dword
        movl    $0, 0x10(%rsi)
        movl    $0x10 + 2 * 5, (%rsi)   # low dword
        movl    $0x30, 0x10(%rsi)

        mov     $5, %eax                # 2. ask the test device for GSI 5
        out     %eax, $0xf0
        sti
1:      hlt
        cmpb    $1, seen_dev(%rip)
        jne     1b

        movl    $0xb, 0x3e0(%rbx)       # 3. timer: divide by 1, one-shot, vector 0x31
        movl    $0x31, 0x320(%rbx)
        movl    $100000, 0x380(%rbx)
2:      hlt
        cmpb    $1, seen_timer(%rip)
        jne     2b

        cli
        mov     $0, %al
        out     %al, $0xf4
        hlt
fail:
        mov     $1, %al
        out     %al, $0xf4
        hlt

# rdi = IDT, rax = handler, rcx = vector: a 64-bit interrupt gate, selector 0x08.
set_gate:
        shl     $4, %rcx
        add     %rdi, %rcx
        mov     %ax, (%rcx)
        movw    $0x08, 2(%rcx)
        movw    $0x8e00, 4(%rcx)
        shr     $16, %rax
        mov     %ax, 6(%rcx)
        shr     $16, %rax
        mov     %eax, 8(%rcx)
        movl    $0, 12(%rcx)
        ret

# rsi = string, rcx = length
print:
        push    %rdx
        mov     $0xe9, %dx
        rep outsb
        pop     %rdx
        ret

eoi:
        push    %rax
        mov     $0xfee000b0, %eax       # LAPIC end-of-interrupt register
        movl    $0, (%rax)
        pop     %rax
        ret

on_bp:
        push    %rsi
        push    %rcx
        lea     m_bp(%rip), %rsi
        mov     $5, %ecx
        call    print
        movb    $1, seen_bp(%rip)
        pop     %rcx
        pop     %rsi
        iretq
on_dev:
        push    %rsi
        push    %rcx
        lea     m_dev(%rip), %rsi
        mov     $7, %ecx
        call    print
        movb    $1, seen_dev(%rip)
        call    eoi
        pop     %rcx
        pop     %rsi
        iretq
on_timer:
        push    %rsi
        push    %rcx
        lea     m_timer(%rip), %rsi
        mov     $6, %ecx
        call    print
        movb    $1, seen_timer(%rip)
        call    eoi
        pop     %rcx
        pop     %rsi
        iretq

m_bp:    .ascii "int3\n"
m_dev:   .ascii "device\n"
m_timer: .ascii "timer\n"
seen_bp:    .byte 0
seen_dev:   .byte 0
seen_timer: .byte 0
        .p2align 4
idtr:   .word   256 * 16 - 1
        .quad   idt
        .p2align 4
idt:    .fill   256 * 16, 1, 0
