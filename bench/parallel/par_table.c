// Read-mostly sharing: a table of 65536 64-bit entries (512 KiB, 128 pages, 4 KiB-aligned) read by all N threads.
// The work proceeds in phases, each: thread 0 updates a few entries (UPDATES per phase, deterministic indices and
// values), a barrier, then every thread does its share of a fixed number of lookups, a barrier. Lookup j of phase p
// reads the entry at a pseudo-random index that is a function of (p, j) only (a counter-based generator), and the
// threads split j = 0 .. lookups-1 into contiguous ranges, so the set of lookups is the same for any thread count;
// each thread sums the values it reads (mod 2^64) and main adds the threads' sums after joining them. On a cluster
// every phase invalidates the few pages thread 0 wrote on every other node, which then fetch them again.
// Measures the time per phase.
//
//   par_table [threads [phases [lookups per phase]]]   threads default 1 (at most 64); phases default 600;
//                                                      lookups per phase default 1000000
//
// stdout: the sizes and the total sum (same for any thread count); stderr: "table: <phases> phases, <t> us/phase"
// (clock_gettime(CLOCK_MONOTONIC)).
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ENTRIES 65536
#define UPDATES 4
#define MAXT 64

static uint64_t *table;
static int nthreads = 1;
static long nphases = 600, nlookups = 1000000;
static pthread_barrier_t barrier;
static uint64_t sums[MAXT];
static double elapsed_us;

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static inline uint64_t mix(uint64_t x) { // a 64-bit finaliser: a different pseudo-random value for each x
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    long from = nlookups * id / nthreads, to = nlookups * (id + 1) / nthreads;
    uint64_t sum = 0;
    pthread_barrier_wait(&barrier);
    double start = now_us();
    for (long p = 0; p < nphases; p++) {
        if (id == 0) {
            uint64_t s = mix(0x7a61626c65ull + (uint64_t)p); // this phase's updates: a small LCG from a per-phase seed
            for (int u = 0; u < UPDATES; u++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                table[s >> 48] = mix(table[s >> 48] ^ s);
            }
        }
        pthread_barrier_wait(&barrier);
        uint64_t base = (uint64_t)p << 32;
        for (long j = from; j < to; j++) sum += table[mix(base + (uint64_t)j) & (ENTRIES - 1)];
        pthread_barrier_wait(&barrier);
    }
    if (id == 0) elapsed_us = now_us() - start;
    sums[id] = sum;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) nthreads = atoi(argv[1]);
    if (argc > 2) nphases = atol(argv[2]);
    if (argc > 3) nlookups = atol(argv[3]);
    if (nthreads < 1 || nthreads > MAXT) nthreads = 1;
    if (nphases < 0) nphases = 0;
    if (nlookups < 0) nlookups = 0;
    if (posix_memalign((void **)&table, 4096, ENTRIES * sizeof(uint64_t))) {
        fprintf(stderr, "table: out of memory\n");
        return 1;
    }
    for (long i = 0; i < ENTRIES; i++) table[i] = mix((uint64_t)i);
    pthread_barrier_init(&barrier, NULL, nthreads);
    pthread_t t[MAXT];
    for (int i = 0; i < nthreads; i++) pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    uint64_t total = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(t[i], NULL);
        total += sums[i];
    }
    uint64_t h = 0; // the table after the last phase's updates
    for (long i = 0; i < ENTRIES; i++) h = mix(h ^ table[i]);
    printf("table %d entries %ld phases %ld lookups/phase sum %016llx table %016llx\n", ENTRIES, nphases, nlookups,
           (unsigned long long)total, (unsigned long long)h);
    fprintf(stderr, "table: %ld phases, %.1f us/phase\n", nphases, nphases ? elapsed_us / nphases : 0.0);
    return 0;
}
