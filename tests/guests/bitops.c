// Bit manipulation: clz/cls/rbit/rev/rev16/rev32 (64- and 32-bit) via inline asm,
// and the C builtins clz/ctz/popcount/parity/bswap/ffs (popcount uses SIMD cnt).
#include <stdint.h>
#include <stdio.h>

#define U(name, text) static uint64_t name(uint64_t a) { uint64_t r; __asm__(text : "=r"(r) : "r"(a)); return r; }
U(clz64, "clz %0, %1")
U(cls64, "cls %0, %1")
U(rbit64, "rbit %0, %1")
U(rev64, "rev %0, %1")
U(rev16_64, "rev16 %0, %1")
U(rev32_64, "rev32 %0, %1")
U(clz32, "clz %w0, %w1")
U(cls32, "cls %w0, %w1")
U(rbit32, "rbit %w0, %w1")
U(rev_32, "rev %w0, %w1")
U(rev16_32, "rev16 %w0, %w1")

int main(void) {
    static const uint64_t V[] = {0, 1, 0x8000000000000000ull, 0xffffffffffffffffull, 0x7fffffffffffffffull,
                                 0x00000000ffffffffull, 0xffffffff00000000ull, 0x0000000080000000ull,
                                 0x00000000c0000000ull, 0x123456789abcdef0ull, 0x0102030405060708ull,
                                 0xc000000000000001ull, 0x00ff00ff00ff00ffull};
    for (unsigned i = 0; i < sizeof V / sizeof V[0]; i++) {
        uint64_t a = V[i];
        printf("%016llx: clz=%llu cls=%llu rbit=%llx rev=%llx rev16=%llx rev32=%llx | clz32=%llu cls32=%llu rbit32=%llx rev32w=%llx rev16w=%llx\n",
               (unsigned long long)a, (unsigned long long)clz64(a), (unsigned long long)cls64(a),
               (unsigned long long)rbit64(a), (unsigned long long)rev64(a), (unsigned long long)rev16_64(a),
               (unsigned long long)rev32_64(a), (unsigned long long)clz32(a), (unsigned long long)cls32(a),
               (unsigned long long)rbit32(a), (unsigned long long)rev_32(a), (unsigned long long)rev16_32(a));
        printf("  builtins: popc=%d popc32=%d parity=%d bswap64=%llx bswap32=%x bswap16=%x ffs=%d",
               __builtin_popcountll(a), __builtin_popcount((uint32_t)a), __builtin_parityll(a),
               (unsigned long long)__builtin_bswap64(a), __builtin_bswap32((uint32_t)a),
               __builtin_bswap16((uint16_t)a), __builtin_ffsll((long long)a));
        if (a) printf(" clzll=%d ctzll=%d clrsb=%d", __builtin_clzll(a), __builtin_ctzll(a), __builtin_clrsbll((long long)a));
        printf("\n");
    }
    /* hash over many values */
    uint64_t x = 88172645463325252ull, h = 0;
    unsigned long long popsum = 0;
    for (int k = 0; k < 200000; k++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        uint64_t y = x >> (k & 63);
        popsum += (unsigned)__builtin_popcountll(y);
        h = h * 31 + clz64(y) + cls64(y) * 64 + rbit64(y) + rev64(y) + rev16_32(y) + cls32(y) + (y ? (uint64_t)__builtin_ctzll(y) : 99);
    }
    printf("popsum=%llu hash=%016llx\n", popsum, (unsigned long long)h);
    return 0;
}
