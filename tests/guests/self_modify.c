// Self-modifying code without an mprotect between writing and running: instructions are rewritten in place in
// writable and executable memory (an RWX mapping, and an RW mapping made RWX once), each time followed by
// __builtin___clear_cache (or its DC CVAU / IC IVAU / ISB sequence), and the next call must run what was written last:
//   1. rewrite "mov w0, #k; ret" and call it, many times (one page, from C);
//   2. a function that stores a new instruction into its own block and then runs it;
//   3. a loop that patches the immediate of an add inside its own loop body on every iteration;
//   4. read() from a pipe into a page that holds code already run (the kernel writes it, not a store);
//   5. a counter kept on the same page as the code that increments it (data next to code);
//   6. a second thread calling a function while this one rewrites it: it must see every new value, in order;
//   7. mremap of a page whose code ran, then a rewrite at its new address (the move keeps the page writable).
// Every answer is known in advance (printed with the expected value); the output is compared with qemu-aarch64's.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

typedef int (*fn0)(void);
typedef int (*fn1)(uint32_t);

static uint32_t mov_w0(int value) { return 0x52800000u | ((uint32_t)value << 5); } // mov w0, #value
#define RET 0xd65f03c0u

static void sync_code(void *start, size_t len) { __builtin___clear_cache((char *)start, (char *)start + len); }

// 2: stores its argument (an instruction) over the "mov w0, #0" of its own block, then runs it
// 3: w0 = n; for k = n..1 patches "add w2, w2, #k" into its loop body and runs it; returns the sum
// 5: x0 = a counter; adds 1 to it and returns it
__asm__(
    ".text\n"
    ".balign 4\n"
    // global: a C reference to a local label went through one GOT slot for all of them (section + addend)
    ".globl smc_patch_self, smc_patch_self_end, smc_loop, smc_loop_end, smc_count, smc_count_end\n"
    "smc_patch_self:\n"
    "    adr x1, 1f\n"
    "    str w0, [x1]\n"
    "    dc cvau, x1\n"
    "    dsb ish\n"
    "    ic ivau, x1\n"
    "    dsb ish\n"
    "    isb\n"
    "1:  mov w0, #0\n"
    "    ret\n"
    "smc_patch_self_end:\n"
    "smc_loop:\n"
    "    mov w2, #0\n"
    "    adr x1, 2f\n"
    "    movz w5, #0x0042\n"
    "    movk w5, #0x1100, lsl #16\n" // add w2, w2, #0
    "1:  orr w4, w5, w0, lsl #10\n"
    "    str w4, [x1]\n"
    "    dc cvau, x1\n"
    "    dsb ish\n"
    "    ic ivau, x1\n"
    "    dsb ish\n"
    "    isb\n"
    "2:  add w2, w2, #0\n"
    "    subs w0, w0, #1\n"
    "    b.ne 1b\n"
    "    mov w0, w2\n"
    "    ret\n"
    "smc_loop_end:\n"
    "smc_count:\n"
    "    ldr w1, [x0]\n"
    "    add w1, w1, #1\n"
    "    str w1, [x0]\n"
    "    mov w0, w1\n"
    "    ret\n"
    "smc_count_end:\n");
extern char smc_patch_self[], smc_patch_self_end[], smc_loop[], smc_loop_end[], smc_count[], smc_count_end[];

static void *copy_code(void *dst, const char *start, const char *end) {
    memcpy(dst, start, (size_t)(end - start));
    sync_code(dst, (size_t)(end - start));
    return dst;
}

static int failures;
static void check(const char *what, long got, long want) {
    printf("%s: %ld (expected %ld)\n", what, got, want);
    if (got != want) failures++;
}

// ---- 6: a second thread runs the code while this one rewrites it ----
static uint32_t *shared_code;
static atomic_int seen, stop_flag, backwards;

static void *caller(void *arg) {
    (void)arg;
    int last = 0;
    while (!atomic_load(&stop_flag)) {
        int v = ((fn0)shared_code)();
        if (v < last) atomic_fetch_add(&backwards, 1);
        last = v;
        atomic_store(&seen, v);
    }
    return NULL;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); // the lines so far, should a check crash
    const int prot = PROT_READ | PROT_WRITE | PROT_EXEC;
    uint8_t *rwx = mmap(NULL, 4 * 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *once = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rwx == MAP_FAILED || once == MAP_FAILED) { perror("mmap"); return 2; }

    // 1: rewrite and call, in an RWX mapping and in an RW mapping made RWX once
    uint32_t *p = (uint32_t *)rwx;
    long sum = 0;
    for (int k = 1; k <= 300; k++) {
        p[0] = mov_w0(k);
        p[1] = RET;
        sync_code(p, 8);
        sum += ((fn0)p)();
    }
    check("rewritten 300 times, sum of results", sum, 300L * 301 / 2);
    uint32_t *q = (uint32_t *)once;
    q[0] = mov_w0(5);
    q[1] = RET;
    if (mprotect(once, 4096, prot) != 0) { perror("mprotect"); return 2; }
    sync_code(q, 8);
    int first = ((fn0)q)();
    q[0] = mov_w0(6);
    sync_code(q, 4);
    check("made RWX once, then rewritten", first * 10 + ((fn0)q)(), 56);

    // 2: the running block patches itself
    fn1 self = (fn1)copy_code(rwx + 4096, smc_patch_self, smc_patch_self_end);
    sum = 0;
    for (int k = 1; k <= 50; k++) sum += self(mov_w0(1000 + k));
    check("a block patching itself, sum over 50 calls", sum, 50L * 1000 + 50 * 51 / 2);

    // 3: a loop patching its own body on every iteration
    fn1 loop = (fn1)copy_code(rwx + 4096 + 256, smc_loop, smc_loop_end);
    check("loop patching its body, n=1000", loop(1000), 1000L * 1001 / 2);
    check("loop patching its body, n=7", loop(7), 28);

    // 4: the kernel writes the code (read from a pipe into a page whose code ran)
    int fds[2];
    if (pipe(fds) != 0) { perror("pipe"); return 2; }
    uint32_t *r = (uint32_t *)(rwx + 2 * 4096);
    r[0] = mov_w0(1);
    r[1] = RET;
    sync_code(r, 8);
    first = ((fn0)r)();
    uint32_t code77[2] = {mov_w0(77), RET};
    long wrote = write(fds[1], code77, sizeof code77);
    long got = read(fds[0], r, sizeof code77);
    sync_code(r, 8);
    check("read() into a code page: bytes", got, wrote);
    check("read() into a code page: result", first * 100 + ((fn0)r)(), 177);

    // 5: a counter on the page of the code that increments it
    int (*count)(int *) = (int (*)(int *))copy_code(rwx + 4096 + 512, smc_count, smc_count_end);
    int *counter = (int *)(rwx + 4096 + 2048);
    *counter = 0;
    int last = 0;
    for (int k = 0; k < 2000; k++) last = count(counter);
    check("counter next to its code", last, 2000);

    // 6: another thread runs the code while it is rewritten
    shared_code = (uint32_t *)(rwx + 3 * 4096);
    shared_code[0] = mov_w0(0);
    shared_code[1] = RET;
    sync_code(shared_code, 8);
    pthread_t t;
    if (pthread_create(&t, NULL, caller, NULL) != 0) { perror("pthread_create"); return 2; }
    const int rounds = 200;
    int reached = 0;
    double deadline = now() + 30;
    for (int k = 1; k <= rounds; k++) {
        shared_code[0] = mov_w0(k);
        sync_code(shared_code, 4);
        while (atomic_load(&seen) != k && now() < deadline) sched_yield();
        if (atomic_load(&seen) != k) break;
        reached = k;
    }
    atomic_store(&stop_flag, 1);
    pthread_join(t, NULL);
    check("other thread saw every rewrite, up to", reached, rounds);
    check("other thread saw a value go backwards", atomic_load(&backwards), 0);

    // 7: a code page moved by mremap stays writable at its new address
    uint32_t *m = mmap(NULL, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m[0] = mov_w0(3);
    m[1] = RET;
    sync_code(m, 8);
    first = ((fn0)m)();
    uint32_t *moved = mremap(m, 4096, 8192, MREMAP_MAYMOVE);
    if (moved == MAP_FAILED) { perror("mremap"); return 2; }
    moved[0] = mov_w0(4); // before anything runs at the new address
    sync_code(moved, 4);
    check("code moved by mremap, then rewritten", first * 10 + ((fn0)moved)(), 34);

    printf("%s\n", failures == 0 ? "all self-modifying code checks passed" : "FAILED");
    return failures == 0 ? 0 : 1;
}
