// Flag-setting integer instructions: adds/subs/adcs/sbcs/cmp/cmn/tst/ands/bics/
// negs/ngcs/ccmp/ccmn in 64- and 32-bit forms, immediate/shifted/extended operands,
// and C overflow builtins. Prints result and NZCV for every corner-case pair.
#include <stdint.h>
#include <stdio.h>

static const uint64_t V64[] = {
    0, 1, 2, 0x7fffffffffffffffull, 0x8000000000000000ull, 0x8000000000000001ull,
    0xffffffffffffffffull, 0xfffffffffffffffeull, 0x7fffffffull, 0x80000000ull,
    0xffffffffull, 0x100000000ull, 0x123456789abcdef0ull, 0xfedcba9876543210ull,
};
#define N64 (sizeof V64 / sizeof V64[0])

static const char *nzcv_str(uint64_t f) {
    static char bufs[8][5];
    static unsigned k;
    char *s = bufs[k++ & 7];
    s[0] = (f & 8) ? 'N' : 'n';
    s[1] = (f & 4) ? 'Z' : 'z';
    s[2] = (f & 2) ? 'C' : 'c';
    s[3] = (f & 1) ? 'V' : 'v';
    s[4] = 0;
    return s;
}

/* binary op, 64-bit, flags in from `fin` (NZCV in bits 31..28) */
#define OP64(fn, text)                                                              \
    static uint64_t fn(uint64_t a, uint64_t b, uint64_t fin, uint64_t *flags) {     \
        uint64_t r, f;                                                              \
        __asm__ volatile("msr nzcv, %3\n\t" text "\n\tmrs %1, nzcv"                 \
                         : "=&r"(r), "=&r"(f)                                       \
                         : "r"(a), "r"(fin), "r"(b)                                 \
                         : "cc");                                                   \
        *flags = f >> 28;                                                           \
        return r;                                                                   \
    }

OP64(adds64, "adds %0, %2, %4")
OP64(subs64, "subs %0, %2, %4")
OP64(adcs64, "adcs %0, %2, %4")
OP64(sbcs64, "sbcs %0, %2, %4")
OP64(ands64, "ands %0, %2, %4")
OP64(bics64, "bics %0, %2, %4")
OP64(adds32, "adds %w0, %w2, %w4")
OP64(subs32, "subs %w0, %w2, %w4")
OP64(adcs32, "adcs %w0, %w2, %w4")
OP64(sbcs32, "sbcs %w0, %w2, %w4")
OP64(ands32, "ands %w0, %w2, %w4")
OP64(bics32, "bics %w0, %w2, %w4")
OP64(cmp64, "mov %0, #0\n\tcmp %2, %4")
OP64(cmn64, "mov %0, #0\n\tcmn %2, %4")
OP64(tst64, "mov %0, #0\n\ttst %2, %4")
OP64(cmp32, "mov %0, #0\n\tcmp %w2, %w4")
OP64(cmn32, "mov %0, #0\n\tcmn %w2, %w4")
OP64(tst32, "mov %0, #0\n\ttst %w2, %w4")
OP64(adds_lsl7, "adds %0, %2, %4, lsl #7")
OP64(subs_asr63, "subs %0, %2, %4, asr #63")
OP64(subs_lsr1, "subs %0, %2, %4, lsr #1")
OP64(ands_ror13, "ands %0, %2, %4, ror #13")
OP64(adds_uxtw, "adds %0, %2, %w4, uxtw")
OP64(subs_sxtb2, "subs %0, %2, %w4, sxtb #2")
OP64(adds_sxth, "adds %0, %2, %w4, sxth")
OP64(cmp_sxtw, "mov %0, #0\n\tcmp %2, %w4, sxtw #1")
OP64(negs64, "negs %0, %4")
OP64(ngcs64, "ngcs %0, %4")
OP64(negs32, "negs %w0, %w4")
OP64(ngcs32, "ngcs %w0, %w4")

typedef uint64_t (*op_fn)(uint64_t, uint64_t, uint64_t, uint64_t *);
struct op { const char *name; op_fn fn; int uses_carry; };

static const struct op OPS[] = {
    {"adds64", adds64, 0}, {"subs64", subs64, 0}, {"adcs64", adcs64, 1}, {"sbcs64", sbcs64, 1},
    {"ands64", ands64, 0}, {"bics64", bics64, 0}, {"adds32", adds32, 0}, {"subs32", subs32, 0},
    {"adcs32", adcs32, 1}, {"sbcs32", sbcs32, 1}, {"ands32", ands32, 0}, {"bics32", bics32, 0},
    {"cmp64", cmp64, 0},   {"cmn64", cmn64, 0},   {"tst64", tst64, 0},   {"cmp32", cmp32, 0},
    {"cmn32", cmn32, 0},   {"tst32", tst32, 0},   {"adds_lsl7", adds_lsl7, 0},
    {"subs_asr63", subs_asr63, 0}, {"subs_lsr1", subs_lsr1, 0}, {"ands_ror13", ands_ror13, 0},
    {"adds_uxtw", adds_uxtw, 0}, {"subs_sxtb2", subs_sxtb2, 0}, {"adds_sxth", adds_sxth, 0},
    {"cmp_sxtw", cmp_sxtw, 0}, {"negs64", negs64, 1}, {"ngcs64", ngcs64, 1},
    {"negs32", negs32, 1}, {"ngcs32", ngcs32, 1},
};

/* immediate forms */
static uint64_t imm_forms(uint64_t a, uint64_t *fl) {
    uint64_t r, f, acc = 0, facc = 0;
    __asm__ volatile("adds %0, %2, #4095\n\tmrs %1, nzcv" : "=&r"(r), "=&r"(f) : "r"(a) : "cc");
    acc = acc * 31 + r; facc = facc * 16 + (f >> 28);
    __asm__ volatile("subs %0, %2, #1, lsl #12\n\tmrs %1, nzcv" : "=&r"(r), "=&r"(f) : "r"(a) : "cc");
    acc = acc * 31 + r; facc = facc * 16 + (f >> 28);
    __asm__ volatile("cmp %2, #0\n\tmrs %1, nzcv\n\tmov %0, #0" : "=&r"(r), "=&r"(f) : "r"(a) : "cc");
    facc = facc * 16 + (f >> 28);
    __asm__ volatile("cmn %w2, #1\n\tmrs %1, nzcv\n\tmov %0, #0" : "=&r"(r), "=&r"(f) : "r"(a) : "cc");
    facc = facc * 16 + (f >> 28);
    __asm__ volatile("ands %0, %2, #0xff00ff00ff00ff00\n\tmrs %1, nzcv" : "=&r"(r), "=&r"(f) : "r"(a) : "cc");
    acc = acc * 31 + r; facc = facc * 16 + (f >> 28);
    __asm__ volatile("tst %w2, #0x80000001\n\tmrs %1, nzcv\n\tmov %0, #0" : "=&r"(r), "=&r"(f) : "r"(a) : "cc");
    facc = facc * 16 + (f >> 28);
    __asm__ volatile("subs %w0, %w2, #1\n\tmrs %1, nzcv" : "=&r"(r), "=&r"(f) : "r"(a) : "cc");
    acc = acc * 31 + r; facc = facc * 16 + (f >> 28);
    __asm__ volatile("adds %w0, %w2, #4095, lsl #12\n\tmrs %1, nzcv" : "=&r"(r), "=&r"(f) : "r"(a) : "cc");
    acc = acc * 31 + r; facc = facc * 16 + (f >> 28);
    *fl = facc;
    return acc;
}

/* ccmp/ccmn: set flags to fin, then conditional compare */
#define CC(fn, text)                                                                \
    static uint64_t fn(uint64_t a, uint64_t b, uint64_t fin) {                      \
        uint64_t f;                                                                 \
        __asm__ volatile("msr nzcv, %1\n\t" text "\n\tmrs %0, nzcv"                 \
                         : "=&r"(f)                                                 \
                         : "r"(fin), "r"(a), "r"(b)                                 \
                         : "cc");                                                   \
        return f >> 28;                                                             \
    }
CC(ccmp_eq, "ccmp %2, %3, #0b0010, eq")
CC(ccmp_ne, "ccmp %2, %3, #0b1001, ne")
CC(ccmp_hs, "ccmp %2, %3, #0b0100, hs")
CC(ccmp_lt, "ccmp %w2, %w3, #0b1111, lt")
CC(ccmp_gt, "ccmp %2, %3, #0b0000, gt")
CC(ccmn_mi, "ccmn %2, %3, #0b0110, mi")
CC(ccmn_vs, "ccmn %w2, %w3, #0b1000, vs")
CC(ccmp_imm_ls, "ccmp %2, #31, #0b0101, ls")
CC(ccmn_imm_al, "ccmn %2, #5, #0b1111, al")

static uint64_t lcg = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) { lcg = lcg * 6364136223846793005ull + 1442695040888963407ull; return lcg; }

int main(void) {
    uint64_t flags;
    for (unsigned o = 0; o < sizeof OPS / sizeof OPS[0]; o++) {
        printf("== %s\n", OPS[o].name);
        for (unsigned i = 0; i < N64; i++) {
            for (unsigned j = 0; j < N64; j++) {
                for (uint64_t c = 0; c <= (uint64_t)OPS[o].uses_carry; c++) {
                    /* carry-in via C flag; other input flags set to junk (N,V) that must not leak */
                    uint64_t fin = (c << 29) | (1ull << 31) | (1ull << 28);
                    uint64_t r = OPS[o].fn(V64[i], V64[j], fin, &flags);
                    printf("%x %x c%d %016llx %s\n", i, j, (int)c, (unsigned long long)r, nzcv_str(flags));
                }
            }
        }
    }
    printf("== immediates\n");
    for (unsigned i = 0; i < N64; i++) {
        uint64_t f, r = imm_forms(V64[i], &f);
        printf("%x %016llx %08llx\n", i, (unsigned long long)r, (unsigned long long)f);
    }
    printf("== ccmp/ccmn\n");
    static const uint64_t cv[] = {0, 1, 31, 0x80000000ull, 0xffffffffffffffffull, 0x8000000000000000ull};
    for (unsigned fi = 0; fi < 16; fi++) {
        uint64_t fin = (uint64_t)fi << 28;
        uint64_t acc = 0;
        for (unsigned i = 0; i < 6; i++)
            for (unsigned j = 0; j < 6; j++) {
                uint64_t a = cv[i], b = cv[j];
                acc = acc * 3 + ccmp_eq(a, b, fin);
                acc = acc * 3 + ccmp_ne(a, b, fin);
                acc = acc * 3 + ccmp_hs(a, b, fin);
                acc = acc * 3 + ccmp_lt(a, b, fin);
                acc = acc * 3 + ccmp_gt(a, b, fin);
                acc = acc * 3 + ccmn_mi(a, b, fin);
                acc = acc * 3 + ccmn_vs(a, b, fin);
                acc = acc * 3 + ccmp_imm_ls(a, b, fin);
                acc = acc * 3 + ccmn_imm_al(a, b, fin);
            }
        printf("fin=%s ccmp/ccmn hash %016llx  eq(1,1)=%s ne(0,1)=%s lt32(1,0x80000000)=%s\n",
               nzcv_str(fi), (unsigned long long)acc, nzcv_str(ccmp_eq(1, 1, fin)),
               nzcv_str(ccmp_ne(0, 1, fin)), nzcv_str(ccmp_lt(1, 0x80000000ull, fin)));
    }
    printf("== C overflow builtins\n");
    uint64_t h = 0;
    int ovf_count = 0;
    for (int k = 0; k < 20000; k++) {
        uint64_t a = rnd(), b = rnd();
        if (k % 7 == 0) a = V64[k % N64];
        if (k % 5 == 0) b = V64[(k / 5) % N64];
        int64_t s64; uint64_t u64; int32_t s32; uint32_t u32;
        int o1 = __builtin_add_overflow((int64_t)a, (int64_t)b, &s64);
        int o2 = __builtin_sub_overflow((int64_t)a, (int64_t)b, &s64);
        int o3 = __builtin_mul_overflow((int64_t)a, (int64_t)b, &s64);
        int o4 = __builtin_add_overflow(a, b, &u64);
        int o5 = __builtin_sub_overflow(a, b, &u64);
        int o6 = __builtin_mul_overflow(a, b, &u64);
        int o7 = __builtin_add_overflow((int32_t)a, (int32_t)b, &s32);
        int o8 = __builtin_sub_overflow((int32_t)a, (int32_t)b, &s32);
        int o9 = __builtin_mul_overflow((int32_t)a, (int32_t)b, &s32);
        int o10 = __builtin_add_overflow((uint32_t)a, (uint32_t)b, &u32);
        int o11 = __builtin_mul_overflow((uint32_t)a, (uint32_t)b, &u32);
        int cmp = ((int64_t)a < (int64_t)b) | (a < b) << 1 | ((int32_t)a <= (int32_t)b) << 2 |
                  ((uint32_t)a >= (uint32_t)b) << 3 | (a == b) << 4 | ((int64_t)a > (int64_t)b) << 5;
        unsigned m = o1 | o2 << 1 | o3 << 2 | o4 << 3 | o5 << 4 | o6 << 5 | o7 << 6 | o8 << 7 |
                     o9 << 8 | o10 << 9 | o11 << 10;
        ovf_count += __builtin_popcount(m);
        h = (h ^ (m | (uint64_t)cmp << 16) ^ (uint64_t)s64 ^ u64 ^ (uint64_t)(uint32_t)s32 ^ ((uint64_t)u32 << 32)) * 0x100000001b3ull;
    }
    printf("overflows=%d hash=%016llx\n", ovf_count, (unsigned long long)h);
    return 0;
}
