// Producer/consumer by phases, read sequentially: each round the main thread rewrites an array of 2048 pages (8 MiB),
// then N threads each sum all of it page by page (threads start at different pages and wrap around), a barrier
// between phases. On a cluster every round moves the whole array from node 0 to the readers' nodes, one fault per
// page unless pages are read ahead (data forwarding).
// Measures the time per round.
//
//   par_scan [threads [rounds]]    threads default 1 (at most 64); rounds default 40
//
// stdout: the pages, rounds and the total sum (same for any thread count); stderr: "scan: <rounds> rounds,
// <t> us/round" (clock_gettime(CLOCK_MONOTONIC)).
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PAGES 2048
#define WORDS (4096 / 8)
#define MAXT 64

static uint64_t *data;
static int nthreads = 1;
static long rounds = 40;
static pthread_barrier_t barrier;
static uint64_t sums[MAXT];

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void *reader(void *arg) {
    int id = (int)(intptr_t)arg;
    uint64_t s = 0;
    for (long r = 0; r < rounds; r++) {
        pthread_barrier_wait(&barrier); // the array is written
        for (long i = 0; i < PAGES; i++) {
            long p = (i + (long)id * PAGES / nthreads) % PAGES;
            for (long w = 0; w < WORDS; w += 8) s += data[p * WORDS + w];
        }
        pthread_barrier_wait(&barrier); // done reading
    }
    sums[id] = s;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) nthreads = atoi(argv[1]);
    if (argc > 2) rounds = atol(argv[2]);
    if (nthreads < 1 || nthreads > MAXT || rounds < 1) {
        fprintf(stderr, "usage: par_scan [threads 1-%d [rounds]]\n", MAXT);
        return 2;
    }
    data = aligned_alloc(4096, (size_t)PAGES * 4096);
    if (!data) return 1;
    pthread_barrier_init(&barrier, NULL, nthreads + 1);
    pthread_t t[MAXT];
    for (int i = 0; i < nthreads; i++) pthread_create(&t[i], NULL, reader, (void *)(intptr_t)i);
    double start = now_us();
    for (long r = 0; r < rounds; r++) {
        for (long p = 0; p < PAGES; p++)
            for (long w = 0; w < WORDS; w += 8) data[p * WORDS + w] = (uint64_t)(p * 31 + w + r * 7);
        pthread_barrier_wait(&barrier);
        pthread_barrier_wait(&barrier);
    }
    double elapsed = now_us() - start;
    for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
    int same = 1;
    for (int i = 1; i < nthreads; i++) same &= sums[i] == sums[0]; // each thread read the same values
    printf("pages %d, rounds %ld, sum per reader %llu%s\n", PAGES, rounds, (unsigned long long)sums[0],
           same ? "" : " (readers DISAGREE)");
    fprintf(stderr, "scan: %ld rounds, %.1f us/round\n", rounds, elapsed / rounds);
    return 0;
}
