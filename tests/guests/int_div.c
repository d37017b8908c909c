// Integer division: sdiv/udiv in 64- and 32-bit forms via inline asm, including
// INT64_MIN/-1, INT32_MIN/-1 (wrap, no trap) and division by zero (result 0);
// msub remainders; C division/modulo by constants (multiply-high tricks).
#include <stdint.h>
#include <stdio.h>

static uint64_t udiv64(uint64_t a, uint64_t b) { uint64_t r; __asm__("udiv %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); return r; }
static int64_t sdiv64(int64_t a, int64_t b) { int64_t r; __asm__("sdiv %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); return r; }
static uint64_t udiv32(uint64_t a, uint64_t b) { uint64_t r; __asm__("udiv %w0, %w1, %w2" : "=r"(r) : "r"(a), "r"(b)); return r; }
static uint64_t sdiv32(uint64_t a, uint64_t b) { uint64_t r; __asm__("sdiv %w0, %w1, %w2" : "=r"(r) : "r"(a), "r"(b)); return r; }
static int64_t srem64(int64_t a, int64_t b) {
    int64_t q, r;
    __asm__("sdiv %0, %2, %3\n\tmsub %1, %0, %3, %2" : "=&r"(q), "=r"(r) : "r"(a), "r"(b));
    return r;
}
static uint64_t urem32(uint64_t a, uint64_t b) {
    uint64_t q, r;
    __asm__("udiv %w0, %w2, %w3\n\tmsub %w1, %w0, %w3, %w2" : "=&r"(q), "=r"(r) : "r"(a), "r"(b));
    return r;
}

static const uint64_t V[] = {
    0, 1, 2, 3, 7, 10, 0x7fffffffffffffffull, 0x8000000000000000ull, 0xffffffffffffffffull,
    0xfffffffffffffff9ull, 0x7fffffffull, 0x80000000ull, 0xffffffffull, 0xfffffffeull,
    0x1234567800000005ull, 0xdeadbeefcafebabeull,
};
#define NV (sizeof V / sizeof V[0])

int main(void) {
    printf("INT64_MIN/-1 = %lld\n", (long long)sdiv64(INT64_MIN, -1));
    printf("INT64_MIN%%-1 = %lld\n", (long long)srem64(INT64_MIN, -1));
    printf("INT32_MIN/-1 = 0x%llx\n", (unsigned long long)sdiv32(0x80000000u, 0xffffffffu));
    printf("INT32_MIN/-1 (upper garbage) = 0x%llx\n", (unsigned long long)sdiv32(0xabcdef0080000000ull, 0x12345678ffffffffull));
    printf("5/0 udiv64=%llu sdiv64=%lld udiv32=%llu sdiv32=%llu\n", (unsigned long long)udiv64(5, 0),
           (long long)sdiv64(5, 0), (unsigned long long)udiv32(5, 0), (unsigned long long)sdiv32(5, 0));
    printf("-5/0 sdiv64=%lld srem=%lld urem32(7,0)=%llu\n", (long long)sdiv64(-5, 0), (long long)srem64(-5, 0),
           (unsigned long long)urem32(7, 0));
    printf("-7/2=%lld -7%%2=%lld 7/-2=%lld 7%%-2=%lld\n", (long long)sdiv64(-7, 2), (long long)srem64(-7, 2),
           (long long)sdiv64(7, -2), (long long)srem64(7, -2));
    for (unsigned i = 0; i < NV; i++)
        for (unsigned j = 0; j < NV; j++) {
            uint64_t a = V[i], b = V[j];
            printf("%x/%x u64=%llx s64=%llx u32=%llx s32=%llx sr64=%llx ur32=%llx\n", i, j,
                   (unsigned long long)udiv64(a, b), (unsigned long long)sdiv64((int64_t)a, (int64_t)b),
                   (unsigned long long)udiv32(a, b), (unsigned long long)sdiv32(a, b),
                   (unsigned long long)srem64((int64_t)a, (int64_t)b), (unsigned long long)urem32(a, b));
        }
    /* C-level division by constants and variables */
    volatile int64_t divs[] = {3, 5, 7, 10, 13, 100, 1000, 641, -3, -10, 0x100000001ll};
    uint64_t h = 1469598103934665603ull;
    uint64_t x = 0x243f6a8885a308d3ull;
    for (int k = 0; k < 50000; k++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        int64_t s = (int64_t)x >> (k % 40);
        uint64_t u = x >> (k % 50);
        int32_t s32 = (int32_t)x;
        uint32_t u32 = (uint32_t)(x >> 32);
        h = (h ^ (uint64_t)(s / 3)) * 1099511628211ull;
        h = (h ^ (uint64_t)(s % 7)) * 1099511628211ull;
        h = (h ^ (u / 10)) * 1099511628211ull;
        h = (h ^ (u % 1000)) * 1099511628211ull;
        h = (h ^ (uint64_t)(s32 / 13)) * 1099511628211ull;
        h = (h ^ (uint64_t)(s32 % -10)) * 1099511628211ull;
        h = (h ^ (u32 / 641u)) * 1099511628211ull;
        h = (h ^ (u32 % 100u)) * 1099511628211ull;
        int64_t d = divs[k % 11];
        h = (h ^ (uint64_t)(s / d) ^ (uint64_t)(s % d)) * 1099511628211ull;
        h = (h ^ (u / (uint64_t)d)) * 1099511628211ull;
        h = (h ^ (uint64_t)(s / 8) ^ (uint64_t)(s % 16)) * 1099511628211ull; /* power-of-two signed */
    }
    printf("C division hash %016llx\n", (unsigned long long)h);
    return 0;
}
