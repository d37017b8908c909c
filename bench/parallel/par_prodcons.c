// Data forwarding with wakes: a producer thread fills a multi-page buffer, then wakes a consumer thread through a
// mutex and a condition variable; the consumer reads every word of it (checking each against the formula and
// folding it into a checksum) and gives the buffer back the same way. Double buffering: 2 buffers, so the producer
// fills one while the consumer reads the other. On a cluster the two threads run on different nodes (the consumer
// is created first: round-robin placement puts it on node 1, the producer on node 0), so every round is a futex
// wake across nodes followed by reads of pages last written on the other node; the pages written before the wake
// should travel with the wake instead of one fault each. The mutex, the condition variable and the flags live on a
// page of their own. Always 2 threads (a fixed thread count; the main thread only creates, times and joins them).
// Measures the rounds, between two barriers (one round = one buffer filled, handed over, read and given back).
//
//   par_prodcons [rounds [pages]]    rounds default 2000; pages per buffer default 8 (1 to 64)
//
// stdout: the rounds, the pages per buffer, the consumer's checksum and the number of words that differed from
// the formula (0), the same on every run; stderr: "prodcons: <rounds> rounds, pages per buffer <pages>,
// <t> us/round" (clock_gettime(CLOCK_MONOTONIC)); exit status 1 if any word differed.
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAXPAGES 64

static uint64_t *buffer[2];
static long rounds = 2000, words;
static pthread_barrier_t barrier;
static uint64_t checksum, mismatches;

static struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int full[2]; // under the mutex: 1 from hand-over to give-back
} sync_page __attribute__((aligned(4096))) = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0, 0}};

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static uint64_t value(long r, long i) { return ((uint64_t)r << 32 | (uint64_t)i) * 0x9e3779b97f4a7c15ull ^ 0x5bd1e995ull; }

// Both threads wait on the one condition variable, so pthread_cond_signal wakes the right one: the producer can
// only wait for a buffer the consumer still holds and the consumer only for one the producer has not handed over
// yet, which cannot both be true at once; so while one thread signals, only the other can be waiting.
static void wait_flag(int b, int until) {
    pthread_mutex_lock(&sync_page.mutex);
    while (sync_page.full[b] != until) pthread_cond_wait(&sync_page.cond, &sync_page.mutex);
    pthread_mutex_unlock(&sync_page.mutex);
}

static void set_flag(int b, int to) {
    pthread_mutex_lock(&sync_page.mutex);
    sync_page.full[b] = to;
    pthread_cond_signal(&sync_page.cond);
    pthread_mutex_unlock(&sync_page.mutex);
}

static void *producer(void *arg) {
    (void)arg;
    pthread_barrier_wait(&barrier);
    for (long r = 0; r < rounds; r++) {
        int b = (int)(r % 2);
        wait_flag(b, 0); // free
        uint64_t *p = buffer[b];
        for (long i = 0; i < words; i++) p[i] = value(r, i);
        set_flag(b, 1); // full: wakes the consumer
    }
    pthread_barrier_wait(&barrier);
    return NULL;
}

static void *consumer(void *arg) {
    (void)arg;
    uint64_t h = 0, bad = 0;
    pthread_barrier_wait(&barrier);
    for (long r = 0; r < rounds; r++) {
        int b = (int)(r % 2);
        wait_flag(b, 1);
        const uint64_t *p = buffer[b];
        for (long i = 0; i < words; i++) {
            uint64_t v = p[i];
            bad += v != value(r, i);
            h = ((h << 7 | h >> 57) ^ v) * 0x100000001b3ull;
        }
        set_flag(b, 0);
    }
    pthread_barrier_wait(&barrier);
    checksum = h;
    mismatches = bad;
    return NULL;
}

int main(int argc, char **argv) {
    long pages = 8;
    if (argc > 1) rounds = atol(argv[1]);
    if (argc > 2) pages = atol(argv[2]);
    if (rounds < 1 || pages < 1 || pages > MAXPAGES) {
        fprintf(stderr, "usage: par_prodcons [rounds (at least 1) [pages per buffer 1-%d]]\n", MAXPAGES);
        return 2;
    }
    words = pages * 4096 / 8;
    for (int b = 0; b < 2; b++)
        if (!(buffer[b] = aligned_alloc(4096, (size_t)pages * 4096))) return 1;
    pthread_barrier_init(&barrier, NULL, 3);
    pthread_t c, p;
    if (pthread_create(&c, NULL, consumer, NULL) != 0 || pthread_create(&p, NULL, producer, NULL) != 0) return 1;
    pthread_barrier_wait(&barrier);
    double start = now_us();
    pthread_barrier_wait(&barrier);
    double elapsed = now_us() - start;
    pthread_join(c, NULL);
    pthread_join(p, NULL);
    printf("rounds %ld, pages per buffer %ld, checksum %016llx, mismatched words %llu\n", rounds, pages,
           (unsigned long long)checksum, (unsigned long long)mismatches);
    fprintf(stderr, "prodcons: %ld rounds, pages per buffer %ld, %.1f us/round\n", rounds, pages, elapsed / rounds);
    return mismatches == 0 ? 0 : 1;
}
