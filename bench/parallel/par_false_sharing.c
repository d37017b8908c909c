// Page-level false sharing: N threads, each adding to its own one of N adjacent 64-bit counters on one 4 KiB page
// (8 bytes apart: on one machine they even share a cache line). No thread reads another's counter, so the threads
// are independent; on a cluster without page splitting the page ping-pongs between the nodes at every access, with
// it the page is cut into units and each node keeps its own counters. The total work is fixed (ITERS additions
// split evenly over the threads); each addition is a short dependent chain on the counter in memory.
// Measures the time of the adding phase.
//
//   par_false_sharing [threads [iterations]]    threads default 1 (at most 64); iterations default 400000000
//
// stdout: the iteration count and the counters' total (same for any thread count); stderr:
// "false_sharing: <threads> threads, <t> us/Miteration" (microseconds per million iterations, clock_gettime).
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAXT 64

static struct {
    volatile uint64_t counter[MAXT];
} page __attribute__((aligned(4096)));

static int nthreads = 1;
static long iters = 400000000;
static pthread_barrier_t barrier;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    long from = iters * id / nthreads, to = iters * (id + 1) / nthreads;
    pthread_barrier_wait(&barrier);
    for (long i = from; i < to; i++) page.counter[id] += (uint64_t)(i & 15) + 1;
    pthread_barrier_wait(&barrier);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) nthreads = atoi(argv[1]);
    if (argc > 2) iters = atol(argv[2]);
    if (nthreads < 1 || nthreads > MAXT || iters < 1) {
        fprintf(stderr, "usage: par_false_sharing [threads 1-%d [iterations]]\n", MAXT);
        return 2;
    }
    pthread_barrier_init(&barrier, NULL, nthreads + 1);
    pthread_t t[MAXT];
    for (int i = 0; i < nthreads; i++) pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    pthread_barrier_wait(&barrier);
    double start = now_s();
    pthread_barrier_wait(&barrier);
    double elapsed = now_s() - start;
    for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
    uint64_t total = 0;
    for (int i = 0; i < nthreads; i++) total += page.counter[i];
    printf("iterations %ld, total %llu\n", iters, (unsigned long long)total);
    fprintf(stderr, "false_sharing: %d threads, %.1f us/Miteration\n", nthreads, elapsed * 1e12 / iters);
    return 0;
}
