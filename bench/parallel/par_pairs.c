// Pairs of threads that talk to each other, and what placing each pair on one node is worth: 4 threads form the
// pairs (0,1) and (2,3). In every round, thread 2k writes a message into its pair's page and posts a semaphore,
// thread 2k+1 waits for it, reads the message, writes a reply into the same page and posts back; each side also
// does a little private compute per round. The two pairs share nothing with each other. On a cluster a pair split
// over two nodes pays a remote futex wake and a page transfer in each direction of every round; a pair on one node
// pays two local context switches. Threads are created in the order 0,1,2,3, which round-robin placement over two
// nodes (node 1 first) turns into the worst case: every pair split. "hint" makes every thread first call dqemu's
// placement hint (emulator-private syscall 0x4400, op 1 GROUP, arg = pair id: "run me with my group"); under
// qemu-aarch64 and Linux the call fails with ENOSYS and is ignored. Measures the rounds (between two barriers).
//
//   par_pairs [thousands of rounds [hint]]    default 10 (10000 rounds per pair; fractions allowed); a fixed thread count (4)
//
// stdout: the round count and a checksum of every reply and private result (the same with and without "hint");
// stderr: "pairs: 4 threads, hint|no hint, <t> us/round" (wall microseconds per round, the two pairs running at
// once; clock_gettime(CLOCK_MONOTONIC)).
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HINT_SYSCALL 0x4400
#define HINT_GROUP 1

#define PAIRS 2
#define THREADS (2 * PAIRS)
#define WORDS 32
#define COMPUTE 400

struct pair {
    sem_t to_reply, to_ask;
    uint64_t ask[WORDS], reply[WORDS];
} __attribute__((aligned(4096)));

static struct pair pairs[PAIRS];
static long rounds = 10000;
static int use_hint;
static pthread_barrier_t barrier;
static uint64_t result[THREADS];

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t h, uint64_t i) {
    h ^= i + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

/// The private work of one round: the same on every side so that the expected results are easy to recompute.
static uint64_t compute(uint64_t h, uint64_t r) {
    for (int k = 0; k < COMPUTE; k++) h = mix(h, r + k);
    return h;
}

/// Both sides' per-round transformations, also used by main to recompute the expected checksum.
static uint64_t ask_word(int pair, uint64_t r, int w) { return mix((uint64_t)pair * 1000003 + r, (uint64_t)w); }
static uint64_t reply_word(uint64_t ask, uint64_t r) { return mix(ask, r) ^ 0xa5a5a5a5a5a5a5a5ull; }

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg, pair = id / 2;
    struct pair *p = &pairs[pair];
    if (use_hint) syscall(HINT_SYSCALL, HINT_GROUP, pair);
    uint64_t h = (uint64_t)id + 1;
    pthread_barrier_wait(&barrier);
    for (uint64_t r = 0; r < (uint64_t)rounds; r++) {
        if ((id & 1) == 0) {
            for (int w = 0; w < WORDS; w++) p->ask[w] = ask_word(pair, r, w);
            sem_post(&p->to_reply);
            h = compute(h, r);
            sem_wait(&p->to_ask);
            for (int w = 0; w < WORDS; w++) h = mix(h, p->reply[w]);
        } else {
            sem_wait(&p->to_reply);
            for (int w = 0; w < WORDS; w++) p->reply[w] = reply_word(p->ask[w], r);
            sem_post(&p->to_ask);
            h = compute(h, r);
        }
    }
    pthread_barrier_wait(&barrier);
    result[id] = h;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) rounds = (long)(strtod(argv[1], NULL) * 1e3);
    use_hint = argc > 2 && strcmp(argv[2], "hint") == 0;
    if (rounds < 1 || (argc > 2 && !use_hint)) {
        fprintf(stderr, "usage: par_pairs [thousands of rounds per pair (at least 0.001) [hint]]\n");
        return 2;
    }
    for (int p = 0; p < PAIRS; p++) {
        sem_init(&pairs[p].to_reply, 0, 0);
        sem_init(&pairs[p].to_ask, 0, 0);
    }
    pthread_barrier_init(&barrier, NULL, THREADS + 1);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    pthread_barrier_wait(&barrier);
    double start = now_s();
    pthread_barrier_wait(&barrier);
    double elapsed = now_s() - start;
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);

    // expected: the asking side folds in every reply after its own compute; the replying side only computes
    int ok = 1;
    uint64_t checksum = 0;
    for (int id = 0; id < THREADS; id++) {
        uint64_t h = (uint64_t)id + 1;
        for (uint64_t r = 0; r < (uint64_t)rounds; r++) {
            h = compute(h, r);
            if ((id & 1) == 0)
                for (int w = 0; w < WORDS; w++) h = mix(h, reply_word(ask_word(id / 2, r, w), r));
        }
        ok &= result[id] == h;
        checksum = mix(checksum, h);
    }
    printf("rounds %ld per pair, checksum %016llx%s\n", rounds, (unsigned long long)checksum, ok ? "" : " (MISMATCH)");
    fprintf(stderr, "pairs: %d threads, %s, %.1f us/round\n", THREADS, use_hint ? "hint" : "no hint", elapsed * 1e6 / rounds);
    return ok ? 0 : 1;
}
