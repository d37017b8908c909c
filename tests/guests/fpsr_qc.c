// FPSR.QC (bit 27), the cumulative saturation flag: set by saturating instructions that saturate (vector, scalar,
// narrowing, shifts, doubling multiplies; the SSE fast paths and the C# ones), left alone by those that do not,
// cleared only by MSR FPSR; seen by MRS FPSR and in a signal handler's FPSIMD record, and restored by rt_sigreturn
// from that record (a handler that clears it there clears it). The FP cumulative flags ride along (IOC from an
// invalid operation). Compared with qemu-aarch64.
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static uint64_t get_fpsr(void) {
    uint64_t v;
    __asm__ volatile("mrs %0, fpsr" : "=r"(v));
    return v;
}

static void set_fpsr(uint64_t v) { __asm__ volatile("msr fpsr, %0" : : "r"(v)); }

#define QC (1u << 27)

// runs one instruction on v0 = a, v1 = b (v2 = accumulator c) from FPSR = 0; prints the result and QC
#define TRY(name, insn)                                                                                                \
    do {                                                                                                               \
        uint64_t r0, r1, f;                                                                                            \
        __asm__ volatile("ldr q0, [%[a]]\n ldr q1, [%[b]]\n ldr q2, [%[c]]\n msr fpsr, xzr\n" insn "\n"                \
                         "mrs %[f], fpsr\n fmov %[r0], d2\n mov %[r1], v2.d[1]"                                        \
                         : [r0] "=r"(r0), [r1] "=r"(r1), [f] "=r"(f)                                                   \
                         : [a] "r"(a), [b] "r"(b), [c] "r"(c)                                                          \
                         : "v0", "v1", "v2", "v3", "memory");                                                           \
        printf("%-34s %016llx%016llx qc=%d fpsr=%08llx\n", name, (unsigned long long)r1, (unsigned long long)r0,     \
               (f & QC) != 0, (unsigned long long)f);                                                                 \
    } while (0)

static volatile uint64_t seen_fpsr;
static volatile int clear_in_handler;

static void on_usr1(int sig, siginfo_t *si, void *ucv) {
    (void)sig; (void)si;
    ucontext_t *uc = ucv;
    struct _aarch64_ctx *h = (struct _aarch64_ctx *)uc->uc_mcontext.__reserved;
    while (h->magic != 0 && h->magic != FPSIMD_MAGIC) h = (struct _aarch64_ctx *)((char *)h + h->size);
    if (h->magic == FPSIMD_MAGIC) {
        struct fpsimd_context *fp = (struct fpsimd_context *)h;
        seen_fpsr = fp->fpsr;
        if (clear_in_handler) fp->fpsr &= ~QC;
    } else seen_fpsr = ~0ULL;
    set_fpsr(0); // the handler's own FPSR does not leak back: sigreturn restores the frame's
}

int main(void) {
    static _Alignas(16) uint8_t a[16], b[16], c[16];
    // lanes that saturate in some operations and not in others
    for (int i = 0; i < 16; i++) { a[i] = (uint8_t)(0x70 + i * 3); b[i] = (uint8_t)(0x20 + i); c[i] = 0; }
    TRY("sqadd 16b (saturates)", "sqadd v2.16b, v0.16b, v1.16b");
    TRY("sqadd 8b high lanes only", "sqadd v2.8b, v1.8b, v1.8b");
    TRY("uqadd 8h", "uqadd v2.8h, v0.8h, v0.8h");
    TRY("uqsub 4s", "uqsub v2.4s, v1.4s, v0.4s");
    TRY("sqsub 2d", "sqsub v2.2d, v0.2d, v1.2d");
    TRY("sqadd b scalar", "sqadd b2, b1, b1");
    TRY("sqadd h scalar", "sqadd h2, h0, h0");
    TRY("sqabs 16b", "sqabs v2.16b, v0.16b");
    TRY("sqneg 4s", "sqneg v2.4s, v1.4s");
    TRY("suqadd 8h", "mov v2.16b, v0.16b\n suqadd v2.8h, v0.8h");
    TRY("usqadd 4s", "mov v2.16b, v1.16b\n usqadd v2.4s, v0.4s");
    TRY("sqxtn 8b", "sqxtn v2.8b, v0.8h");
    TRY("sqxtn2 16b", "sqxtn2 v2.16b, v0.8h");
    TRY("uqxtn 4h", "uqxtn v2.4h, v0.4s");
    TRY("sqxtun 2s", "sqxtun v2.2s, v0.2d");
    TRY("uqxtn b scalar", "movi v3.2d, #0\n mov v3.h[0], v1.h[0]\n and v3.16b, v3.16b, v3.16b\n uqxtn b2, h3");
    TRY("sqshl 16b #3", "sqshl v2.16b, v0.16b, #3");
    TRY("uqshl 4s #0", "uqshl v2.4s, v0.4s, #0");
    TRY("sqshlu 8h #1", "sqshlu v2.8h, v0.8h, #1");
    TRY("sqshl reg 2d", "sqshl v2.2d, v0.2d, v1.2d");
    TRY("uqrshl reg 16b", "uqrshl v2.16b, v0.16b, v1.16b");
    TRY("sqshrn 8b #2", "sqshrn v2.8b, v0.8h, #2");
    TRY("sqrshrun 4h #1", "sqrshrun v2.4h, v0.4s, #1");
    TRY("uqshrn 2s #31", "uqshrn v2.2s, v1.2d, #31");
    TRY("sqdmulh 8h", "sqdmulh v2.8h, v0.8h, v0.8h");
    TRY("sqrdmulh 4s by element", "sqrdmulh v2.4s, v0.4s, v0.s[3]");
    TRY("sqdmull 4s", "sqdmull v2.4s, v0.4h, v0.4h");
    TRY("sqdmlal2 2d", "sqdmlal2 v2.2d, v0.4s, v0.4s");
    TRY("sqdmlsl s scalar", "sqdmlsl s2, h0, h1");
    TRY("sqdmulh 8h of -2^15", "movi v3.8h, #0x80, lsl #8\n sqdmulh v2.8h, v3.8h, v3.8h");
    TRY("sqrdmulh s scalar of -2^31", "movi v3.4s, #0x80, lsl #24\n sqrdmulh s2, s3, s3");
    TRY("sqdmull2 4s of -2^15", "movi v3.8h, #0x80, lsl #8\n sqdmull2 v2.4s, v3.8h, v3.h[1]");
    TRY("sqdmlal d scalar", "movi v3.4s, #0x80, lsl #24\n movi v2.2d, #0\n sqdmlal d2, s3, s3");
    // QC is sticky: a second, non-saturating instruction keeps it; MSR FPSR clears it
    {
        uint64_t f1, f2;
        __asm__ volatile("ldr q0, [%[a]]\n msr fpsr, xzr\n sqadd v2.16b, v0.16b, v0.16b\n add v3.16b, v0.16b, v0.16b\n"
                         "sqsub v4.16b, v3.16b, v3.16b\n mrs %[f1], fpsr\n msr fpsr, xzr\n mrs %[f2], fpsr"
                         : [f1] "=r"(f1), [f2] "=r"(f2) : [a] "r"(a) : "v0", "v2", "v3", "v4");
        printf("sticky: after=%08llx cleared=%08llx\n", (unsigned long long)f1, (unsigned long long)f2);
    }
    set_fpsr(QC | 1);
    printf("msr qc|ioc: %08llx\n", (unsigned long long)get_fpsr());

    // the signal frame carries QC and the cumulative FP flags; sigreturn restores the frame's FPSR
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    for (clear_in_handler = 0; clear_in_handler < 2; clear_in_handler++) {
        uint64_t f;
        double z = 0.0;
        __asm__ volatile("ldr q0, [%[a]]\n msr fpsr, xzr\n sqadd v2.16b, v0.16b, v0.16b\n fdiv d3, %d[z], %d[z]"
                         : : [a] "r"(a), [z] "w"(z) : "v0", "v2", "v3");
        raise(SIGUSR1);
        f = get_fpsr();
        printf("handler %s: frame fpsr=%08llx, after sigreturn=%08llx\n", clear_in_handler ? "clearing QC" : "keeping",
               (unsigned long long)seen_fpsr, (unsigned long long)f);
    }
    return 0;
}
