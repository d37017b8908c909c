// Branches to addresses no code is at — the top of the address space, a misaligned one, the null page, one above the
// guest range, a data page — and rt_sigreturn on frames that are garbage or unmapped. Each is a guest SIGSEGV (or
// SIGBUS) the program's handler sees, as under qemu-aarch64; none may end the emulator.
#include "wild_common.h"
#include <sys/mman.h>
#include <unistd.h>

static uint64_t data_words[4] = {0xd65f03c0d65f03c0ULL, 0, 0, 0}; // "ret" twice, but not executable

static __thread uintptr_t rel_base; // addresses in a mapping are printed relative to it (layouts differ between emulators)

static void jump_to(const char *name, uintptr_t target) {
    last_sig = 0;
    if (sigsetjmp(wild_env, 1) == 0) {
        __asm__ volatile("blr %0" : : "r"(target) : "x30", "memory");
        printf("%-26s returned\n", name);
    } else {
        printf("%-26s signal %d code %d si_addr %#lx pc %#lx\n", name, last_sig, last_code,
               (unsigned long)(last_addr - rel_base), (unsigned long)(last_pc - rel_base));
    }
}

static void sigreturn_on(const char *name, uintptr_t sp) {
    last_sig = 0;
    if (sigsetjmp(wild_env, 1) == 0) {
        register uintptr_t x0 __asm__("x0") = sp;
        __asm__ volatile("mov x9, sp\n"
                         "mov sp, x0\n"
                         "mov x8, #139\n" // rt_sigreturn
                         "svc #0\n"
                         "mov sp, x9\n"
                         : "+r"(x0)
                         :
                         : "x8", "x9", "memory");
        printf("%-26s returned\n", name);
    } else {
        printf("%-26s signal %d\n", name, last_sig);
    }
}

static void wild_pc_tests(void) {
    rel_base = 0;
    jump_to("top - 4", 0xfffffffffffffffcUL);
    jump_to("all ones", 0xffffffffffffffffUL);
    jump_to("null", 0);
    jump_to("null + 4", 4);
    jump_to("bit 40", 1UL << 40);
    jump_to("bit 47 - 4", (1UL << 47) - 4);
    jump_to("0xffff800000000000", 0xffff800000000000UL);
    jump_to("data page", (uintptr_t)data_words);
    void *m = mmap(NULL, 8192, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    rel_base = (uintptr_t)m;
    jump_to("end of a mapping - 2", (uintptr_t)m + 8192 - 2);
    munmap((char *)m + 4096, 4096);
    jump_to("into an unmapped page", (uintptr_t)m + 4096);

    // rt_sigreturn with the stack pointing at garbage, at an unmapped page, and at the top of the address space
    static uint64_t garbage[1024];
    for (int i = 0; i < 1024; i++) garbage[i] = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
    sigreturn_on("sigreturn on garbage", (uintptr_t)&garbage[512] & ~15UL);
    sigreturn_on("sigreturn on unmapped", (uintptr_t)m + 4096);
    munmap(m, 4096);
}

#ifndef WILD_NO_MAIN
int main(void) {
    wild_install_handlers();
    wild_setup_thread();
    wild_pc_tests();
    printf("done\n");
    return 0;
}
#endif
