// The register state a SIGSEGV handler sees at a faulting load or store in the middle of straight-line code that
// has just computed values in registers (the translator may hold them only in host registers there: it writes them
// back to the guest's state at exits, and from the saved host registers at a fault). The handler prints the
// interrupted pc's offset and the registers from the ucontext, then puts a value in the destination register and
// resumes after the faulting instruction; the code goes on with the state the handler left. Also a fault in a loop
// after many iterations, a store fault with the stack pointer moved in the same block, and loads that fault into
// registers the block has just computed.
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <asm/sigcontext.h>

static uintptr_t code_base, resume_at;
static int faults;
static int print_vectors;

static void on_segv(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    mcontext_t *mc = &uc->uc_mcontext;
    faults++;
    printf("fault %d: sig %d pc+%lu addr-page %#lx\n", faults, sig, (unsigned long)(mc->pc - code_base),
           (unsigned long)((uintptr_t)si->si_addr & 0xfff));
    if (!print_vectors) {
        printf("  x1=%llu x2=%llu x3=%llu x4=%llu x5=%llu x6=%llu x7=%llu x8=%llu x9=%llu\n",
               (unsigned long long)mc->regs[1], (unsigned long long)mc->regs[2], (unsigned long long)mc->regs[3],
               (unsigned long long)mc->regs[4], (unsigned long long)mc->regs[5], (unsigned long long)mc->regs[6],
               (unsigned long long)mc->regs[7], (unsigned long long)mc->regs[8], (unsigned long long)mc->regs[9]);
        printf("  nzcv=%#llx sp-moved=%lld\n", (unsigned long long)(mc->pstate & 0xf0000000ULL),
               (long long)(mc->regs[11] - mc->sp));
    } else {
        // the x registers hold what printf left here (not the same under every emulator); the FPSIMD record is the
        // first in __reserved (Linux and qemu-aarch64 both put it there)
        struct fpsimd_context *fp = (struct fpsimd_context *)mc->__reserved;
        if (fp->head.magic != FPSIMD_MAGIC) printf("  no fpsimd record\n");
        else
            for (int v = 0; v <= 6; v++)
                printf("  v%d=%016llx%016llx\n", v, (unsigned long long)(fp->vregs[v] >> 64),
                       (unsigned long long)fp->vregs[v]);
    }
    mc->regs[10] = 1000 + faults; // the load's destination
    if (resume_at) {
        mc->pc = resume_at;
        resume_at = 0;
    } else {
        mc->pc += 4;
    }
}

// computes in x1..x9, then loads from *bad into x10; returns x1+..+x10 after the load
uint64_t straight(volatile uint64_t *bad, uint64_t seed);
__asm__(".text\n"
        ".global straight_code\n"
        ".global straight\n"
        "straight:\n"
        "straight_code:\n"
        "  mov x9, x1\n"
        "  add x2, x9, #3\n"
        "  add x3, x2, x2\n"
        "  add x2, x2, #1\n"
        "  eor x4, x3, x2\n"
        "  add x5, x4, x3, lsl #2\n"
        "  mul x6, x5, x5\n"
        "  sub x7, x6, x9\n"
        "  add x8, x7, #11\n"
        "  add x1, x1, #100\n"
        "  cmp x8, x7\n"
        "  mov x11, sp\n"
        "  ldr x10, [x0]\n"
        "  add x0, x1, x2\n"
        "  add x0, x0, x3\n"
        "  add x0, x0, x4\n"
        "  add x0, x0, x5\n"
        "  add x0, x0, x6\n"
        "  add x0, x0, x7\n"
        "  add x0, x0, x8\n"
        "  add x0, x0, x9\n"
        "  add x0, x0, x10\n"
        "  ret\n");

// sets x6..x9, sums i*3 for i < n in x2 (counting x1 down), then stores to *bad with sp moved down; returns the sum
uint64_t loop(volatile uint64_t *bad, uint64_t n);
__asm__(".text\n"
        ".global loop\n"
        "loop:\n"
        "  mov x6, #6\n"
        "  mov x7, #7\n"
        "  mov x8, #8\n"
        "  mov x9, #9\n"
        "  mov x2, #0\n"
        "  mov x3, #0\n"
        "1:\n"
        "  add x2, x2, x3\n"
        "  add x3, x3, #3\n"
        "  sub x1, x1, #1\n"
        "  cbnz x1, 1b\n"
        "  mov x11, sp\n"
        "  sub sp, sp, #32\n"
        "  add x4, x2, #7\n"
        "  adds x5, x4, x3\n"
        "  str x4, [x0]\n"
        "  add sp, sp, #32\n"
        "  add x0, x2, x5\n"
        "  add x0, x0, x10\n"
        "  ret\n");

// a loop with no exit of its own (x1 and x6..x9 set first, x11 = sp): sums the words from x0 on (x2), counts them (x3) and keeps a running xor (x4)
// until a load faults at the end of the mapping; the handler resumes at walk_done
uint64_t walk(const uint64_t *p);
__asm__(".text\n"
        ".global walk\n"
        ".global walk_done\n"
        "walk:\n"
        "  mov x1, #1\n"
        "  mov x6, #6\n"
        "  mov x7, #7\n"
        "  mov x8, #8\n"
        "  mov x9, #9\n"
        "  mov x11, sp\n"
        "  mov x2, #0\n"
        "  mov x3, #0\n"
        "  mov x4, #0\n"
        "2:\n"
        "  ldr x5, [x0], #8\n"
        "  add x2, x2, x5\n"
        "  add x3, x3, #1\n"
        "  eor x4, x4, x2\n"
        "  b 2b\n"
        "walk_done:\n"
        "  add x0, x2, x3\n"
        "  add x0, x0, x4\n"
        "  ret\n");

// values built in place in x2..x5 (W and X forms: the translator may compute them in their host registers), then an
// LDP into x3, x4 whose second word is on the unmapped page after edge, and (in the block the handler resumes) a load
// into x2, just computed, that faults: the handler must see x2, x3 and x4 as they were before each faulting
// instruction (a faulting load writes no register)
uint64_t inplace(uint64_t *edge, uint64_t seed);
__asm__(".text\n"
        ".global inplace\n"
        "inplace:\n"
        "  mov x6, #6\n"
        "  mov x7, #7\n"
        "  mov x8, #8\n"
        "  mov x9, #9\n"
        "  mov x11, sp\n"
        "  add x2, x1, #5\n"
        "  add x3, x1, x1\n"
        "  eor w2, w3, w2\n"
        "  add x3, x3, x2, lsl #1\n"
        "  add w4, w2, w3\n"
        "  extr x5, x3, x3, #7\n"
        "  add x2, x2, x5\n"
        "  add x3, x3, x2\n"
        "  add x4, x4, x3\n"
        "  ldp x3, x4, [x0]\n"
        "  add x2, x2, #1\n"
        "  add x2, x2, x3\n"
        "  ldr x2, [x0, #8]\n"
        "  add x0, x2, x3\n"
        "  add x0, x0, x4\n"
        "  add x0, x0, x5\n"
        "  add x0, x0, x10\n"
        "  ret\n");

// flags set in straight-line code with faulting loads among them: a compare nothing reads (the translator may drop
// it), one only a CSEL reads (it may never reach the guest's state), a CCMP and a CSET, then an ADDS whose flags are
// live at the first fault and a SUBS whose flags are live at the second: the handler must see each one's NZCV
uint64_t flagsfn(volatile uint64_t *bad, uint64_t a, uint64_t b);
__asm__(".text\n"
        ".global flagsfn\n"
        "flagsfn:\n"
        "  mov x6, #6\n"
        "  mov x7, #7\n"
        "  mov x8, #8\n"
        "  mov x9, #9\n"
        "  mov x11, sp\n"
        "  cmp x1, x2\n"
        "  cmp x2, x1\n"
        "  csel x3, x1, x2, lt\n"
        "  ccmp x3, x2, #4, ne\n"
        "  cset x5, eq\n"
        "  adds x4, x1, x2\n"
        "  ldr x10, [x0]\n"
        "  cmn x4, #1\n"
        "  sub x2, x4, #1\n"
        "  cset x3, hi\n"
        "  subs x1, x1, x2\n"
        "  ldr x10, [x0, #8]\n"
        "  add x0, x3, x5\n"
        "  add x0, x0, x4\n"
        "  add x0, x0, x10\n"
        "  add x0, x0, x2\n"
        "  add x0, x0, x1\n"
        "  ret\n");

// vector values computed in v0..v5 (128-bit loads, integer adds, logic, a D move that clears the upper half, a
// 64-bit vector add), then a faulting LDR Q into v6 and a faulting STR Q of v2 just computed: the translator may hold
// any of them only in xmm registers there, and the handler must see each as it was before the faulting instruction
uint64_t vectors(volatile uint64_t *bad, const uint64_t *src);
__asm__(".text\n"
        ".global vectors\n"
        "vectors:\n"
        "  movi v6.16b, #7\n"
        "  ldr q1, [x1]\n"
        "  ldr q2, [x1, #16]\n"
        "  add v3.4s, v1.4s, v2.4s\n"
        "  eor v4.16b, v3.16b, v1.16b\n"
        "  mov x2, #77\n"
        "  fmov d5, x2\n"
        "  add v1.2d, v1.2d, v4.2d\n"
        "  add v0.8b, v3.8b, v4.8b\n"
        "  ldr q6, [x0]\n"
        "  add v2.4s, v2.4s, v3.4s\n"
        "  str q2, [x0, #16]\n"
        "  add v0.2d, v0.2d, v1.2d\n"
        "  add v0.2d, v0.2d, v2.2d\n"
        "  add v0.2d, v0.2d, v3.2d\n"
        "  add v0.2d, v0.2d, v4.2d\n"
        "  add v0.2d, v0.2d, v5.2d\n"
        "  add v0.2d, v0.2d, v6.2d\n"
        "  addp d0, v0.2d\n"
        "  fmov x0, d0\n"
        "  ret\n");

extern char straight_code[], walk_done[];

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    code_base = (uintptr_t)straight_code;

    uint64_t *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (none == MAP_FAILED || ro == MAP_FAILED) return 1;

    for (uint64_t seed = 1; seed <= 3; seed++) printf("straight(%llu) = %llu\n", (unsigned long long)seed,
                                                      (unsigned long long)straight(none + seed, seed));
    printf("loop(1000) = %llu\n", (unsigned long long)loop(ro + 5, 1000));
    printf("loop(7) = %llu\n", (unsigned long long)loop(none, 7));

    // the last page of a two-page mapping, the page after it unmapped
    uint64_t *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (two == MAP_FAILED) return 1;
    munmap(two + 512, 4096);
    for (int i = 0; i < 512; i++) two[i] = (uint64_t)i * i + 1;
    resume_at = (uintptr_t)walk_done;
    printf("walk = %llu\n", (unsigned long long)walk(two));
    printf("inplace = %llu\n", (unsigned long long)inplace(two + 511, 9));
    static const uint64_t pairs[][2] = {{5, 9}, {9, 5}, {-3ULL, 2}, {1ULL << 63, 1ULL << 63}, {0, 0}, {-1ULL, 1}};
    for (int i = 0; i < 6; i++)
        printf("flagsfn(%llx, %llx) = %llu\n", (unsigned long long)pairs[i][0], (unsigned long long)pairs[i][1],
               (unsigned long long)flagsfn(none, pairs[i][0], pairs[i][1]));
    static const uint64_t src[4] = {0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0x1111111122222222ULL,
                                    0x8000000180000001ULL};
    print_vectors = 1;
    for (int i = 0; i < 2; i++) printf("vectors = %llx\n", (unsigned long long)vectors(none, src));
    print_vectors = 0;
    printf("faults %d\n", faults);
    return 0;
}
