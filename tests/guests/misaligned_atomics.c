// Exclusive, ordered and atomic accesses at misaligned addresses. A64 requires them aligned (an alignment fault, SIGBUS
// BUS_ADRALN with si_addr = the address, at the instruction); x86 lock-prefixed instructions on such an address just
// work, so the emulator has to check. Each case prints what happened: "ok" (and what it loaded or stored), or the
// signal, si_code, whether si_addr is the access's address and whether the pc is the instruction's. Plain loads and
// stores at the same addresses are the control (no fault). Compared with qemu-aarch64 7.2, which decides per
// instruction (a store-exclusive with no reservation, for one, fails without touching memory).
// CFLAGS: -march=armv8.4-a
#include "wild_common.h"
#include <stdlib.h>

static _Alignas(64) unsigned char buf[256];

static void reset(void) {
    for (int i = 0; i < (int)sizeof buf; i++) buf[i] = (unsigned char)(i * 7 + 1);
}

static unsigned long sum(void) {
    unsigned long s = 0;
    for (int i = 0; i < (int)sizeof buf; i++) s = s * 31 + buf[i];
    return s;
}

static void report(const char *name, int off, uintptr_t pc, unsigned long out) {
    if (last_sig == 0) printf("%-10s +%-2d ok out=%#lx mem=%#lx\n", name, off, out, sum());
    else
        printf("%-10s +%-2d signal %d code %d addr %s pc %s mem=%#lx\n", name, off, last_sig, last_code,
               last_addr == (uintptr_t)(buf + off) ? "=" : "!=", last_pc == pc ? "=" : "!=", sum());
}

// RUN2(name, offset, setup, the instruction and what follows it; asm text using %[p] (address) / %[o] (64-bit result) / %[v] (operand 1, 64-bit) / %[w] (operand 2))
#define RUN(name, off, text) RUN2(name, off, "", text)
#define RUN2(name, off, pre, text)                                                                                           \
    do {                                                                                                               \
        reset();                                                                                                       \
        last_sig = 0;                                                                                                  \
        volatile uintptr_t pc = 0;                                                                                     \
        unsigned long o = 0x5555;                                                                                      \
        if (sigsetjmp(wild_env, 1) == 0) {                                                                             \
            register unsigned long v __asm__("x4") = 0x1111222233334444UL;                                           \
            register unsigned long w __asm__("x5") = 0x5555666677778888UL;                                           \
            register unsigned long o0 __asm__("x2") = 0x5555;                                                         \
            register unsigned long o1 __asm__("x3") = 0x7777;                                                         \
            uintptr_t here;                                                                                            \
            __asm__ volatile("adr %[h], 1f\n str %[h], %[pcv]\n" pre "\n1: " text                                             \
                             : [h] "=&r"(here), [pcv] "=m"(pc), [o] "+r"(o0), [o1] "+r"(o1), [v] "+r"(v), [w] "+r"(w) \
                             : [p] "r"(buf + (off))                                                                    \
                             : "memory", "x0", "x6", "x7", "x8");                                                                  \
            o = o0 ^ (o1 << 1);                                                                                        \
        }                                                                                                              \
        report(name, off, pc, o);                                                                                      \
    } while (0)

int main(void) {
    wild_install_handlers();
    wild_setup_thread();
    // controls: plain accesses do not care
    RUN("ldr", 1, "ldr %[o], [%[p]]");
    RUN("str", 3, "str %[v], [%[p]]");
    RUN("ldp", 4, "ldp %[o], %[o1], [%[p]]");
    // load/store exclusive
    RUN("ldxr", 1, "ldxr %[o], [%[p]]");
    RUN("ldxr", 4, "ldxr %[o], [%[p]]");
    RUN("ldxr", 8, "ldxr %[o], [%[p]]");
    RUN("ldxr w", 2, "ldxr %w[o], [%[p]]");
    RUN("ldxrh", 1, "ldxrh %w[o], [%[p]]");
    RUN("ldxrb", 1, "ldxrb %w[o], [%[p]]");
    RUN("ldaxr", 4, "ldaxr %[o], [%[p]]");
    RUN("stxr", 4, "stxr w6, %[v], [%[p]]\n mov %[o], x6");
    RUN("stlxr w", 2, "stlxr w6, %w[v], [%[p]]\n mov %[o], x6");
    RUN2("ldxrb+stxr", 4, "ldxrb w6, [%[p]]", "stxr w6, %[v], [%[p]]\n mov %[o], x6");
    RUN2("ldxrb+stxrh", 1, "ldxrb w6, [%[p]]", "stxrh w6, %w[v], [%[p]]\n mov %[o], x6");
    RUN2("ldxr+stxp", 4, "ldxr w6, [%[p]]", "stxp w6, %[v], %[w], [%[p]]\n mov %[o], x6");
    RUN2("ldxrb+svc+stxr", 1, "ldxrb w6, [%[p]]\n mov x8, #172\n svc #0", "stxr w6, %[v], [%[p]]\n mov %[o], x6"); // getpid closes the monitor
    RUN2("ldxr+clrex+stxr", 4, "ldxr w6, [%[p]]\n clrex", "stxp w6, %[v], %[w], [%[p]]\n mov %[o], x6");
    RUN("ldxr+stxr", 4, "ldxr %[o], [%[p]]\n stxr w6, %[v], [%[p]]");
    RUN("ldxp", 8, "ldxp %[o], %[o1], [%[p]]");
    RUN("ldxp", 16, "ldxp %[o], %[o1], [%[p]]");
    RUN("ldxp w", 4, "ldxp %w[o], %w[o1], [%[p]]");
    RUN("ldxp w", 8, "ldxp %w[o], %w[o1], [%[p]]");
    RUN("ldaxp", 4, "ldaxp %[o], %[o1], [%[p]]");
    RUN("stxp", 8, "stxp w6, %[v], %[w], [%[p]]\n mov %[o], x6");
    RUN("stxp w", 4, "stxp w6, %w[v], %w[w], [%[p]]\n mov %[o], x6");
    // load-acquire / store-release
    RUN("ldar", 4, "ldar %[o], [%[p]]");
    RUN("ldar w", 1, "ldar %w[o], [%[p]]");
    RUN("ldarh", 1, "ldarh %w[o], [%[p]]");
    RUN("stlr", 4, "stlr %[v], [%[p]]");
    RUN("stlr w", 2, "stlr %w[v], [%[p]]");
    RUN("stlrh", 1, "stlrh %w[v], [%[p]]");
    RUN("ldapr", 4, "ldapr %[o], [%[p]]");
    RUN("ldapr w", 2, "ldapr %w[o], [%[p]]");
    RUN("ldapur", 4, "ldapur %[o], [%[p]]");
    RUN("ldapur", 2, "ldapur %[o], [%[p], #-1]");
    RUN("stlur", 4, "stlur %[v], [%[p]]");
    RUN("stlur w", 1, "stlur %w[v], [%[p], #1]");
    // LSE: compare-and-swap
    RUN2("cas", 4, "mov %[o], %[v]", "cas %[o], %[w], [%[p]]");
    RUN2("cas w", 2, "mov %[o], %[v]", "cas %w[o], %w[w], [%[p]]");
    RUN2("casal", 8, "mov %[o], %[v]", "casal %[o], %[w], [%[p]]");
    RUN2("cash", 1, "mov %[o], %[v]", "cash %w[o], %w[w], [%[p]]");
    RUN2("casb", 1, "mov %[o], %[v]", "casb %w[o], %w[w], [%[p]]");
    RUN2("casp", 8, "mov x6, %[v]\n mov x7, %[w]", "casp x6, x7, x4, x5, [%[p]]\n eor %[o], x6, x7");
    RUN2("casp", 16, "mov x6, %[v]\n mov x7, %[w]", "casp x6, x7, x4, x5, [%[p]]\n eor %[o], x6, x7");
    RUN2("casp w", 4, "mov x6, %[v]\n mov x7, %[w]", "casp w6, w7, w4, w5, [%[p]]\n eor %[o], x6, x7");
    RUN2("casp w", 8, "mov x6, %[v]\n mov x7, %[w]", "casp w6, w7, w4, w5, [%[p]]\n eor %[o], x6, x7");
    // LSE: atomic memory operations
    RUN("ldadd", 4, "ldadd %[v], %[o], [%[p]]");
    RUN("ldadd w", 2, "ldadd %w[v], %w[o], [%[p]]");
    RUN("ldaddh", 1, "ldaddh %w[v], %w[o], [%[p]]");
    RUN("ldaddb", 1, "ldaddb %w[v], %w[o], [%[p]]");
    RUN("ldclral", 4, "ldclral %[v], %[o], [%[p]]");
    RUN("ldeor w", 1, "ldeor %w[v], %w[o], [%[p]]");
    RUN("ldset", 8, "ldset %[v], %[o], [%[p]]");
    RUN("ldsmax", 4, "ldsmax %[v], %[o], [%[p]]");
    RUN("ldumin w", 2, "ldumin %w[v], %w[o], [%[p]]");
    RUN("stadd", 4, "stadd %[v], [%[p]]");
    RUN("stset w", 1, "stset %w[v], [%[p]]");
    RUN("swp", 4, "swp %[v], %[o], [%[p]]");
    RUN("swpal w", 2, "swpal %w[v], %w[o], [%[p]]");
    RUN("swph", 1, "swph %w[v], %w[o], [%[p]]");
    RUN("swp", 16, "swp %[v], %[o], [%[p]]");
    return 0;
}
