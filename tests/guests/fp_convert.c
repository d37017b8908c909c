// FP <-> integer conversions with out-of-range, NaN and infinite inputs (saturating
// fcvtzs/fcvtzu via inline asm since C makes these UB), all rounding-mode conversion
// instructions (fcvtns/nu/ms/mu/ps/pu/as/au/zs/zu), scvtf/ucvtf of extremes, fixed-point
// conversions, float<->double<->half conversions, frint* and fmov immediates.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CVT(name, insn, rw, fw) \
    static uint64_t name(double d) { uint64_t r; __asm__(insn " %" rw "0, %" fw "1" : "=r"(r) : "w"(d)); return r; }
CVT(zs64, "fcvtzs", "x", "d") CVT(zu64, "fcvtzu", "x", "d") CVT(zs32, "fcvtzs", "w", "d") CVT(zu32, "fcvtzu", "w", "d")
CVT(ns64, "fcvtns", "x", "d") CVT(nu64, "fcvtnu", "x", "d") CVT(ms64, "fcvtms", "x", "d") CVT(mu32, "fcvtmu", "w", "d")
CVT(ps64, "fcvtps", "x", "d") CVT(pu64, "fcvtpu", "x", "d") CVT(as64, "fcvtas", "x", "d") CVT(au32, "fcvtau", "w", "d")
CVT(ns32, "fcvtns", "w", "d")

#define FCVT(name, insn, rw) \
    static uint64_t name(float f) { uint64_t r; __asm__(insn " %" rw "0, %s1" : "=r"(r) : "w"(f)); return r; }
FCVT(fzs32, "fcvtzs", "w") FCVT(fzu64, "fcvtzu", "x") FCVT(fns32, "fcvtns", "w") FCVT(fas64, "fcvtas", "x")

#define FR(name, insn) static double name(double d) { double r; __asm__(insn " %d0, %d1" : "=w"(r) : "w"(d)); return r; }
FR(frintn, "frintn") FR(frinta, "frinta") FR(frintm, "frintm") FR(frintp, "frintp") FR(frintz, "frintz")
FR(frintx, "frintx") FR(frinti, "frinti")

static uint64_t b64(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static uint32_t b32(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

int main(void) {
    static const double D[] = {0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, -1.5, 0.49999999999999994, 1e10, -1e10,
                               2147483647.5, 2147483648.0, -2147483648.5, -2147483649.0, 4294967295.7, 4294967296.0,
                               9223372036854775807.0, -9223372036854775808.0, 1.8446744073709552e19, 1e30, -1e30,
                               INFINITY, -INFINITY, NAN, -NAN, 5e-324, -0.9999};
    for (unsigned i = 0; i < sizeof D / sizeof D[0]; i++) {
        double d = D[i];
        printf("%a: zs64=%llx zu64=%llx zs32=%llx zu32=%llx ns64=%llx nu64=%llx ms64=%llx mu32=%llx ps64=%llx pu64=%llx as64=%llx au32=%llx ns32=%llx\n",
               d, (unsigned long long)zs64(d), (unsigned long long)zu64(d), (unsigned long long)zs32(d),
               (unsigned long long)zu32(d), (unsigned long long)ns64(d), (unsigned long long)nu64(d),
               (unsigned long long)ms64(d), (unsigned long long)mu32(d), (unsigned long long)ps64(d),
               (unsigned long long)pu64(d), (unsigned long long)as64(d), (unsigned long long)au32(d),
               (unsigned long long)ns32(d));
        printf("   frint n=%a a=%a m=%a p=%a z=%a x=%a i=%a  tofloat=%a bits=%08x\n", frintn(d), frinta(d), frintm(d),
               frintp(d), frintz(d), frintx(d), frinti(d), (double)(float)d, b32((float)d));
        float f = (float)d;
        printf("   float: zs32=%llx zu64=%llx ns32=%llx as64=%llx\n", (unsigned long long)fzs32(f),
               (unsigned long long)fzu64(f), (unsigned long long)fns32(f), (unsigned long long)fas64(f));
    }
    static const uint64_t I[] = {0, 1, 0x7fffffffffffffffull, 0x8000000000000000ull, 0xffffffffffffffffull,
                                 0x20000000000001ull, 0x20000000000003ull, 0xffffffffull, 0x80000000ull, 0x1000001ull};
    for (unsigned i = 0; i < sizeof I / sizeof I[0]; i++) {
        uint64_t v = I[i];
        double s, u, s32, u32;
        float fs, fu;
        __asm__("scvtf %d0, %x1" : "=w"(s) : "r"(v));
        __asm__("ucvtf %d0, %x1" : "=w"(u) : "r"(v));
        __asm__("scvtf %d0, %w1" : "=w"(s32) : "r"(v));
        __asm__("ucvtf %d0, %w1" : "=w"(u32) : "r"(v));
        __asm__("scvtf %s0, %x1" : "=w"(fs) : "r"(v));
        __asm__("ucvtf %s0, %x1" : "=w"(fu) : "r"(v));
        double fx;
        uint64_t back;
        __asm__("scvtf %d0, %x1, #16" : "=w"(fx) : "r"(v));
        __asm__("fcvtzs %x0, %d1, #8" : "=r"(back) : "w"(fx));
        printf("%llx: scvtf=%a ucvtf=%a w:%a %a s:%a %a fixed16=%a back8=%llx C:%a %a\n", (unsigned long long)v, s, u,
               s32, u32, (double)fs, (double)fu, fx, (unsigned long long)back, (double)(int64_t)v, (double)v);
    }
    /* double <-> float narrowing/widening incl. rounding, subnormals, overflow */
    static const double N[] = {1.0000000596046448, 1.0000001788139343, 3.4028235677973366e38, 3.5e38, 1e-45, 7e-46,
                               1.1754942106924411e-38, -0.0, 1.401298464324817e-45};
    for (unsigned i = 0; i < sizeof N / sizeof N[0]; i++) {
        float f = (float)N[i];
        printf("narrow %a -> %a (%08x)\n", N[i], (double)f, b32(f));
    }
    /* half precision */
    static const float H[] = {1.0f, 65504.0f, 65520.0f, 1e-7f, 6.1e-5f, 0.333333f, -2.0f, INFINITY, NAN};
    for (unsigned i = 0; i < sizeof H / sizeof H[0]; i++) {
        uint32_t hb;
        float back;
        __asm__("fcvt h0, %s2\n\tumov %w0, v0.h[0]\n\tfcvt %s1, h0" : "=r"(hb), "=w"(back) : "w"(H[i]) : "v0");
        printf("half %a -> %04x -> %a\n", (double)H[i], hb, (double)back);
    }
    /* fmov immediates and register moves */
    double i1, i2;
    float i3;
    uint64_t gp;
    __asm__("fmov %d0, #31.0" : "=w"(i2));
    __asm__("fmov %s0, #0.125" : "=w"(i3));
    __asm__("fmov %d0, %2\n\tfmov %1, %d0" : "=&w"(i1), "=r"(gp) : "r"(0x400921fb54442d18ull));
    double m125;
    __asm__("fmov %d0, #-1.25" : "=w"(m125));
    printf("fmov: %a %a %a %llx\n", m125, i2, (double)i3, (unsigned long long)gp);
    printf("fmov round trip %a %016llx\n", i1, (unsigned long long)b64(i1));
    return 0;
}
