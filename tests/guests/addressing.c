// Load/store addressing modes via inline asm: unsigned scaled offsets, unscaled
// ldur/stur (negative/odd), pre-/post-index writeback, register offsets with
// lsl/uxtw/sxtw extends, ldp/stp (signed offset, pre, post), ldpsw, ldr literal,
// adr/adrp, sign-extending loads, ldar/stlr, ldxr/stxr, ldaxp/stlxp, FP/SIMD ld/st.
// Prints loaded values and writeback deltas (never absolute addresses).
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint8_t buf[512] __attribute__((aligned(64)));

static void fill(void) {
    for (int i = 0; i < 512; i++) buf[i] = (uint8_t)(i * 37 + 11);
}
static uint64_t sum(void) {
    uint64_t h = 0;
    for (int i = 0; i < 512; i++) h = h * 131 + buf[i];
    return h;
}
#define P(name, v) printf("%-22s %016llx\n", name, (unsigned long long)(v))

int main(void) {
    uint8_t *base = buf + 128;
    uint64_t r, r2, t;
    intptr_t d;
    fill();

    /* unsigned scaled offsets */
    __asm__ volatile("ldr %0, [%1, #8]" : "=r"(r) : "r"(base) : "memory"); P("ldr x #8", r);
    __asm__ volatile("ldr %0, [%1, #376]" : "=r"(r) : "r"(base) : "memory"); P("ldr x #376", r);
    __asm__ volatile("ldr %w0, [%1, #4]" : "=r"(r) : "r"(base) : "memory"); P("ldr w #4", r);
    __asm__ volatile("ldrh %w0, [%1, #6]" : "=r"(r) : "r"(base) : "memory"); P("ldrh #6", r);
    __asm__ volatile("ldrb %w0, [%1, #255]" : "=r"(r) : "r"(base) : "memory"); P("ldrb #255", r);
    __asm__ volatile("ldrsb %0, [%1, #3]" : "=r"(r) : "r"(base) : "memory"); P("ldrsb x #3", r);
    __asm__ volatile("ldrsb %w0, [%1, #3]" : "=r"(r) : "r"(base) : "memory"); P("ldrsb w #3", r);
    __asm__ volatile("ldrsh %0, [%1, #10]" : "=r"(r) : "r"(base) : "memory"); P("ldrsh x #10", r);
    __asm__ volatile("ldrsh %w0, [%1, #10]" : "=r"(r) : "r"(base) : "memory"); P("ldrsh w #10", r);
    __asm__ volatile("ldrsw %0, [%1, #12]" : "=r"(r) : "r"(base) : "memory"); P("ldrsw #12", r);
    t = 0x1122334455667788ull;
    __asm__ volatile("str %1, [%0, #16]\n\tstr %w1, [%0, #28]\n\tstrh %w1, [%0, #34]\n\tstrb %w1, [%0, #37]"
                     : : "r"(base), "r"(t) : "memory");
    P("after str", sum());

    /* unscaled */
    __asm__ volatile("ldur %0, [%1, #-3]" : "=r"(r) : "r"(base) : "memory"); P("ldur x #-3", r);
    __asm__ volatile("ldur %w0, [%1, #255]" : "=r"(r) : "r"(base) : "memory"); P("ldur w #255", r);
    __asm__ volatile("ldurh %w0, [%1, #-1]" : "=r"(r) : "r"(base) : "memory"); P("ldurh #-1", r);
    __asm__ volatile("ldursb %0, [%1, #-256]" : "=r"(r) : "r"(base + 128) : "memory"); P("ldursb #-256", r);
    __asm__ volatile("ldursh %w0, [%1, #1]" : "=r"(r) : "r"(base) : "memory"); P("ldursh w #1", r);
    __asm__ volatile("ldursw %0, [%1, #-7]" : "=r"(r) : "r"(base) : "memory"); P("ldursw #-7", r);
    __asm__ volatile("stur %1, [%0, #-5]\n\tsturh %w1, [%0, #41]" : : "r"(base), "r"(~t) : "memory");
    P("after stur", sum());

    /* pre/post index */
    uint8_t *p = base;
    __asm__ volatile("ldr %0, [%1, #16]!" : "=r"(r), "+r"(p) : : "memory");
    d = p - base; P("ldr pre val", r); P("ldr pre delta", d);
    p = base;
    __asm__ volatile("ldr %0, [%1], #-24" : "=r"(r), "+r"(p) : : "memory");
    d = p - base; P("ldr post val", r); P("ldr post delta", d);
    p = base;
    __asm__ volatile("ldrb %w0, [%1, #-1]!" : "=r"(r), "+r"(p) : : "memory");
    d = p - base; P("ldrb pre val", r); P("ldrb pre delta", d);
    p = base;
    __asm__ volatile("ldrsh %0, [%1], #255" : "=r"(r), "+r"(p) : : "memory");
    d = p - base; P("ldrsh post val", r); P("ldrsh post delta", d);
    p = base;
    __asm__ volatile("str %2, [%0, #-8]!\n\tstr %2, [%0], #40" : "+r"(p), "=m"(buf) : "r"(t * 3) : "memory");
    d = p - base; P("str pre/post delta", d); P("after str pre/post", sum());

    /* register offsets */
    uint64_t idx = 5;
    int64_t nidx = -3;
    __asm__ volatile("ldr %0, [%1, %2, lsl #3]" : "=r"(r) : "r"(base), "r"(idx) : "memory"); P("ldr [x, x lsl3]", r);
    __asm__ volatile("ldr %0, [%1, %2]" : "=r"(r) : "r"(base), "r"(idx) : "memory"); P("ldr [x, x]", r);
    __asm__ volatile("ldr %0, [%1, %w2, uxtw #3]" : "=r"(r) : "r"(base), "r"(idx | 0xffffffff00000000ull) : "memory"); P("ldr uxtw #3", r);
    __asm__ volatile("ldr %0, [%1, %w2, sxtw]" : "=r"(r) : "r"(base), "r"(nidx) : "memory"); P("ldr sxtw", r);
    __asm__ volatile("ldr %w0, [%1, %w2, sxtw #2]" : "=r"(r) : "r"(base), "r"(nidx) : "memory"); P("ldr w sxtw #2", r);
    __asm__ volatile("ldrh %w0, [%1, %w2, sxtw #1]" : "=r"(r) : "r"(base), "r"(nidx) : "memory"); P("ldrh sxtw #1", r);
    __asm__ volatile("ldrb %w0, [%1, %2]" : "=r"(r) : "r"(base), "r"(nidx) : "memory"); P("ldrb [x, x neg]", r);
    __asm__ volatile("ldrsw %0, [%1, %2, lsl #2]" : "=r"(r) : "r"(base), "r"(idx) : "memory"); P("ldrsw lsl #2", r);
    __asm__ volatile("ldrsb %w0, [%1, %w2, uxtw]" : "=r"(r) : "r"(base), "r"(idx) : "memory"); P("ldrsb uxtw", r);
    __asm__ volatile("ldr %0, [%1, %2, sxtx #3]" : "=r"(r) : "r"(base), "r"(nidx) : "memory"); P("ldr sxtx #3", r);
    __asm__ volatile("str %w2, [%0, %1, lsl #2]\n\tstrb %w2, [%0, %w1, sxtw]" : : "r"(base), "r"(nidx), "r"(0xabcdef01u) : "memory");
    P("after str regoff", sum());

    /* pairs */
    __asm__ volatile("ldp %0, %1, [%2, #-16]" : "=&r"(r), "=&r"(r2) : "r"(base) : "memory"); P("ldp x #-16 a", r); P("ldp x #-16 b", r2);
    __asm__ volatile("ldp %w0, %w1, [%2, #252]" : "=&r"(r), "=&r"(r2) : "r"(base) : "memory"); P("ldp w #252 a", r); P("ldp w #252 b", r2);
    __asm__ volatile("ldpsw %0, %1, [%2, #8]" : "=&r"(r), "=&r"(r2) : "r"(base) : "memory"); P("ldpsw a", r); P("ldpsw b", r2);
    p = base;
    __asm__ volatile("ldp %0, %1, [%2, #32]!" : "=&r"(r), "=&r"(r2), "+r"(p) : : "memory");
    d = p - base; P("ldp pre a", r); P("ldp pre b", r2); P("ldp pre delta", d);
    p = base;
    __asm__ volatile("ldp %0, %1, [%2], #-64" : "=&r"(r), "=&r"(r2), "+r"(p) : : "memory");
    d = p - base; P("ldp post a", r); P("ldp post b", r2); P("ldp post delta", d);
    p = base;
    __asm__ volatile("stp %1, %2, [%0, #-32]!\n\tstp %w2, %w1, [%0], #48\n\tstp %1, %1, [%0, #8]"
                     : "+r"(p) : "r"(t), "r"(~t >> 3) : "memory");
    d = p - base; P("stp delta", d); P("after stp", sum());

    /* literals and adr */
    __asm__ volatile("ldr %0, 1f\n\tb 2f\n\t.balign 8\n1:\t.quad 0x0fedcba987654321\n2:" : "=r"(r)); P("ldr literal x", r);
    __asm__ volatile("ldr %w0, 1f\n\tb 2f\n1:\t.word 0x89abcdef\n2:" : "=r"(r)); P("ldr literal w", r);
    __asm__ volatile("ldrsw %0, 1f\n\tb 2f\n1:\t.word 0x89abcdef\n2:" : "=r"(r)); P("ldrsw literal", r);
    __asm__ volatile("adr %0, 1f\n\tadr %1, 2f\n\tb 2f\n\tnop\n1:\tnop\n2:" : "=&r"(r), "=&r"(r2)); P("adr delta", r2 - r);
    __asm__ volatile("adrp %0, buf\n\tadd %0, %0, :lo12:buf" : "=r"(r)); P("adrp==&buf", r == (uint64_t)buf);
    {
        double dl; float fl;
        __asm__ volatile("ldr %d0, 1f\n\tb 2f\n\t.balign 8\n1:\t.double 2.5\n2:" : "=w"(dl));
        __asm__ volatile("ldr %s0, 1f\n\tb 2f\n1:\t.float -0.75\n2:" : "=w"(fl));
        printf("%-22s %g %g\n", "ldr literal d/s", dl, (double)fl);
    }

    /* acquire/release and exclusives */
    uint64_t cell = 100;
    uint32_t cell32 = 7;
    uint16_t cell16 = 0xfffe;
    __asm__ volatile("stlr %1, [%0]" : : "r"(&cell), "r"(t) : "memory");
    __asm__ volatile("ldar %0, [%1]" : "=r"(r) : "r"(&cell) : "memory"); P("ldar after stlr", r);
    __asm__ volatile("ldarh %w0, [%1]" : "=r"(r) : "r"(&cell16) : "memory"); P("ldarh", r);
    __asm__ volatile("stlrb %w1, [%0]" : : "r"(&cell32), "r"(0x1ffu) : "memory"); P("stlrb", cell32);
    cell = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t v, fail;
        __asm__ volatile("1: ldxr %0, [%2]\n\tadd %0, %0, #3\n\tstxr %w1, %0, [%2]\n\tcbnz %w1, 1b"
                         : "=&r"(v), "=&r"(fail) : "r"(&cell) : "memory");
        __asm__ volatile("1: ldaxr %w0, [%2]\n\teor %w0, %w0, %w3\n\tstlxr %w1, %w0, [%2]\n\tcbnz %w1, 1b"
                         : "=&r"(v), "=&r"(fail) : "r"(&cell32), "r"(i * 2654435761u) : "memory");
        __asm__ volatile("1: ldxrh %w0, [%2]\n\tadd %w0, %w0, #1\n\tstxrh %w1, %w0, [%2]\n\tcbnz %w1, 1b"
                         : "=&r"(v), "=&r"(fail) : "r"(&cell16) : "memory");
    }
    P("ldxr/stxr x", cell); P("ldaxr/stlxr w", cell32); P("ldxrh/stxrh", cell16);
    {
        uint64_t pair[2] __attribute__((aligned(16))) = {1, 2};
        uint64_t a, b, fail;
        for (int i = 0; i < 10; i++)
            __asm__ volatile("1: ldaxp %0, %1, [%3]\n\tadd %0, %0, %1\n\tadd %1, %1, #1\n\tstlxp %w2, %0, %1, [%3]\n\tcbnz %w2, 1b"
                             : "=&r"(a), "=&r"(b), "=&r"(fail) : "r"(pair) : "memory");
        P("ldaxp/stlxp a", pair[0]); P("ldaxp/stlxp b", pair[1]);
        /* clrex then a store-exclusive without a monitor must fail (status 1) */
        __asm__ volatile("ldxr %0, [%2]\n\tclrex\n\tstxr %w1, %0, [%2]" : "=&r"(a), "=&r"(fail) : "r"(pair) : "memory");
        P("stxr after clrex", fail); P("  memory unchanged", pair[0]);
    }

    /* FP/SIMD loads and stores */
    {
        double dv; float fv; uint64_t lo, hi;
        fill();
        __asm__ volatile("ldr %d0, [%1, #8]" : "=w"(dv) : "r"(base) : "memory");
        memcpy(&r, &dv, 8); P("ldr d", r);
        __asm__ volatile("ldr %s0, [%1, #-4]" : "=w"(fv) : "r"(base) : "memory");
        uint32_t fb; memcpy(&fb, &fv, 4); P("ldur s", fb);
        __asm__ volatile("ldr q0, [%2, #16]\n\tmov %0, v0.d[0]\n\tmov %1, v0.d[1]" : "=r"(lo), "=r"(hi) : "r"(base) : "v0", "memory");
        P("ldr q lo", lo); P("ldr q hi", hi);
        p = base;
        __asm__ volatile("ldr q1, [%2], #32\n\tmov %0, v1.d[1]\n\tldr b2, [%2, #-1]!\n\tumov %w1, v2.b[0]" : "=r"(lo), "=r"(hi), "+r"(p) : : "v1", "v2", "memory");
        d = p - base; P("ldr q post hi", lo); P("ldr b pre", hi); P("q/b delta", d);
        __asm__ volatile("ldp q0, q1, [%0, #32]\n\tstp q1, q0, [%0, #-64]!\n\tldr h3, [%0, #2]\n\tstr h3, [%0, #200]\n\tstur q0, [%0, #-3]"
                         : "+r"(p) : : "v0", "v1", "v3", "memory");
        d = p - base; P("stp q delta", d); P("after simd stores", sum());
        __asm__ volatile("ldp d0, d1, [%0, #16]\n\tstp d1, d0, [%0, #48]\n\tldp s2, s3, [%0, #4]\n\tstr s2, [%0, %1, lsl #2]\n\tstr d3, [%0, #-8]!"
                         : "+r"(p) : "r"(idx) : "v0", "v1", "v2", "v3", "memory");
        d = p - base; P("d/s pair delta", d); P("after fp stores", sum());
        __asm__ volatile("ld1 {v0.16b, v1.16b}, [%0], #32\n\tst1 {v1.4s}, [%0]\n\tld1 {v2.2d}, [%0], %1" : "+r"(p) : "r"(idx) : "v0", "v1", "v2", "memory");
        d = p - base; P("ld1/st1 delta", d); P("after ld1/st1", sum());
    }
    /* prefetch is a no-op */
    __asm__ volatile("prfm pldl1keep, [%0, #64]\n\tprfm pstl2strm, [%0, %1]" : : "r"(base), "r"(idx));
    P("final", sum());
    return 0;
}
