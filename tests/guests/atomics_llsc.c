// C11/GCC __atomic builtins on 8/16/32/64/128-bit objects compiled to load/store-
// exclusive loops (no outline helpers, no LSE): fetch_add/sub/and/or/xor/nand,
// exchange, compare_exchange (success and failure), test_and_set, fences.
// CFLAGS: -mno-outline-atomics
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

static uint8_t a8 = 250;
static uint16_t a16 = 65530;
static uint32_t a32 = 0xfffffff0u;
static uint64_t a64 = 0x7ffffffffffffff0ull;
static uint64_t a128[2] __attribute__((aligned(16)));
static atomic_flag flag = ATOMIC_FLAG_INIT;
static _Atomic int counter;

#define STEP(obj, T, i)                                                                          \
    do {                                                                                         \
        T old1 = __atomic_fetch_add(&obj, (T)(i * 3 + 1), __ATOMIC_SEQ_CST);                     \
        T old2 = __atomic_fetch_sub(&obj, (T)i, __ATOMIC_ACQ_REL);                               \
        T old3 = __atomic_fetch_xor(&obj, (T)(0x5a5a5a5a5a5a5a5aull >> (i % 8)), __ATOMIC_RELAXED); \
        T old4 = __atomic_fetch_or(&obj, (T)(1ull << (i % (sizeof(T) * 8))), __ATOMIC_RELEASE);  \
        T old5 = __atomic_fetch_and(&obj, (T) ~(3ull << (i % 7)), __ATOMIC_ACQUIRE);             \
        T old6 = __atomic_fetch_nand(&obj, (T)0xf0f0f0f0f0f0f0f0ull, __ATOMIC_SEQ_CST);          \
        T old7 = __atomic_exchange_n(&obj, (T)(old6 * 5 + i), __ATOMIC_SEQ_CST);                 \
        T exp = (i & 1) ? old7 : (T)(old7 + 1);                                                  \
        int ok = __atomic_compare_exchange_n(&obj, &exp, (T)(exp ^ 0x33), 0, __ATOMIC_SEQ_CST,   \
                                             __ATOMIC_RELAXED);                                  \
        T add = __atomic_add_fetch(&obj, (T)7, __ATOMIC_SEQ_CST);                                \
        h = h * 1099511628211ull ^ (uint64_t)old1 ^ ((uint64_t)old2 << 1) ^ ((uint64_t)old3 << 2) \
            ^ ((uint64_t)old4 << 3) ^ ((uint64_t)old5 << 4) ^ ((uint64_t)old7 << 5)              \
            ^ ((uint64_t)exp << 6) ^ (uint64_t)ok ^ ((uint64_t)add << 7);                        \
    } while (0)

int main(void) {
    uint64_t h = 14695981039346656037ull;
    for (int i = 0; i < 2000; i++) {
        STEP(a8, uint8_t, i);
        STEP(a16, uint16_t, i);
        STEP(a32, uint32_t, i);
        STEP(a64, uint64_t, i);
    }
    printf("values: %u %u %u %llu\n", a8, a16, a32, (unsigned long long)a64);
    printf("hash: %016llx\n", (unsigned long long)h);

    /* 128-bit compare-and-swap as an explicit ldaxp/stlxp loop (GCC would call libatomic) */
    uint64_t want_lo = 0xfedcba9876543210ull, want_hi = 0x0123456789abcdefull;
    for (int round = 0; round < 3; round++) {
        uint64_t exp_lo = round == 1 ? 5 : a128[0], exp_hi = a128[1];
        uint64_t lo, hi, st, ok;
        __asm__ volatile("1: ldaxp %0, %1, [%4]\n\t"
                         "cmp %0, %5\n\tccmp %1, %6, #0, eq\n\tb.ne 2f\n\t"
                         "stlxp %w2, %7, %8, [%4]\n\tcbnz %w2, 1b\n\tmov %3, #1\n\tb 3f\n"
                         "2: clrex\n\tmov %3, #0\n3:"
                         : "=&r"(lo), "=&r"(hi), "=&r"(st), "=&r"(ok)
                         : "r"(a128), "r"(exp_lo), "r"(exp_hi), "r"(want_lo), "r"(want_hi)
                         : "cc", "memory");
        printf("cas128 round %d: ok=%d seen=%016llx%016llx now=%016llx%016llx\n", round, (int)ok,
               (unsigned long long)hi, (unsigned long long)lo, (unsigned long long)a128[1],
               (unsigned long long)a128[0]);
        want_lo += 0x1111; want_hi ^= 0xff;
    }

    int t1 = atomic_flag_test_and_set(&flag);
    int t2 = atomic_flag_test_and_set(&flag);
    atomic_flag_clear(&flag);
    int t3 = atomic_flag_test_and_set(&flag);
    printf("test_and_set: %d %d %d\n", t1, t2, t3);

    for (int i = 0; i < 100000; i++) {
        atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
    }
    int weak_ok = 0;
    for (int i = 0; i < 1000; i++) {
        int cur = atomic_load(&counter);
        while (!atomic_compare_exchange_weak(&counter, &cur, cur + 2)) {}
        weak_ok++;
    }
    atomic_signal_fence(memory_order_seq_cst);
    printf("counter=%d weak_ok=%d\n", atomic_load(&counter), weak_ok);
    return 0;
}
