// Strided writes to pages another thread holds (data forwarding's read-ahead for writing on a cluster): the main
// thread fills 600 pages; a second thread rewrites them page by page upwards (on a cluster it runs on node 1, so each
// page must be taken from node 0 for writing); the main thread then sums them downwards (node 1's copies become
// shared) and the thread rewrites them upwards once more (each write now takes the main thread's copy away: an
// upgrade). The main thread checks each sum against the formula.
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define PAGES 600
#define WORDS (4096 / 8)

static uint64_t *data;
static pthread_barrier_t barrier;

static uint64_t value(long page, long word, int round) { return (uint64_t)(page * 1000003 + word * 7 + round * 11); }

static void fill(int round) {
    for (long p = 0; p < PAGES; p++)
        for (long w = 0; w < WORDS; w++) data[p * WORDS + w] = value(p, w, round);
}

static int check(int round) {
    uint64_t s = 0, want = 0;
    for (long p = PAGES - 1; p >= 0; p--)
        for (long w = 0; w < WORDS; w++) {
            s += data[p * WORDS + w];
            want += value(p, w, round);
        }
    return s == want;
}

static void *writer(void *arg) {
    (void)arg;
    for (int round = 1; round <= 2; round++) {
        pthread_barrier_wait(&barrier);
        fill(round);
        pthread_barrier_wait(&barrier);
    }
    return NULL;
}

int main(void) {
    data = aligned_alloc(4096, (size_t)PAGES * 4096);
    if (!data) return 1;
    fill(0);
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_t t;
    if (pthread_create(&t, NULL, writer, NULL) != 0) return 1;
    for (int round = 1; round <= 2; round++) {
        pthread_barrier_wait(&barrier); // the writer rewrites every page
        pthread_barrier_wait(&barrier);
        printf("round %d: %s\n", round, check(round) ? "ok" : "WRONG");
    }
    pthread_join(t, NULL);
    return 0;
}
