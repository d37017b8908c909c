// Pairs of threads that truly share data, and the dqemu placement hint (emulator-private syscall 0x4400).
// 4 worker threads, created in order 0..3, form the pairs (0,1) and (2,3); each pair owns one page-aligned,
// page-sized struct that both of its threads write on every iteration: an atomic fetch_add on the pair's
// counter, a plain store of a stamp into the thread's slot of a shared array and of its progress into a shared
// word, a read of the partner's slot and progress, and a plain read-modify-write of its own running sum on the
// page. Besides that each thread does private integer compute. On a cluster a pair split over two nodes makes
// its page ping-pong at every iteration (true sharing: splitting the page cannot help), a co-located pair keeps
// it local; "hint" makes every thread first ask to be co-located with its pair (op 1 GROUP, arg = pair id).
// Each thread also asks where it runs (op 0 WHERE) at its start and in the middle of its loop and ignores the
// answer. Under qemu-aarch64 and Linux the syscall fails with ENOSYS; the output must be the same everywhere,
// so no result of the hint is printed.
// Checked: the pair counters, running sums and final array contents (computed in a single-threaded pass);
// coherence: the values a thread sees of a partner's progress word, and the old values its fetch_adds return,
// never go backwards, and every partner slot it reads holds 0 or a stamp the partner wrote into that slot.
//
//   mt_pairs [hint]
//
// stdout: per pair the counter, the two sums and ok/MISMATCH, the coherence verdict and a checksum (the same with
// and without "hint"); exit status 0 when everything matches.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HINT_SYSCALL 0x4400
#define HINT_WHERE 0
#define HINT_GROUP 1

#define PAIRS 2
#define THREADS (2 * PAIRS)
#define ITERS 200000
#define SLOTS 64

struct pair {
    uint64_t counter;                 // both threads: atomic fetch_add
    volatile uint64_t progress[2];    // each thread's iteration count (plain store), read by the partner
    volatile uint64_t sum[2];         // each thread's running sum (plain read-modify-write on the shared page)
    volatile uint64_t slot[2][SLOTS]; // each thread's stamps (plain stores), read by the partner
} __attribute__((aligned(4096)));

_Static_assert(sizeof(struct pair) == 4096, "one page per pair");

static struct pair pairs[PAIRS];
static int use_hint;
static pthread_barrier_t start_line;
static uint64_t private_hash[THREADS];
static uint64_t incoherent[THREADS];

static uint64_t stamp(int id, uint64_t i) { return (i << 16) | ((uint64_t)id << 8) | 0x5a; }
static uint64_t increment(int side, uint64_t i) { return (i & 7) + 1 + (uint64_t)side; }
static uint64_t sum_step(int id, uint64_t i) { return i % 13 + (uint64_t)id; }

static uint64_t mix(uint64_t h, uint64_t i) {
    h ^= i + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg, p = id / 2, side = id & 1, partner = id ^ 1;
    struct pair *pr = &pairs[p];
    if (use_hint) syscall(HINT_SYSCALL, HINT_GROUP, p);
    syscall(HINT_SYSCALL, HINT_WHERE, 0);
    pthread_barrier_wait(&start_line);
    uint64_t h = (uint64_t)id + 1, bad = 0, last_old = 0, last_seen = 0;
    for (uint64_t i = 0; i < ITERS; i++) {
        if (i == ITERS / 2) syscall(HINT_SYSCALL, HINT_WHERE, 0);
        uint64_t old = __atomic_fetch_add(&pr->counter, increment(side, i), __ATOMIC_RELAXED);
        bad += old < last_old;
        last_old = old;
        pr->slot[side][i % SLOTS] = stamp(id, i);
        pr->progress[side] = i + 1;
        pr->sum[side] += sum_step(id, i);
        uint64_t seen = pr->progress[side ^ 1];
        bad += seen < last_seen;
        last_seen = seen;
        uint64_t v = pr->slot[side ^ 1][i % SLOTS];
        bad += v != 0 && ((v & 0xffff) != (stamp(partner, 0) & 0xffff) || (v >> 16) % SLOTS != i % SLOTS);
        h = mix(h, i);
    }
    private_hash[id] = h;
    incoherent[id] = bad;
    return NULL;
}

int main(int argc, char **argv) {
    use_hint = argc > 1 && strcmp(argv[1], "hint") == 0;
    pthread_barrier_init(&start_line, NULL, THREADS);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);

    int ok = 1;
    uint64_t checksum = 0;
    for (int p = 0; p < PAIRS; p++) {
        // the expected values, single-threaded
        uint64_t counter = 0, sum[2] = {0, 0};
        int good = pairs[p].progress[0] == ITERS && pairs[p].progress[1] == ITERS;
        for (int side = 0; side < 2; side++) {
            for (uint64_t i = 0; i < ITERS; i++) {
                counter += increment(side, i);
                sum[side] += sum_step(2 * p + side, i);
            }
            for (uint64_t j = 0; j < SLOTS; j++) {
                uint64_t last = (ITERS - 1) - ((ITERS - 1 - j) % SLOTS); // the last i with i % SLOTS == j
                good &= pairs[p].slot[side][j] == stamp(2 * p + side, last);
                checksum = mix(checksum, pairs[p].slot[side][j]);
            }
        }
        good &= pairs[p].counter == counter && pairs[p].sum[0] == sum[0] && pairs[p].sum[1] == sum[1];
        printf("pair %d: counter %llu, sums %llu %llu (expected %llu, %llu %llu) %s\n", p,
               (unsigned long long)pairs[p].counter, (unsigned long long)pairs[p].sum[0],
               (unsigned long long)pairs[p].sum[1], (unsigned long long)counter, (unsigned long long)sum[0],
               (unsigned long long)sum[1], good ? "ok" : "MISMATCH");
        ok &= good;
        checksum = mix(checksum, pairs[p].counter + pairs[p].sum[0] * 3 + pairs[p].sum[1] * 5);
    }
    uint64_t bad = 0;
    for (int i = 0; i < THREADS; i++) bad += incoherent[i];
    printf("coherence: %s\n", bad == 0 ? "ok" : "MISMATCH");
    ok &= bad == 0;
    int private_ok = 1;
    for (int id = 0; id < THREADS; id++) {
        uint64_t h = (uint64_t)id + 1;
        for (uint64_t i = 0; i < ITERS; i++) h = mix(h, i);
        private_ok &= private_hash[id] == h;
        checksum = mix(checksum, h);
    }
    printf("private compute: %s\n", private_ok ? "ok" : "MISMATCH");
    ok &= private_ok;
    printf("checksum %016llx\n", (unsigned long long)checksum);
    return ok ? 0 : 1;
}
