// Conditional select family (csel/csinc/csinv/csneg, cset/csetm, cinc/cneg) over all
// 16 condition codes and all 16 NZCV states; conditional branches b.cond/cbz/cbnz/
// tbz/tbnz; C branchless min/max/abs.
#include <stdint.h>
#include <stdio.h>

#define CONDS(X) X(eq) X(ne) X(cs) X(cc) X(mi) X(pl) X(vs) X(vc) X(hi) X(ls) X(ge) X(lt) X(gt) X(le) X(al) X(nv)

#define SEL(c)                                                                                         \
    static uint64_t sel_##c(uint64_t f, uint64_t a, uint64_t b) {                                      \
        uint64_t r0, r1, r2, r3, r4, r5;                                                               \
        __asm__("msr nzcv, %6\n\t"                                                                     \
                "csel %0, %7, %8, " #c "\n\t"                                                          \
                "csinc %1, %7, %8, " #c "\n\t"                                                         \
                "csinv %2, %7, %8, " #c "\n\t"                                                         \
                "csneg %3, %7, %8, " #c "\n\t"                                                         \
                "csinc %w4, %w7, %w8, " #c "\n\t"                                                      \
                "csneg %w5, %w7, %w8, " #c                                                             \
                : "=&r"(r0), "=&r"(r1), "=&r"(r2), "=&r"(r3), "=&r"(r4), "=&r"(r5)                     \
                : "r"(f), "r"(a), "r"(b)                                                               \
                : "cc");                                                                               \
        return r0 * 3 + r1 * 5 + r2 * 7 + r3 * 11 + r4 * 13 + r5 * 17;                                \
    }                                                                                                  \
    static int br_##c(uint64_t f) {                                                                    \
        int r;                                                                                         \
        __asm__("msr nzcv, %1\n\tmov %w0, #1\n\tb." #c " 1f\n\tmov %w0, #0\n1:" : "=&r"(r) : "r"(f) : "cc"); \
        return r;                                                                                      \
    }
CONDS(SEL)

typedef uint64_t (*self)(uint64_t, uint64_t, uint64_t);
typedef int (*brf)(uint64_t);
#define ENT(c) {#c, sel_##c, br_##c},
static const struct { const char *n; self s; brf b; } T[] = {CONDS(ENT)};

static int cset_all(uint64_t a, uint64_t b) {
    uint64_t eq, lt, lo, gt, hi, le, ls, ge, m;
    __asm__("cmp %9, %10\n\t"
            "cset %0, eq\n\tcset %1, lt\n\tcset %2, lo\n\tcset %3, gt\n\tcset %4, hi\n\t"
            "cset %5, le\n\tcset %6, ls\n\tcset %7, ge\n\tcsetm %8, mi"
            : "=r"(eq), "=r"(lt), "=r"(lo), "=r"(gt), "=r"(hi), "=r"(le), "=r"(ls), "=r"(ge), "=r"(m)
            : "r"(a), "r"(b)
            : "cc");
    return (int)(eq | lt << 1 | lo << 2 | gt << 3 | hi << 4 | le << 5 | ls << 6 | ge << 7 | (m & 0x100));
}

static int cb_tests(uint64_t a) {
    int r = 0;
    __asm__("mov %w0, #0\n\t"
            "cbz %1, 1f\n\torr %w0, %w0, #1\n1:\t"
            "cbnz %w1, 2f\n\torr %w0, %w0, #2\n2:\t"
            "tbz %1, #63, 3f\n\torr %w0, %w0, #4\n3:\t"
            "tbnz %1, #0, 4f\n\torr %w0, %w0, #8\n4:\t"
            "tbnz %w1, #31, 5f\n\torr %w0, %w0, #16\n5:"
            : "=&r"(r)
            : "r"(a));
    return r;
}

int main(void) {
    static const uint64_t A[] = {0, 1, 0x8000000000000000ull, 0xffffffffffffffffull, 0x7fffffff80000000ull};
    for (unsigned c = 0; c < 16; c++) {
        printf("%s:", T[c].n);
        for (uint64_t f = 0; f < 16; f++) {
            uint64_t h = 0;
            for (unsigned i = 0; i < 5; i++)
                for (unsigned j = 0; j < 5; j++) h = h * 31 + T[c].s(f << 28, A[i], A[j]);
            printf(" %x:%d:%04llx", (unsigned)f, T[c].b(f << 28), (unsigned long long)(h & 0xffff));
        }
        printf("\n");
    }
    static const uint64_t C[] = {0, 1, 2, 0x7fffffffffffffffull, 0x8000000000000000ull, 0xffffffffffffffffull, 0x80000000ull};
    for (unsigned i = 0; i < 7; i++) {
        printf("cset %u:", i);
        for (unsigned j = 0; j < 7; j++) printf(" %03x", cset_all(C[i], C[j]));
        printf(" cb=%02x\n", cb_tests(C[i]));
    }
    volatile int64_t vals[] = {5, -3, 0, INT64_MIN, INT64_MAX, -1, 42, -42};
    int64_t acc = 0;
    for (int r = 0; r < 1000; r++)
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 8; j++) {
                int64_t a = vals[i], b = vals[j];
                int64_t mn = a < b ? a : b, mx = a > b ? a : b;
                uint64_t umx = (uint64_t)a > (uint64_t)b ? (uint64_t)a : (uint64_t)b;
                int64_t ab = a < 0 ? -(uint64_t)a : (uint64_t)a;
                int64_t inc = a == b ? a + 1 : b;
                acc = acc * 7 + mn + mx + (int64_t)umx + ab + inc + r;
            }
    printf("C select hash %016llx\n", (unsigned long long)acc);
    return 0;
}
