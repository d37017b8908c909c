// Shifts and rotates: immediate shifts by 0/1/31/32/63, register shifts (lslv/lsrv/
// asrv/rorv) with amounts beyond the width (taken mod 64 / mod 32), shifted-register
// operands of add/sub/logical ops, and 32-bit ops zeroing the upper half.
#include <stdint.h>
#include <stdio.h>

#define SH(name, text) \
    static uint64_t name(uint64_t a, uint64_t b) { uint64_t r; __asm__(text : "=r"(r) : "r"(a), "r"(b)); return r; }

SH(lslv64, "lsl %0, %1, %2")
SH(lsrv64, "lsr %0, %1, %2")
SH(asrv64, "asr %0, %1, %2")
SH(rorv64, "ror %0, %1, %2")
SH(lslv32, "lsl %w0, %w1, %w2")
SH(lsrv32, "lsr %w0, %w1, %w2")
SH(asrv32, "asr %w0, %w1, %w2")
SH(rorv32, "ror %w0, %w1, %w2")

/* immediate shifts, packed into an array */
static void imm_shifts(uint64_t a, uint64_t out[24]) {
    int i = 0;
#define I(text) __asm__(text : "=r"(out[i]) : "r"(a)); i++;
    I("lsl %0, %1, #0") I("lsl %0, %1, #1") I("lsl %0, %1, #32") I("lsl %0, %1, #63")
    I("lsr %0, %1, #0") I("lsr %0, %1, #1") I("lsr %0, %1, #32") I("lsr %0, %1, #63")
    I("asr %0, %1, #0") I("asr %0, %1, #1") I("asr %0, %1, #32") I("asr %0, %1, #63")
    I("ror %0, %1, #0") I("ror %0, %1, #1") I("ror %0, %1, #63") I("lsl %w0, %w1, #31")
    I("lsr %w0, %w1, #31") I("asr %w0, %w1, #31") I("asr %w0, %w1, #0") I("ror %w0, %w1, #31")
    I("ror %w0, %w1, #1") I("lsl %w0, %w1, #0") I("lsr %w0, %w1, #0") I("ror %w0, %w1, #0")
#undef I
}

/* shifted-register operands */
static void shifted_ops(uint64_t a, uint64_t b, uint64_t out[20]) {
    int i = 0;
#define I(text) __asm__(text : "=r"(out[i]) : "r"(a), "r"(b)); i++;
    I("add %0, %1, %2, lsl #63") I("add %0, %1, %2, lsr #63") I("add %0, %1, %2, asr #63")
    I("sub %0, %1, %2, lsl #0") I("sub %0, %1, %2, asr #17") I("and %0, %1, %2, ror #63")
    I("orr %0, %1, %2, ror #1") I("eor %0, %1, %2, lsr #33") I("bic %0, %1, %2, asr #3")
    I("orn %0, %1, %2, lsl #5") I("eon %0, %1, %2, ror #32") I("add %w0, %w1, %w2, lsl #31")
    I("sub %w0, %w1, %w2, asr #31") I("eor %w0, %w1, %w2, ror #31") I("orn %w0, %w1, %w2, lsr #7")
    I("neg %0, %2, lsl #3") I("mvn %0, %2, ror #7") I("mvn %w0, %w2") I("neg %w0, %w2, asr #1")
    I("add %w0, %w1, %w2")
#undef I
}

int main(void) {
    static const uint64_t V[] = {0, 1, 0x8000000000000000ull, 0xffffffffffffffffull, 0x80000000ull,
                                 0x123456789abcdef0ull, 0xfedcba9876543210ull, 0xffffffff00000001ull};
    static const uint64_t A[] = {0, 1, 31, 32, 33, 63, 64, 65, 95, 127, 128, 255, 0xffffffffffffffc1ull};
    for (unsigned i = 0; i < 8; i++) {
        uint64_t o[24];
        imm_shifts(V[i], o);
        printf("imm %llx:", (unsigned long long)V[i]);
        for (int k = 0; k < 24; k++) printf(" %llx", (unsigned long long)o[k]);
        printf("\n");
    }
    for (unsigned i = 0; i < 8; i++)
        for (unsigned j = 0; j < sizeof A / sizeof A[0]; j++) {
            uint64_t a = V[i], s = A[j];
            printf("reg %llx by %llu: %llx %llx %llx %llx | %llx %llx %llx %llx\n", (unsigned long long)a,
                   (unsigned long long)s, (unsigned long long)lslv64(a, s), (unsigned long long)lsrv64(a, s),
                   (unsigned long long)asrv64(a, s), (unsigned long long)rorv64(a, s),
                   (unsigned long long)lslv32(a, s), (unsigned long long)lsrv32(a, s),
                   (unsigned long long)asrv32(a, s), (unsigned long long)rorv32(a, s));
        }
    for (unsigned i = 0; i < 8; i++)
        for (unsigned j = 0; j < 8; j++) {
            uint64_t o[20];
            shifted_ops(V[i], V[j], o);
            printf("ops %u %u:", i, j);
            for (int k = 0; k < 20; k++) printf(" %llx", (unsigned long long)o[k]);
            printf("\n");
        }
    /* C shifts with variable in-range amounts (compiler picks lslv/asrv/ubfiz etc.) */
    uint64_t h = 0;
    volatile uint64_t seed = 0x0123456789abcdefull;
    uint64_t x = seed;
    for (int k = 0; k < 100000; k++) {
        unsigned s = k & 63, s32 = k & 31;
        x = x * 0x5851f42d4c957f2dull + 0x14057b7ef767814full;
        h ^= (x << s) + (x >> s) + (uint64_t)((int64_t)x >> s);
        h ^= (uint64_t)((uint32_t)x << s32) + ((uint32_t)x >> s32) + (uint64_t)(uint32_t)((int32_t)x >> s32);
        h = (h << 7) | (h >> 57);
        h += (x >> (64 - (s | 1))) ^ (uint64_t)(uint16_t)(x >> 3);
    }
    printf("C shift hash %016llx\n", (unsigned long long)h);
    return 0;
}
