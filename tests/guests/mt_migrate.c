// Live migration exactness: 3 threads (plus main) each run 40 rounds, and at the start of every round ask to be
// moved to node round % 3 (dqemu's emulator-private syscall 0x4400, op 2 NODE; on a 2-node cluster node 2 is
// refused with EINVAL, under qemu-aarch64 and Linux every call fails with ENOSYS; the answer is ignored). Whatever
// a thread carries must survive each move exactly: double accumulators and NEON vectors (integer and float64x2)
// that stay live across the call (odd rounds use a raw "svc" that clobbers no vector register, so they may stay
// in any register, even caller-saved ones; even rounds go through libc's syscall()), a NEON pass over the
// thread's own page of data, a checksum over an array on its own stack, a __thread counter (with a non-zero
// initial value), its gettid() (checked against the value at thread start, never printed), a mutex-protected
// shared total and an atomic counter. In 5 of the rounds the thread asks main for a SIGUSR1 and spins, redoing a
// fixed FP and NEON computation and checking it, until the signal has arrived: main sends one pthread_kill at a
// time and waits until the thread's handler (which itself does FP and NEON work) has counted it, so the signal
// counts are known. Some rounds call sched_yield, some sleep 1 ms.
// The per-thread results are checked against a single-threaded pass of the same code by main (without moves,
// signals or shared totals); the totals are known in advance.
//
//   mt_migrate
//
// stdout: per thread "tid stable" and the checks of the carried state (ok/MISMATCH), the signal counts, the two
// shared totals and a checksum of the results; exit status 0 when everything matches.
#define _GNU_SOURCE
#include <arm_neon.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HINT_SYSCALL 0x4400
#define HINT_NODE 2

#define THREADS 3
#define ROUNDS 40
#define FP_STEPS 2000
#define WORDS 1024 // one page of uint32_t per thread
#define STACK_WORDS 512
#define SIGNAL_ROUND(r) ((r) % 8 == 3) // rounds 3, 11, 19, 27, 35
#define SIGNALS 5
#define TLS_START 7

struct result {
    double fp;            // scalar double accumulators
    uint64_t vec;         // NEON integer accumulators
    double vec_fp;        // NEON float64x2 accumulator
    uint64_t data;        // the thread's page after the last round
    uint64_t stack;       // checksum of the stack array
    uint64_t tls;         // the __thread counter
    uint64_t spin_errors; // wrong results of the computation redone while waiting for a signal
    uint64_t tid_changes; // rounds in which gettid() differed from the value at thread start
};

static uint32_t data[THREADS + 1][WORDS] __attribute__((aligned(4096))); // the last one for main's reference pass
static struct result results[THREADS], reference[THREADS];

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t locked_total;
static uint64_t atomic_total;

static volatile sig_atomic_t signals[THREADS]; // counted by each thread's handler
static int requested[THREADS];                 // signals each thread has asked for so far
static __thread int self = -1;
static __thread uint64_t tls_counter = TLS_START;
static volatile double handler_fp = 1.0;
static volatile uint32_t handler_vec[4] = {1, 2, 3, 4};

// The hint through libc (errno set, only callee-saved registers keep values) or as a bare svc (no register but
// x0 changes, so the compiler may keep any value in any other register across the move).
static long hint_libc(long op, long arg) { return syscall(HINT_SYSCALL, op, arg); }

static inline long hint_svc(long op, long arg) {
    register long x8 __asm__("x8") = HINT_SYSCALL;
    register long x0 __asm__("x0") = op;
    register long x1 __asm__("x1") = arg;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x1), "r"(x8) : "memory");
    return x0;
}

static void on_usr1(int sig) {
    (void)sig;
    // use FP and vector registers, which must not disturb the interrupted thread's
    double d = handler_fp;
    for (int k = 0; k < 50; k++) d = d / 1.1 + k;
    handler_fp = d;
    uint32_t v[4];
    for (int k = 0; k < 4; k++) v[k] = handler_vec[k];
    uint32x4_t x = vld1q_u32(v);
    x = veorq_u32(vaddq_u32(x, vdupq_n_u32(0x9e3779b9)), vshlq_n_u32(x, 5));
    vst1q_u32(v, x);
    for (int k = 0; k < 4; k++) handler_vec[k] = v[k];
    if (self >= 0) signals[self]++;
}

// A fixed computation redone while waiting for a signal; its inputs are hidden from the compiler so it is
// really recomputed each time.
static uint64_t spin_work(void) {
    double s = 1.0;
    uint32x4_t v = vdupq_n_u32(3);
    __asm__ volatile("" : "+w"(s), "+w"(v));
    for (int k = 0; k < 64; k++) {
        s = s / 1.01 + 1.0;
        v = vaddq_u32(veorq_u32(v, vshrq_n_u32(v, 3)), vdupq_n_u32((uint32_t)k));
    }
    uint64_t bits;
    memcpy(&bits, &s, sizeof bits);
    return bits ^ vgetq_lane_u64(vreinterpretq_u64_u32(v), 0) ^ vgetq_lane_u64(vreinterpretq_u64_u32(v), 1);
}

static void sleep_1ms(void) {
    struct timespec ts = {0, 1000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

// One thread's rounds; live = 0 is main's reference pass: the same computation without moves, signals, shared
// totals or TLS.
static void run(int id, int live, struct result *out) {
    uint32_t *page = data[live ? id : THREADS];
    uint32_t stack[STACK_WORDS];
    for (int k = 0; k < WORDS; k++) page[k] = (uint32_t)k * 2654435761u + (uint32_t)id;
    for (int k = 0; k < STACK_WORDS; k++) stack[k] = (uint32_t)k * 40503u ^ (uint32_t)(id + 1) * 0x01000193u;
    pid_t tid0 = live ? gettid() : 0;
    uint64_t spin_expected = spin_work(), spin_errors = 0, tid_changes = 0;
    double x = 1.0 + id, y = 0.0;
    uint32x4_t vsum = vdupq_n_u32((uint32_t)id), vmix = vdupq_n_u32(0x12345678);
    float64x2_t vf = vdupq_n_f64(0.5);

    for (int r = 0; r < ROUNDS; r++) {
        if (live) {
            if (r & 1)
                hint_svc(HINT_NODE, r % 3);
            else
                hint_libc(HINT_NODE, r % 3);
            tid_changes += gettid() != tid0;
        }
        // scalar doubles (only divisions and additions: nothing to fuse, the result does not depend on codegen)
        for (int k = 0; k < FP_STEPS; k++) {
            x = x / 1.0000003 + (double)(k ^ r) / 3000.0;
            y += 1.0 / (x + k + 1.5);
        }
        // NEON over the thread's page
        for (int k = 0; k < WORDS; k += 4) {
            uint32x4_t d = vld1q_u32(&page[k]);
            vsum = vaddq_u32(vsum, d);
            vmix = veorq_u32(vaddq_u32(vmix, vshlq_n_u32(d, 3)), vshrq_n_u32(vmix, 7));
            vf = vaddq_f64(vf, vdivq_f64(vcvtq_f64_u64(vmovl_u32(vget_low_u32(d))), vdupq_n_f64(7.0e9)));
            vst1q_u32(&page[k], vaddq_u32(d, vdupq_n_u32((uint32_t)(r + 1 + k))));
        }
        // the stack array
        for (int k = 0; k < STACK_WORDS; k++)
            stack[k] = (stack[k] * 31u + stack[(k + r + 1) % STACK_WORDS]) ^ (uint32_t)r;
        if (!live) continue;
        tls_counter += (uint64_t)r + 1;
        pthread_mutex_lock(&lock);
        locked_total += (uint64_t)(id + 1) * (uint64_t)(r + 1);
        pthread_mutex_unlock(&lock);
        __atomic_fetch_add(&atomic_total, 1000u + 3u * (uint64_t)r + (uint64_t)id, __ATOMIC_RELAXED);
        if (SIGNAL_ROUND(r)) {
            int want = __atomic_load_n(&requested[id], __ATOMIC_RELAXED) + 1;
            __atomic_store_n(&requested[id], want, __ATOMIC_RELEASE);
            while (__atomic_load_n(&signals[id], __ATOMIC_ACQUIRE) < want) {
                spin_errors += spin_work() != spin_expected;
                sched_yield();
            }
        }
        if (r % 4 == 1) sched_yield();
        if (r % 5 == 2) sleep_1ms();
        tid_changes += gettid() != tid0;
    }

    uint64_t stack_sum = 0, data_sum = 0;
    for (int k = 0; k < STACK_WORDS; k++) stack_sum = stack_sum * 1000003u + stack[k];
    for (int k = 0; k < WORDS; k++) data_sum = data_sum * 1000003u + page[k];
    uint64_t v[2];
    vst1q_u64(v, veorq_u64(vreinterpretq_u64_u32(vsum), vshlq_n_u64(vreinterpretq_u64_u32(vmix), 1)));
    out->fp = x + y;
    out->vec = v[0] ^ (v[1] * 3);
    out->vec_fp = vgetq_lane_f64(vf, 0) + vgetq_lane_f64(vf, 1);
    out->data = data_sum;
    out->stack = stack_sum;
    out->tls = live ? tls_counter : 0;
    out->spin_errors = spin_errors;
    out->tid_changes = tid_changes;
}

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    self = id;
    run(id, 1, &results[id]);
    return NULL;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pause_us(long us) {
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

static uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

static uint64_t bits(double d) {
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

int main(void) {
    for (int id = 0; id < THREADS; id++) run(id, 0, &reference[id]);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);

    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    // Serve the threads' signal requests, one signal at a time, each time until the handler has counted it.
    int sent[THREADS] = {0}, total = 0;
    while (total < THREADS * SIGNALS) {
        int served = 0;
        for (int i = 0; i < THREADS; i++) {
            if (__atomic_load_n(&requested[i], __ATOMIC_ACQUIRE) <= sent[i]) continue;
            sent[i]++;
            pthread_kill(t[i], SIGUSR1);
            double deadline = now_s() + 30;
            while (__atomic_load_n(&signals[i], __ATOMIC_ACQUIRE) < sent[i]) {
                if (now_s() > deadline) {
                    printf("signal %d to thread %d not delivered: MISMATCH\n", sent[i], i);
                    fflush(stdout);
                    _exit(1);
                }
                pause_us(20);
            }
            total++;
            served = 1;
        }
        if (!served) pause_us(50);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);

    int ok = 1;
    uint64_t checksum = 0;
    for (int i = 0; i < THREADS; i++) {
        struct result *a = &results[i], *e = &reference[i];
        int fp = bits(a->fp) == bits(e->fp), vec = a->vec == e->vec && bits(a->vec_fp) == bits(e->vec_fp),
            page = a->data == e->data, stack = a->stack == e->stack,
            tls = a->tls == TLS_START + (uint64_t)ROUNDS * (ROUNDS + 1) / 2, spin = a->spin_errors == 0,
            tid = a->tid_changes == 0;
        printf("thread %d: tid stable %s\n", i, tid ? "ok" : "MISMATCH");
        printf("thread %d: fp %s, vector %s, page %s, stack %s, tls %s, registers while signalled %s\n", i,
               fp ? "ok" : "MISMATCH", vec ? "ok" : "MISMATCH", page ? "ok" : "MISMATCH", stack ? "ok" : "MISMATCH",
               tls ? "ok" : "MISMATCH", spin ? "ok" : "MISMATCH");
        ok &= fp && vec && page && stack && tls && spin && tid;
        checksum = mix(mix(mix(mix(mix(checksum, bits(e->fp)), e->vec), bits(e->vec_fp)), e->data), e->stack);
    }
    int signals_ok = 1;
    printf("signals:");
    for (int i = 0; i < THREADS; i++) {
        printf(" %d", (int)signals[i]);
        signals_ok &= signals[i] == SIGNALS;
    }
    printf(" (expected %d each) %s\n", SIGNALS, signals_ok ? "ok" : "MISMATCH");
    ok &= signals_ok;
    uint64_t want_locked = 0, want_atomic = 0;
    for (int i = 0; i < THREADS; i++)
        for (int r = 0; r < ROUNDS; r++) {
            want_locked += (uint64_t)(i + 1) * (uint64_t)(r + 1);
            want_atomic += 1000u + 3u * (uint64_t)r + (uint64_t)i;
        }
    printf("mutex total: %llu (expected %llu) %s\n", (unsigned long long)locked_total,
           (unsigned long long)want_locked, locked_total == want_locked ? "ok" : "MISMATCH");
    printf("atomic total: %llu (expected %llu) %s\n", (unsigned long long)atomic_total,
           (unsigned long long)want_atomic, atomic_total == want_atomic ? "ok" : "MISMATCH");
    ok &= locked_total == want_locked && atomic_total == want_atomic;
    printf("checksum %016llx\n", (unsigned long long)checksum);
    return ok ? 0 : 1;
}
