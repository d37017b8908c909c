// Strided reads of data another thread wrote (data forwarding's read-ahead on a cluster): the main thread fills 600
// pages; one thread sums them page by page upwards, another downwards; then the main thread rewrites every third
// page (read-ahead copies taken away, some untouched) and both sum again. Each sum is checked against the formula.
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define PAGES 600
#define WORDS (4096 / 8)

static uint64_t *data;
static pthread_barrier_t barrier;
static uint64_t sums[2][2];

static uint64_t value(long page, long word, int round) { return (uint64_t)(page * 1000003 + word * 7 + round * 11); }

static void fill(int round, int every) {
    for (long p = 0; p < PAGES; p += every)
        for (long w = 0; w < WORDS; w++) data[p * WORDS + w] = value(p, w, round);
}

static uint64_t expected(int round) {
    uint64_t s = 0;
    for (long p = 0; p < PAGES; p++)
        for (long w = 0; w < WORDS; w++) s += value(p, w, round == 1 && p % 3 == 0 ? 1 : 0);
    return s;
}

static void *reader(void *arg) {
    int down = (int)(intptr_t)arg;
    for (int round = 0; round < 2; round++) {
        pthread_barrier_wait(&barrier);
        uint64_t s = 0;
        for (long i = 0; i < PAGES; i++) {
            long p = down ? PAGES - 1 - i : i;
            for (long w = 0; w < WORDS; w++) s += data[p * WORDS + w];
        }
        sums[down][round] = s;
        pthread_barrier_wait(&barrier);
    }
    return NULL;
}

int main(void) {
    data = aligned_alloc(4096, (size_t)PAGES * 4096);
    if (!data) return 1;
    fill(0, 1);
    pthread_barrier_init(&barrier, NULL, 3);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, reader, (void *)(intptr_t)i);
    pthread_barrier_wait(&barrier);   // round 0 reads
    pthread_barrier_wait(&barrier);
    fill(1, 3);                       // every third page rewritten
    pthread_barrier_wait(&barrier);   // round 1 reads
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    for (int round = 0; round < 2; round++)
        printf("round %d: up %s, down %s\n", round, sums[0][round] == expected(round) ? "ok" : "WRONG",
               sums[1][round] == expected(round) ? "ok" : "WRONG");
    return 0;
}
