// Data forwarding with wakes: a producer thread fills a multi-page buffer and then wakes a consumer thread, which
// reads all of it. On a cluster the two threads run on different nodes (the consumer is created first: round-robin
// placement puts it on node 1, the producer on node 0), so every hand-over is a futex wake from one node to the
// other, and the pages written just before the wake should travel with it instead of being fetched one fault at a
// time afterwards. Double buffering: 2 buffers of 8 pages each; in round r (300 rounds) the producer waits until
// buffer r%2 is free, writes every 8-byte word of its 8 pages (a formula of r and the word's index), hands it over;
// the consumer waits for it, checks every word against the formula, folds it into a checksum and gives the buffer
// back. The hand-over rotates over three kinds of futex wakes (r%3): a mutex with a condition variable, POSIX
// semaphores (sem_post / sem_wait) and a pthread barrier of 2, each kind carrying both the "full" and the "free"
// signal of its rounds. The synchronisation objects live on a page of their own, away from the buffers. Whatever
// the interleaving, every word read must be the one written in that round (a stale page left from round r-2, a
// page seen half written, or a lost wake shows up as a mismatch, a wrong checksum or a hang); main recomputes the
// checksum single-threaded after joining. The rounds, the checksum and the per-kind counts are known in advance.
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>

#define ROUNDS 300
#define PAGES 8
#define WORDS (PAGES * 4096 / 8) // per buffer
#define KINDS 3

static uint64_t buffer[2][WORDS] __attribute__((aligned(4096)));

static struct {
    // kind 0: rounds handed over ("full") and given back ("free") so far, as round number + 1, under the mutex
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    long full_upto, free_upto;
    // kind 1: one post per hand-over of that kind, in round order on both sides
    sem_t full_sem, free_sem;
    // kind 2: one rendezvous for the hand-over, one for the give-back
    pthread_barrier_t barrier;
} sync_page __attribute__((aligned(4096)));

static const char *const kind_name[KINDS] = {"mutex+condvar", "semaphore", "barrier"};
static uint64_t consumer_checksum, mismatches, kind_rounds[KINDS];

static uint64_t value(long r, long i) { return ((uint64_t)r << 32 | (uint64_t)i) * 0x9e3779b97f4a7c15ull ^ 0x5bd1e995ull; }
static uint64_t fold(uint64_t h, uint64_t v) { return ((h << 7 | h >> 57) ^ v) * 0x100000001b3ull; }

// the producer's half of a hand-over: buffer of round r is full
static void hand_over(long r) {
    switch (r % KINDS) {
    case 0:
        pthread_mutex_lock(&sync_page.mutex);
        sync_page.full_upto = r + 1;
        pthread_cond_signal(&sync_page.cond);
        pthread_mutex_unlock(&sync_page.mutex);
        break;
    case 1: sem_post(&sync_page.full_sem); break;
    default: pthread_barrier_wait(&sync_page.barrier); break;
    }
}

// the consumer's half: wait until the buffer of round r is full
static void wait_full(long r) {
    switch (r % KINDS) {
    case 0:
        pthread_mutex_lock(&sync_page.mutex);
        while (sync_page.full_upto < r + 1) pthread_cond_wait(&sync_page.cond, &sync_page.mutex);
        pthread_mutex_unlock(&sync_page.mutex);
        break;
    case 1:
        while (sem_wait(&sync_page.full_sem) != 0) {} // EINTR: try again
        break;
    default: pthread_barrier_wait(&sync_page.barrier); break;
    }
}

// the consumer gives back the buffer of round r (only when the producer will wait for it: rounds r + 2 < ROUNDS)
static void give_back(long r) {
    switch (r % KINDS) {
    case 0:
        pthread_mutex_lock(&sync_page.mutex);
        sync_page.free_upto = r + 1;
        pthread_cond_signal(&sync_page.cond);
        pthread_mutex_unlock(&sync_page.mutex);
        break;
    case 1: sem_post(&sync_page.free_sem); break;
    default: pthread_barrier_wait(&sync_page.barrier); break;
    }
}

// the producer waits until the buffer of round r has been given back (before reusing it in round r + 2)
static void wait_free(long r) {
    switch (r % KINDS) {
    case 0:
        pthread_mutex_lock(&sync_page.mutex);
        while (sync_page.free_upto < r + 1) pthread_cond_wait(&sync_page.cond, &sync_page.mutex);
        pthread_mutex_unlock(&sync_page.mutex);
        break;
    case 1:
        while (sem_wait(&sync_page.free_sem) != 0) {}
        break;
    default: pthread_barrier_wait(&sync_page.barrier); break;
    }
}

static void *producer(void *arg) {
    (void)arg;
    for (long r = 0; r < ROUNDS; r++) {
        if (r >= 2) wait_free(r - 2);
        uint64_t *b = buffer[r % 2];
        for (long i = 0; i < WORDS; i++) b[i] = value(r, i);
        hand_over(r);
    }
    return NULL;
}

static void *consumer(void *arg) {
    (void)arg;
    uint64_t h = 0, bad = 0;
    for (long r = 0; r < ROUNDS; r++) {
        wait_full(r);
        kind_rounds[r % KINDS]++;
        const uint64_t *b = buffer[r % 2];
        for (long i = 0; i < WORDS; i++) {
            uint64_t v = b[i];
            bad += v != value(r, i);
            h = fold(h, v);
        }
        if (r + 2 < ROUNDS) give_back(r);
    }
    consumer_checksum = h;
    mismatches = bad;
    return NULL;
}

int main(void) {
    pthread_mutex_init(&sync_page.mutex, NULL);
    pthread_cond_init(&sync_page.cond, NULL);
    sem_init(&sync_page.full_sem, 0, 0);
    sem_init(&sync_page.free_sem, 0, 0);
    pthread_barrier_init(&sync_page.barrier, NULL, 2);
    pthread_t c, p;
    if (pthread_create(&c, NULL, consumer, NULL) != 0 || pthread_create(&p, NULL, producer, NULL) != 0) return 1;
    pthread_join(c, NULL);
    pthread_join(p, NULL);

    uint64_t expected = 0;
    for (long r = 0; r < ROUNDS; r++)
        for (long i = 0; i < WORDS; i++) expected = fold(expected, value(r, i));
    int ok = consumer_checksum == expected && mismatches == 0;
    printf("rounds %d, %d buffers of %d pages\n", ROUNDS, 2, PAGES);
    printf("checksum %016llx %s\n", (unsigned long long)consumer_checksum, consumer_checksum == expected ? "ok" : "MISMATCH");
    printf("mismatched words %llu (expected 0)\n", (unsigned long long)mismatches);
    for (int k = 0; k < KINDS; k++) {
        printf("%s hand-overs: %llu (expected %d)\n", kind_name[k], (unsigned long long)kind_rounds[k], ROUNDS / KINDS);
        ok &= kind_rounds[k] == ROUNDS / KINDS;
    }
    return ok ? 0 : 1;
}
