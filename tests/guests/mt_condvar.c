// Producer/consumer over a bounded buffer with condition variables: 2 producers, 3 consumers,
// 100,000 items; every item is consumed exactly once.
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define ITEMS 100000
#define PRODUCERS 2
#define CONSUMERS 3
#define CAP 16

static int buf[CAP];
static int head, tail, count, produced_done;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static uint64_t consumed_sum[CONSUMERS], consumed_n[CONSUMERS];

static void *producer(void *arg) {
    int id = (int)(intptr_t)arg;
    for (int i = id; i < ITEMS; i += PRODUCERS) {
        pthread_mutex_lock(&m);
        while (count == CAP) pthread_cond_wait(&not_full, &m);
        buf[tail] = i + 1;
        tail = (tail + 1) % CAP;
        count++;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&m);
    }
    pthread_mutex_lock(&m);
    produced_done++;
    pthread_cond_broadcast(&not_empty);
    pthread_mutex_unlock(&m);
    return NULL;
}

static void *consumer(void *arg) {
    int id = (int)(intptr_t)arg;
    for (;;) {
        pthread_mutex_lock(&m);
        while (count == 0 && produced_done < PRODUCERS) pthread_cond_wait(&not_empty, &m);
        if (count == 0) {
            pthread_mutex_unlock(&m);
            return NULL;
        }
        int v = buf[head];
        head = (head + 1) % CAP;
        count--;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&m);
        consumed_sum[id] += (uint64_t)v;
        consumed_n[id]++;
    }
}

int main(void) {
    pthread_t p[PRODUCERS], c[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++) pthread_create(&c[i], NULL, consumer, (void *)(intptr_t)i);
    for (int i = 0; i < PRODUCERS; i++) pthread_create(&p[i], NULL, producer, (void *)(intptr_t)i);
    for (int i = 0; i < PRODUCERS; i++) pthread_join(p[i], NULL);
    for (int i = 0; i < CONSUMERS; i++) pthread_join(c[i], NULL);
    uint64_t sum = 0, n = 0;
    for (int i = 0; i < CONSUMERS; i++) { sum += consumed_sum[i]; n += consumed_n[i]; }
    printf("consumed %llu items, sum %llu (expected %llu)\n", (unsigned long long)n, (unsigned long long)sum,
           (unsigned long long)ITEMS * (ITEMS + 1) / 2);
    return n == ITEMS && sum == (uint64_t)ITEMS * (ITEMS + 1) / 2 ? 0 : 1;
}
