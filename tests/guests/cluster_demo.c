// Demo guest for `./build.sh run` on a 2-node cluster: four threads count the primes below 2,000,000 in
// interleaved blocks and meet under a mutex; with --cluster they run on both nodes (see the per-node stats).
#include <pthread.h>
#include <stdio.h>

#define LIMIT 2000000
#define THREADS 4
#define BLOCK 10000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long total;
static long per_thread[THREADS];

static int is_prime(long n) {
    if (n < 2) return 0;
    for (long d = 2; d * d <= n; d++)
        if (n % d == 0) return 0;
    return 1;
}

static void *worker(void *arg) {
    long id = (long)arg, mine = 0;
    for (long start = id * BLOCK; start < LIMIT; start += THREADS * BLOCK)
        for (long n = start; n < start + BLOCK && n < LIMIT; n++) mine += is_prime(n);
    pthread_mutex_lock(&lock);
    total += mine;
    per_thread[id] = mine;
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(void) {
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++) printf("thread %d counted %ld primes\n", i, per_thread[i]);
    printf("primes below %d: %ld (expected 148933)\n", LIMIT, total);
    return total == 148933 ? 0 : 1;
}
