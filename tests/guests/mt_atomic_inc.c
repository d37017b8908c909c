// 8 threads x 1,000,000 atomic increments of one shared counter (and a second counter with
// compare-and-swap loops): the total must be exact under true parallelism.
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define THREADS 8
#define ITERS 1000000

static uint64_t counter;
static uint32_t cas_counter;
static uint64_t per_thread[THREADS];

static void *work(void *arg) {
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < ITERS; i++) {
        __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
        if ((i & 7) == 0) {
            uint32_t old = __atomic_load_n(&cas_counter, __ATOMIC_RELAXED);
            while (!__atomic_compare_exchange_n(&cas_counter, &old, old + 1, 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            }
        }
        per_thread[id]++;
    }
    return NULL;
}

int main(void) {
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, work, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    uint64_t sum = 0;
    for (int i = 0; i < THREADS; i++) sum += per_thread[i];
    printf("counter=%llu cas=%u per-thread-sum=%llu\n", (unsigned long long)counter, cas_counter, (unsigned long long)sum);
    return counter == (uint64_t)THREADS * ITERS && cas_counter == THREADS * (ITERS / 8) ? 0 : 1;
}
