// Multiplication: 128-bit products with __int128 and umulh/smulh, madd/msub/mneg,
// smull/umull/smaddl/umsubl/smnegl, 32-bit mul truncation, 128-bit division helpers.
#include <stdint.h>
#include <stdio.h>

typedef unsigned __int128 u128;
typedef __int128 s128;

static uint64_t umulh(uint64_t a, uint64_t b) { uint64_t r; __asm__("umulh %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); return r; }
static uint64_t smulh(uint64_t a, uint64_t b) { uint64_t r; __asm__("smulh %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); return r; }

static void print128(const char *tag, u128 v) {
    printf("%s %016llx%016llx\n", tag, (unsigned long long)(v >> 64), (unsigned long long)v);
}

int main(void) {
    static const uint64_t V[] = {0, 1, 2, 0x7fffffffffffffffull, 0x8000000000000000ull, 0xffffffffffffffffull,
                                 0xffffffffull, 0x100000000ull, 0x123456789abcdef0ull, 0xdeadbeefcafebabeull};
    const unsigned n = sizeof V / sizeof V[0];
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = 0; j < n; j++) {
            uint64_t a = V[i], b = V[j];
            u128 pu = (u128)a * b;
            s128 ps = (s128)(int64_t)a * (int64_t)b;
            uint64_t r[10];
            __asm__("madd %0, %1, %2, %3" : "=r"(r[0]) : "r"(a), "r"(b), "r"(a ^ b));
            __asm__("msub %0, %1, %2, %3" : "=r"(r[1]) : "r"(a), "r"(b), "r"(a + b));
            __asm__("mneg %0, %1, %2" : "=r"(r[2]) : "r"(a), "r"(b));
            __asm__("smull %0, %w1, %w2" : "=r"(r[3]) : "r"(a), "r"(b));
            __asm__("umull %0, %w1, %w2" : "=r"(r[4]) : "r"(a), "r"(b));
            __asm__("smaddl %0, %w1, %w2, %3" : "=r"(r[5]) : "r"(a), "r"(b), "r"(a));
            __asm__("umsubl %0, %w1, %w2, %3" : "=r"(r[6]) : "r"(a), "r"(b), "r"(b));
            __asm__("smnegl %0, %w1, %w2" : "=r"(r[7]) : "r"(a), "r"(b));
            __asm__("mul %w0, %w1, %w2" : "=r"(r[8]) : "r"(a), "r"(b));
            __asm__("madd %w0, %w1, %w2, %w3" : "=r"(r[9]) : "r"(a), "r"(b), "r"(b));
            printf("%u %u u=%016llx%016llx s=%016llx%016llx uh=%llx sh=%llx |", i, j,
                   (unsigned long long)(pu >> 64), (unsigned long long)pu,
                   (unsigned long long)((u128)ps >> 64), (unsigned long long)ps,
                   (unsigned long long)umulh(a, b), (unsigned long long)smulh(a, b));
            for (int k = 0; k < 10; k++) printf(" %llx", (unsigned long long)r[k]);
            printf("\n");
        }
    /* factorials mod 2^128 */
    u128 f = 1;
    for (unsigned k = 1; k <= 40; k++) {
        f *= k;
        if (k % 10 == 0) { char t[16]; snprintf(t, sizeof t, "%u! =", k); print128(t, f); }
    }
    /* 128-bit division (libgcc __udivti3/__divti3) */
    u128 big = ((u128)0xfedcba9876543210ull << 64) | 0x0123456789abcdefull;
    print128("big/7 =", big / 7);
    print128("big mod 1e19 =", big % 10000000000000000000ull);
    print128("big/(2^64+1) =", big / (((u128)1 << 64) + 1));
    s128 neg = -(s128)big / 3;
    print128("-big/3 =", (u128)neg);
    /* decimal printing of a 128-bit number */
    char buf[64]; int p = 63; buf[p] = 0;
    u128 t = big;
    do { buf[--p] = (char)('0' + (int)(t % 10)); t /= 10; } while (t);
    printf("big = %s\n", buf + p);
    /* running umulh/smulh hash */
    uint64_t x = 0x9e3779b97f4a7c15ull, h = 0;
    for (int k = 0; k < 100000; k++) {
        x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
        uint64_t y = x * 0x2545f4914f6cdd1dull;
        h += umulh(x, y) ^ smulh(y, x) ^ (uint64_t)(((s128)(int64_t)x * (int64_t)y) >> 64);
        h = h * 3 + (uint64_t)((u128)x * y);
    }
    printf("mulh hash %016llx\n", (unsigned long long)h);
    return 0;
}
