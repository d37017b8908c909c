// Floating-point environment: rounding modes (fesetround -> FPCR.RMode) affecting
// arithmetic, sqrt, conversions and rint; cumulative exception flags in FPSR
// (fetestexcept for inexact/invalid/divbyzero/overflow/underflow); flush-to-zero and
// default-NaN FPCR bits set by msr fpcr.
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

static const char *flags(void) {
    static char s[6];
    int e = fetestexcept(FE_ALL_EXCEPT);
    s[0] = (e & FE_INEXACT) ? 'x' : '-';
    s[1] = (e & FE_UNDERFLOW) ? 'u' : '-';
    s[2] = (e & FE_OVERFLOW) ? 'o' : '-';
    s[3] = (e & FE_DIVBYZERO) ? 'z' : '-';
    s[4] = (e & FE_INVALID) ? 'i' : '-';
    s[5] = 0;
    return s;
}

int main(void) {
    static const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
    static const char *names[] = {"nearest", "upward", "downward", "towardzero"};
    volatile double one = 1.0, three = 3.0, big = 1e308, tiny = 1e-308, two = 2.0;
    volatile float fone = 1.0f, fthree = 3.0f;
    for (int m = 0; m < 4; m++) {
        fesetround(modes[m]);
        printf("%s (getround ok=%d): 1/3=%a -1/3=%a f1/3=%a sqrt2=%a rint(2.5)=%a rint(-2.5)=%a nearbyint(0.5)=%a lrint(-1.5)=%ld (float)1e-46=%a fma=%a 1e308*10=%a\n",
               names[m], fegetround() == modes[m], one / three, -one / three, (double)(fone / fthree),
               sqrt(two), rint(2.5 * one), rint(-2.5 * one), nearbyint(0.5 * one), lrint(-1.5 * one),
               (double)(float)(1e-46 * one), fma(one / three, three, -one), big * 10);
        double s;
        __asm__ volatile("scvtf %d0, %x1" : "=w"(s) : "r"(0x20000000000001ull));
        printf("   scvtf(2^53+1)=%a\n", s);
    }
    fesetround(FE_TONEAREST);

    feclearexcept(FE_ALL_EXCEPT);
    printf("initial: %s\n", flags());
    volatile double r = one + two;
    printf("exact add: %s\n", flags());
    r = one / three;
    printf("1/3: %s\n", flags());
    feclearexcept(FE_ALL_EXCEPT);
    r = one / (r - r);
    printf("1/0: %s %a\n", flags(), r);
    feclearexcept(FE_ALL_EXCEPT);
    r = big * big;
    printf("overflow: %s %a\n", flags(), r);
    feclearexcept(FE_ALL_EXCEPT);
    r = tiny * tiny;
    printf("underflow: %s %a\n", flags(), r);
    feclearexcept(FE_ALL_EXCEPT);
    r = sqrt(-one);
    printf("sqrt(-1): %s\n", flags());
    feclearexcept(FE_ALL_EXCEPT);
    r = (r - r) * 0;
    printf("nan arith (quiet): %s\n", flags());
    feclearexcept(FE_ALL_EXCEPT);
    int64_t cv;
    __asm__ volatile("fcvtzs %x0, %d1" : "=r"(cv) : "w"(1e30 * one));
    printf("fcvtzs overflow: %s %lld\n", flags(), (long long)cv);
    feclearexcept(FE_ALL_EXCEPT);
    __asm__ volatile("fcvtzs %x0, %d1" : "=r"(cv) : "w"(2.5 * one));
    printf("fcvtzs inexact: %s %lld\n", flags(), (long long)cv);
    feclearexcept(FE_ALL_EXCEPT);
    volatile int cmp = (r < one);
    printf("ordered compare with nan: %s %d\n", flags(), cmp);
    feclearexcept(FE_ALL_EXCEPT);
    cmp = (r == one);
    printf("quiet compare with nan: %s %d\n", flags(), cmp);
    feraiseexcept(FE_OVERFLOW | FE_INEXACT);
    printf("feraiseexcept: %s\n", flags());
    fexcept_t saved;
    fegetexceptflag(&saved, FE_ALL_EXCEPT);
    feclearexcept(FE_ALL_EXCEPT);
    fesetexceptflag(&saved, FE_OVERFLOW);
    printf("fesetexceptflag: %s\n", flags());
    feclearexcept(FE_ALL_EXCEPT);

    /* FPCR.FZ (bit 24) flush-to-zero and FPCR.DN (bit 25) default NaN */
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    printf("fpcr initial=%llx\n", (unsigned long long)fpcr);
    volatile double sub = 1e-310, half = 0.5;
    printf("FZ=0: %a %a\n", sub * half, sub + sub);
    double fz1, fz2;
    uint64_t tmp;
    __asm__ volatile("orr %2, %3, #(1 << 24)\n\tmsr fpcr, %2\n\t"
                     "fmul %d0, %d4, %d5\n\tfadd %d1, %d4, %d4\n\tmsr fpcr, %3"
                     : "=&w"(fz1), "=&w"(fz2), "=&r"(tmp)
                     : "r"(fpcr), "w"(sub), "w"(half));
    printf("FZ=1: %a %a\n", fz1, fz2);
    volatile double pnan;
    uint64_t pb = 0x7ff8000000000abcull;
    __builtin_memcpy((void *)&pnan, &pb, 8);
    double dn0, dn1, pn = pnan;
    __asm__ volatile("fadd %d0, %d3, %d4\n\torr %2, %5, #(1 << 25)\n\tmsr fpcr, %2\n\t"
                     "fadd %d1, %d3, %d4\n\tmsr fpcr, %5"
                     : "=&w"(dn0), "=&w"(dn1), "=&r"(tmp)
                     : "w"(pn), "w"(one), "r"(fpcr));
    uint64_t b0, b1;
    __builtin_memcpy(&b0, &dn0, 8);
    __builtin_memcpy(&b1, &dn1, 8);
    printf("DN=0 payload %016llx, DN=1 %016llx\n", (unsigned long long)b0, (unsigned long long)b1);
    uint64_t rm;
    fesetround(FE_UPWARD);
    __asm__ volatile("mrs %0, fpcr" : "=r"(rm));
    fesetround(FE_TONEAREST);
    printf("fpcr with FE_UPWARD=%llx\n", (unsigned long long)rm);
    return 0;
}
