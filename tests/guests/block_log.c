// Block-entry logs (-d exec, -d cpu): code in its own page-aligned section "probe_text" (smaller than a page, so
// no block is cut at a page boundary), whose block starts and, at the label cpu_probe, registers
// tests/Dqemu.Tests/QemuCompat/BlockLogTests.cs compares with qemu-aarch64's -d exec,nochain / -d cpu,nochain.
// CFLAGS: -fno-toplevel-reorder
// The program prints the section's bounds and the label's address (a static non-PIE binary: the same in both).
#include <stdio.h>

extern char __start_probe_text[], __stop_probe_text[];
extern char cpu_probe[];
extern void set_registers(void);

// Sets x0-x28 to known values and N (cmp of 0x1000 with 0x1101), branches to cpu_probe (a block starts there),
// and returns with the callee-saved registers restored.
__asm__(
    "  .pushsection probe_text, \"ax\", %progbits\n"
    "  .balign 4096\n"
    "  .global set_registers\n"
    "set_registers:\n"
    "  stp x29, x30, [sp, #-96]!\n"
    "  stp x19, x20, [sp, #16]\n"
    "  stp x21, x22, [sp, #32]\n"
    "  stp x23, x24, [sp, #48]\n"
    "  stp x25, x26, [sp, #64]\n"
    "  stp x27, x28, [sp, #80]\n"
    "  movz x0, #0x1000\n"
    "  movz x1, #0x1101\n"
    "  movz x2, #0x1202\n"
    "  movz x3, #0x1303\n"
    "  movz x4, #0x1404\n"
    "  movz x5, #0x1505\n"
    "  movz x6, #0x1606\n"
    "  movz x7, #0x1707\n"
    "  movz x8, #0x1808\n"
    "  movz x9, #0x1909\n"
    "  movz x10, #0x1a0a\n"
    "  movz x11, #0x1b0b\n"
    "  movz x12, #0x1c0c\n"
    "  movz x13, #0x1d0d\n"
    "  movz x14, #0x1e0e\n"
    "  movz x15, #0x1f0f\n"
    "  movz x16, #0x2010\n"
    "  movz x17, #0x2111\n"
    "  movz x18, #0x2212\n"
    "  movz x19, #0x2313\n"
    "  movz x20, #0x2414\n"
    "  movz x21, #0x2515\n"
    "  movz x22, #0x2616\n"
    "  movz x23, #0x2717\n"
    "  movz x24, #0x2818\n"
    "  movz x25, #0x2919\n"
    "  movz x26, #0x2a1a\n"
    "  movz x27, #0x2b1b\n"
    "  movz x28, #0x2c1c\n"
    "  cmp x0, x1\n"
    "  b cpu_probe\n"
    "  .global cpu_probe\n"
    "cpu_probe:\n"
    "  ldp x19, x20, [sp, #16]\n"
    "  ldp x21, x22, [sp, #32]\n"
    "  ldp x23, x24, [sp, #48]\n"
    "  ldp x25, x26, [sp, #64]\n"
    "  ldp x27, x28, [sp, #80]\n"
    "  ldp x29, x30, [sp], #96\n"
    "  ret\n"
    "  .popsection\n");

__attribute__((noinline, section("probe_text"))) long sum_squares(long n) {
    long s = 0;
    for (long i = 0; i < n; i++) s += i * i;
    return s;
}

__attribute__((noinline, section("probe_text"))) long collatz_steps(long n) {
    long steps = 0;
    while (n != 1) {
        n = (n & 1) ? 3 * n + 1 : n / 2;
        steps++;
    }
    return steps;
}



int main(void) {
    printf("probe_text %p %p\n", (void *)__start_probe_text, (void *)__stop_probe_text);
    printf("cpu_probe %p\n", (void *)cpu_probe);
    long a = sum_squares(20);
    long b = collatz_steps(27);
    set_registers();
    printf("sum_squares(20)=%ld collatz_steps(27)=%ld\n", a, b);
    return 0;
}
