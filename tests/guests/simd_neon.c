// Advanced SIMD (NEON) through arm_neon.h: integer add/sub/mul/mla, saturating and
// halving ops, shifts (immediate, by register, rounding, narrowing), compares and
// bit selects, min/max/abs, across-lane reductions, permutes (zip/uzp/trn/ext/rev/
// tbl/dup), widening/narrowing moves, popcount/clz, float arithmetic, fma, conversions,
// reciprocal estimates, pairwise ops, and an auto-vectorized loop.
#include <arm_neon.h>
#include <stdint.h>
#include <stdio.h>

static void p8(const char *n, uint8x16_t v) {
    uint8_t b[16];
    vst1q_u8(b, v);
    printf("%-14s", n);
    for (int i = 0; i < 16; i++) printf(" %02x", b[i]);
    printf("\n");
}
static void p16(const char *n, int16x8_t v) { p8(n, vreinterpretq_u8_s16(v)); }
static void p32(const char *n, uint32x4_t v) { p8(n, vreinterpretq_u8_u32(v)); }
static void p64(const char *n, uint64x2_t v) { p8(n, vreinterpretq_u8_u64(v)); }
static void pf(const char *n, float32x4_t v) {
    float f[4];
    vst1q_f32(f, v);
    printf("%-14s %a %a %a %a\n", n, (double)f[0], (double)f[1], (double)f[2], (double)f[3]);
}
static void pd(const char *n, float64x2_t v) {
    double d[2];
    vst1q_f64(d, v);
    printf("%-14s %a %a\n", n, d[0], d[1]);
}

int main(void) {
    uint8_t ab[16], bb[16];
    for (int i = 0; i < 16; i++) { ab[i] = (uint8_t)(i * 17 + 3); bb[i] = (uint8_t)(250 - i * 13); }
    uint8x16_t a = vld1q_u8(ab), b = vld1q_u8(bb);
    int8x16_t sa = vreinterpretq_s8_u8(a), sb = vreinterpretq_s8_u8(b);
    p8("add", vaddq_u8(a, b));
    p8("sub", vsubq_u8(a, b));
    p8("mul", vmulq_u8(a, b));
    p8("mla", vmlaq_u8(a, a, b));
    p8("qadd_u", vqaddq_u8(a, b));
    p8("qsub_u", vqsubq_u8(a, b));
    p8("qadd_s", vreinterpretq_u8_s8(vqaddq_s8(sa, sb)));
    p8("qsub_s", vreinterpretq_u8_s8(vqsubq_s8(sa, sb)));
    p8("hadd", vhaddq_u8(a, b));
    p8("rhadd", vrhaddq_u8(a, b));
    p8("abd", vabdq_u8(a, b));
    p8("min_s", vreinterpretq_u8_s8(vminq_s8(sa, sb)));
    p8("max_u", vmaxq_u8(a, b));
    p8("abs", vreinterpretq_u8_s8(vabsq_s8(sb)));
    p8("qabs", vreinterpretq_u8_s8(vqabsq_s8(vdupq_n_s8(-128))));
    p8("neg", vreinterpretq_u8_s8(vnegq_s8(sa)));
    p8("cmeq", vceqq_u8(a, b));
    p8("cmgt_s", vcgtq_s8(sa, sb));
    p8("cmhi", vcgtq_u8(a, b));
    p8("cmtst", vtstq_u8(a, b));
    p8("bsl", vbslq_u8(vcgtq_u8(a, b), a, b));
    p8("and/orr/eor", veorq_u8(vandq_u8(a, b), vorrq_u8(a, vdupq_n_u8(0x0f))));
    p8("bic/orn", vornq_u8(vbicq_u8(a, b), b));
    p8("mvn", vmvnq_u8(a));
    p8("shl3", vshlq_n_u8(a, 3));
    p8("ushr5", vshrq_n_u8(a, 5));
    p8("sshr7", vreinterpretq_u8_s8(vshrq_n_s8(sa, 7)));
    p8("ushl reg", vshlq_u8(a, vld1q_s8((const int8_t[]){-8, -7, -1, 0, 1, 2, 7, 8, -3, 3, 5, -5, 9, -9, 4, -4})));
    p8("srshr", vreinterpretq_u8_s8(vrshrq_n_s8(sa, 3)));
    p8("sri/sli", vsliq_n_u8(vsriq_n_u8(a, b, 3), b, 2));
    p8("usra", vsraq_n_u8(a, b, 2));
    p8("cnt", vcntq_u8(a));
    p8("clz", vclzq_u8(vshrq_n_u8(a, 2)));
    p8("rbit", vrbitq_u8(a));
    p8("zip1", vzip1q_u8(a, b));
    p8("zip2", vzip2q_u8(a, b));
    p8("uzp1", vuzp1q_u8(a, b));
    p8("uzp2", vuzp2q_u8(a, b));
    p8("trn1", vtrn1q_u8(a, b));
    p8("trn2", vtrn2q_u8(a, b));
    p8("ext5", vextq_u8(a, b, 5));
    p8("rev64", vrev64q_u8(a));
    p8("rev32", vrev32q_u8(a));
    p8("rev16", vrev16q_u8(a));
    p8("tbl", vqtbl1q_u8(a, vld1q_u8((const uint8_t[]){15, 0, 14, 1, 16, 200, 7, 7, 3, 2, 1, 0, 8, 9, 10, 31})));
    uint8x16x2_t t2 = {{a, b}};
    p8("tbl2", vqtbl2q_u8(t2, vld1q_u8((const uint8_t[]){31, 0, 17, 16, 32, 5, 20, 255, 3, 19, 1, 30, 8, 9, 10, 25})));
    p8("tbx", vqtbx1q_u8(b, a, vld1q_u8((const uint8_t[]){0, 16, 2, 17, 4, 100, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})));
    p8("dup lane", vdupq_laneq_u8(a, 9));
    p8("ins lane", vsetq_lane_u8(0xaa, a, 13));
    printf("umov lane 7: %u  addv=%u maxv=%u minv_s=%d\n", vgetq_lane_u8(a, 7), vaddvq_u8(a), vmaxvq_u8(a), vminvq_s8(sb));
    printf("addlv=%u saddlv=%d\n", vaddlvq_u8(a), vaddlvq_s8(sa));

    int16x8_t h = vmovl_s8(vget_low_s8(sa)), h2 = vmovl_s8(vget_high_s8(sb));
    p16("sxtl", h);
    p16("uxtl2", vreinterpretq_s16_u16(vmovl_high_u8(b)));
    p16("mul16", vmulq_s16(h, h2));
    p16("sqdmulh", vqdmulhq_s16(vshlq_n_s16(h, 8), vshlq_n_s16(h2, 8)));
    p16("sqrdmulh", vqrdmulhq_s16(vshlq_n_s16(h, 8), vshlq_n_s16(h2, 8)));
    p16("smull", vmull_s8(vget_low_s8(sa), vget_low_s8(sb)));
    p16("umlal2", vreinterpretq_s16_u16(vmlal_high_u8(vdupq_n_u16(1000), a, b)));
    p8("xtn", vreinterpretq_u8_s8(vcombine_s8(vmovn_s16(h), vmovn_s16(h2))));
    p8("sqxtn", vreinterpretq_u8_s8(vcombine_s8(vqmovn_s16(vmulq_s16(h, h2)), vqmovn_s16(h))));
    p8("sqxtun", vcombine_u8(vqmovun_s16(vmulq_s16(h, h2)), vqmovun_s16(h2)));
    p8("shrn", vcombine_u8(vshrn_n_u16(vreinterpretq_u16_s16(vmulq_s16(h, h2)), 4), vrshrn_n_u16(vreinterpretq_u16_s16(h), 2)));
    p16("addp", vpaddq_s16(h, h2));
    p16("sadalp", vpadalq_s8(h, sb));
    printf("addv16=%d\n", vaddvq_s16(vmulq_s16(h, h2)));

    uint32x4_t w = vreinterpretq_u32_u8(a), w2 = vreinterpretq_u32_u8(b);
    p32("add32", vaddq_u32(w, w2));
    p32("mul32", vmulq_u32(w, w2));
    p32("mls32", vmlsq_u32(w, w, w2));
    p32("sshl32", vreinterpretq_u32_s32(vshlq_s32(vreinterpretq_s32_u32(w), vld1q_s32((const int32_t[]){-31, 31, -40, 40}))));
    p32("uqshl", vqshlq_n_u32(w, 4));
    p32("mul lane", vmulq_laneq_u32(w, w2, 2));
    p32("clz32", vclzq_u32(w2));
    p64("add64", vaddq_u64(vreinterpretq_u64_u8(a), vreinterpretq_u64_u8(b)));
    p64("umull2", vmull_high_u32(w, w2));
    p64("cmlt64", vcltzq_s64(vreinterpretq_s64_u8(b)));
    p64("ushr64", vshrq_n_u64(vreinterpretq_u64_u8(b), 63));

    float32x4_t fa = {1.5f, -2.25f, 3.0e38f, 1e-40f}, fb = {0.5f, 4.0f, 10.0f, -0.0f};
    pf("fadd", vaddq_f32(fa, fb));
    pf("fmul", vmulq_f32(fa, fb));
    pf("fdiv", vdivq_f32(fa, fb));
    pf("fmla", vfmaq_f32(fa, fa, fb));
    pf("fmls", vfmsq_f32(fa, fa, fb));
    pf("fsqrt", vsqrtq_f32(vabsq_f32(fa)));
    pf("fmax/fmin", vaddq_f32(vmaxq_f32(fa, fb), vminq_f32(fa, fb)));
    pf("fmaxnm", vmaxnmq_f32(fa, (float32x4_t){__builtin_nanf(""), 1.0f, 2.0f, 3.0f}));
    pf("fabd", vabdq_f32(fa, fb));
    pf("fneg", vnegq_f32(fa));
    pf("frecpe", vrecpeq_f32(fb));
    pf("frsqrte", vrsqrteq_f32((float32x4_t){4.0f, 2.0f, 0.25f, 100.0f}));
    pf("frecps", vrecpsq_f32(fa, fb));
    pf("frinta", vrndaq_f32((float32x4_t){2.5f, -2.5f, 0.49999997f, -0.5f}));
    pf("frintn", vrndnq_f32((float32x4_t){2.5f, -2.5f, 3.5f, -0.5f}));
    pf("faddp", vpaddq_f32(fa, fb));
    pf("scvtf", vcvtq_f32_s32(vreinterpretq_s32_u32(w)));
    pf("ucvtf fixed", vcvtq_n_f32_u32(w2, 8));
    p32("fcvtzs", vreinterpretq_u32_s32(vcvtq_s32_f32(fa)));
    p32("fcvtzu", vcvtq_u32_f32(fa));
    p32("fcvtns", vreinterpretq_u32_s32(vcvtnq_s32_f32((float32x4_t){2.5f, -3.5f, 1e10f, -1e10f})));
    p32("fcmge", vcgeq_f32(fa, fb));
    p32("fcmeq nan", vceqq_f32(vdivq_f32(fb, fb), vdivq_f32(fb, fb)));
    printf("fmaxv=%a fminnmv=%a faddv(pair)=%a\n", (double)vmaxvq_f32(fa), (double)vminnmvq_f32(fa), (double)vaddvq_f32(fb));
    float64x2_t da = {1.0 / 3.0, -1e300}, db = {3.0, 1e10};
    pd("dadd", vaddq_f64(da, db));
    pd("dmul", vmulq_f64(da, db));
    pd("dfma", vfmaq_f64(da, da, db));
    pd("dsqrt", vsqrtq_f64(vabsq_f64(da)));
    pd("fcvtl", vcvt_f64_f32(vget_low_f32(fa)));
    pf("fcvtn", vcombine_f32(vcvt_f32_f64(db), vcvt_f32_f64(da)));
    pd("scvtf64", vcvtq_f64_s64(vreinterpretq_s64_u8(a)));

    /* auto-vectorized loops */
    static int32_t x[1024], y[1024];
    static float fx[1024];
    for (int i = 0; i < 1024; i++) { x[i] = i * 7 - 3000; y[i] = (i * i) % 1000; fx[i] = (float)i * 0.5f; }
    int64_t dot = 0;
    for (int i = 0; i < 1024; i++) dot += (int64_t)x[i] * y[i];
    for (int i = 0; i < 1024; i++) y[i] = x[i] > y[i] ? x[i] - y[i] : y[i] * 2;
    float fs = 0;
    for (int i = 0; i < 1024; i++) { fx[i] = fx[i] * 1.5f + (float)y[i]; fs += fx[i]; }
    int32_t mx = 0;
    for (int i = 0; i < 1024; i++) mx = y[i] > mx ? y[i] : mx;
    printf("vectorized: dot=%lld max=%d fsum=%a\n", (long long)dot, mx, (double)fs);
    return 0;
}
