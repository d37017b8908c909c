// Bitfield instructions: ubfx/sbfx/ubfiz/sbfiz/bfi/bfxil/bfc/extr via inline asm,
// sign/zero extension (sxtb/sxth/sxtw/uxtb/uxth), and C struct bitfields.
#include <stdint.h>
#include <stdio.h>

struct packed {
    unsigned a : 3;
    signed b : 5;
    unsigned c : 12;
    signed d : 20;
    unsigned long long e : 40;
    signed long long f : 23;
    unsigned g : 1;
};

int main(void) {
    static const uint64_t V[] = {0, 0xffffffffffffffffull, 0x123456789abcdef0ull, 0x8000000000000001ull,
                                 0x00000000deadbeefull, 0x7f7f7f7f80808080ull};
    for (unsigned i = 0; i < 6; i++) {
        uint64_t a = V[i], b = 0xa5a5a5a5a5a5a5a5ull, r[24];
        int k = 0;
#define I(text) __asm__(text : "=r"(r[k]) : "r"(a)); k++;
#define B(text) r[k] = b; __asm__(text : "+r"(r[k]) : "r"(a)); k++;
        I("ubfx %0, %1, #4, #8") I("ubfx %0, %1, #63, #1") I("ubfx %0, %1, #0, #64")
        I("sbfx %0, %1, #4, #8") I("sbfx %0, %1, #31, #1") I("sbfx %0, %1, #12, #52")
        I("ubfiz %0, %1, #60, #4") I("sbfiz %0, %1, #8, #16") I("ubfx %w0, %w1, #28, #4")
        I("sbfx %w0, %w1, #7, #9") I("sxtb %0, %w1") I("sxth %0, %w1") I("sxtw %0, %w1")
        I("uxtb %w0, %w1") I("uxth %w0, %w1") I("sxtb %w0, %w1")
        B("bfi %0, %1, #8, #16") B("bfi %0, %1, #0, #64") B("bfxil %0, %1, #60, #4")
        B("bfi %w0, %w1, #31, #1") B("bfxil %w0, %w1, #3, #20") B("bfxil %0, xzr, #0, #16")
#undef I
#undef B
        __asm__("extr %0, %1, %2, #13" : "=r"(r[k]) : "r"(a), "r"(b)); k++;
        __asm__("extr %w0, %w1, %w2, #31" : "=r"(r[k]) : "r"(a), "r"(b)); k++;
        printf("%016llx:", (unsigned long long)a);
        for (int j = 0; j < k; j++) printf(" %llx", (unsigned long long)r[j]);
        printf("\n");
    }
    /* struct bitfields: write and read back many values */
    struct packed p = {0};
    uint64_t x = 0x2545f4914f6cdd1dull, h = 0;
    for (int k = 0; k < 100000; k++) {
        x = x * 6364136223846793005ull + 1;
        p.a = (unsigned)x;
        p.b = (int)(x >> 5);
        p.c = (unsigned)(x >> 10);
        p.d = (int)(x >> 22);
        p.e = x >> 3;
        p.f = (long long)(x >> 30);
        p.g = (unsigned)(x >> 63);
        h = h * 1000003 + p.a + (uint64_t)(int64_t)p.b * 7 + p.c * 13 + (uint64_t)(int64_t)p.d * 17 + p.e + (uint64_t)p.f + p.g;
        /* manual field extraction the compiler turns into ubfx/sbfx/bfi */
        uint64_t f1 = (x >> 17) & 0x7ff;
        int64_t f2 = (int64_t)(x << 9) >> 50;
        uint64_t ins = (h & ~(0xffull << 24)) | ((x & 0xff) << 24);
        h ^= f1 + (uint64_t)f2 + ins;
    }
    printf("bitfield hash %016llx last a=%u b=%d c=%u d=%d e=%llx f=%lld g=%u\n", (unsigned long long)h, p.a,
           p.b, p.c, p.d, (unsigned long long)p.e, (long long)p.f, p.g);
    return 0;
}
