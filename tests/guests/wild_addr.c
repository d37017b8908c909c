// Accesses through pointers with high address bits set. Linux (and qemu-aarch64) give the guest a SIGSEGV with the
// address it used; the bytes at the address with those bits cleared must stay untouched. The top byte is ignored for
// data accesses (TBI), so a tagged pointer to a mapped address works. Every kind of access instruction is tried:
// plain loads and stores, pairs, exclusives, LSE atomics, SIMD structure loads, DC ZVA; and a syscall handed such a
// pointer fails with EFAULT. si_addr is printed where qemu-aarch64 reports it as Linux does: for an address with bit 47
// or above set (not canonical on an x86-64 host) and for DC ZVA qemu reports a host artifact, so there only the
// signal is compared.
#include "wild_common.h"
#include <errno.h>
#include <unistd.h>

static uint64_t target[64] __attribute__((aligned(64)));

#define TRY(name, p, body) TRY_(name, p, 1, body)
#define TRY_SIGNAL_ONLY(name, p, body) TRY_(name, p, 0, body)
#define TRY_(name, p, show, body)                                                                              \
    do {                                                                                                       \
        uintptr_t ptr_ = (uintptr_t)(p);                                                                       \
        last_sig = 0;                                                                                          \
        if (sigsetjmp(wild_env, 1) == 0) {                                                                          \
            body;                                                                                              \
            printf("%-28s no fault\n", name);                                                                  \
        } else {                                                                                               \
            if (show)                                                                                          \
                printf("%-28s signal %d, si_addr - base = %#lx\n", name, last_sig,                             \
                       (unsigned long)(last_addr - (uintptr_t)target));                                        \
            else                                                                                               \
                printf("%-28s signal %d\n", name, last_sig);                                                   \
        }                                                                                                      \
        (void)ptr_;                                                                                            \
    } while (0)

static void check_target(const char *after) {
    for (int i = 0; i < 64; i++)
        if (target[i] != (uint64_t)i * 0x0101010101010101ULL) {
            printf("  after %s: target[%d] changed to %#llx\n", after, i, (unsigned long long)target[i]);
            target[i] = (uint64_t)i * 0x0101010101010101ULL;
        }
}

static void wild_addr_tests(void) {
    for (int i = 0; i < 64; i++) target[i] = (uint64_t)i * 0x0101010101010101ULL;
    uintptr_t base = (uintptr_t)target;

    static const int bits[] = {40, 41, 44, 46, 47, 48, 52, 55};
    for (unsigned k = 0; k < sizeof bits / sizeof bits[0]; k++) {
        char name[64];
        uintptr_t p = base | (1UL << bits[k]);
        int show = bits[k] < 47;
        snprintf(name, sizeof name, "str bit %d", bits[k]);
        TRY_(name, p, show, *(volatile uint64_t *)ptr_ = 0x1234);
        check_target(name);
        snprintf(name, sizeof name, "ldr bit %d", bits[k]);
        TRY_(name, p + 8, show, (void)*(volatile uint64_t *)ptr_);
        snprintf(name, sizeof name, "strb bit %d", bits[k]);
        TRY_(name, p + 3, show, *(volatile uint8_t *)ptr_ = 7);
        check_target(name);
    }

    // the top byte is ignored (TBI): a tagged pointer reaches the untagged bytes
    uintptr_t tagged = base | (0x5aUL << 56);
    TRY("tagged str/ldr", tagged + 16, {
        *(volatile uint64_t *)ptr_ = 0xabcdef;
        printf("  tagged load: %#llx, untagged: %#llx\n", (unsigned long long)*(volatile uint64_t *)ptr_,
               (unsigned long long)target[2]);
        target[2] = 2 * 0x0101010101010101ULL;
    });
    TRY("tagged and bit 44", tagged | (1UL << 44), *(volatile uint64_t *)ptr_ = 1);
    check_target("tagged and bit 44");

    uint64_t a, b;
    TRY("ldp bit 45", base | (1UL << 45), __asm__ volatile("ldp %0, %1, [%2]" : "=r"(a), "=r"(b) : "r"(ptr_) : "memory"));
    TRY("stp bit 42", base | (1UL << 42), __asm__ volatile("stp %0, %0, [%1]" : : "r"(ptr_), "r"(ptr_) : "memory"));
    check_target("stp");
    TRY("ldxr bit 43", base | (1UL << 43), __asm__ volatile("ldxr %0, [%1]" : "=r"(a) : "r"(ptr_) : "memory"));
    TRY("stxr bit 43", base | (1UL << 43), {
        uint32_t st;
        __asm__ volatile("stxr %w0, %1, [%2]" : "=&r"(st) : "r"(a), "r"(ptr_) : "memory");
    });
    check_target("stxr");
    TRY_SIGNAL_ONLY("ldadd bit 50", base | (1UL << 50),
        __asm__ volatile(".arch_extension lse\n ldadd %1, %0, [%2]" : "=r"(a) : "r"(ptr_), "r"(ptr_) : "memory"));
    check_target("ldadd");
    TRY("cas bit 41", base | (1UL << 41), {
        uint64_t old = 0;
        __asm__ volatile(".arch_extension lse\n cas %0, %1, [%2]" : "+r"(old) : "r"(ptr_), "r"(ptr_) : "memory");
    });
    check_target("cas");
    TRY("ld1 bit 40", base | (1UL << 40),
        __asm__ volatile("ld1 {v0.16b, v1.16b}, [%0]" : : "r"(ptr_) : "v0", "v1", "memory"));
    TRY_SIGNAL_ONLY("st1 bit 47", base | (1UL << 47),
        __asm__ volatile("movi v0.16b, #0x33\n st1 {v0.16b}, [%0]" : : "r"(ptr_) : "v0", "memory"));
    check_target("st1");
    TRY("ldr q bit 46", (base + 32) | (1UL << 46),
        __asm__ volatile("ldr q0, [%0]" : : "r"(ptr_) : "v0", "memory"));
    TRY_SIGNAL_ONLY("dc zva bit 40", base | (1UL << 40), __asm__ volatile("dc zva, %0" : : "r"(ptr_) : "memory"));
    check_target("dc zva");
    TRY("ldr offset bit 40", base | (1UL << 40),
        __asm__ volatile("ldr %0, [%1, #4088]" : "=r"(a) : "r"(ptr_) : "memory"));
    TRY("ldur neg bit 40", (base + 64) | (1UL << 40),
        __asm__ volatile("ldur %0, [%1, #-8]" : "=r"(a) : "r"(ptr_) : "memory"));
    TRY("ldr index bit 40", base, {
        uint64_t idx = 1UL << 40;
        __asm__ volatile("ldr %0, [%1, %2]" : "=r"(a) : "r"(ptr_), "r"(idx) : "memory");
    });
    TRY("ldr all ones", (uintptr_t)0xffff800000000000UL, (void)*(volatile uint64_t *)ptr_);

    errno = 0;
    long w = write(1, (const void *)(base | (1UL << 40)), 8);
    printf("write from a wild pointer: %ld, %s\n", w, w < 0 ? strerror(errno) : "-");
    check_target("end");
}

#ifndef WILD_NO_MAIN
int main(void) {
    wild_install_handlers();
    wild_setup_thread();
    wild_addr_tests();
    printf("done\n");
    return 0;
}
#endif
