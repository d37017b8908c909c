// Barriers (4 threads, 2,000 rounds, each round checks every other thread's write) and a
// reader/writer lock (writers keep two fields equal; readers must never see them differ).
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define THREADS 4
#define ROUNDS 2000

static pthread_barrier_t bar;
static volatile int slots[THREADS];
static int barrier_errors;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long a, b;
static int torn_reads;
static long reads_done;
static pthread_mutex_t stat = PTHREAD_MUTEX_INITIALIZER;

static void *barrier_worker(void *arg) {
    int id = (int)(intptr_t)arg;
    int errors = 0;
    for (int r = 0; r < ROUNDS; r++) {
        slots[id] = r;
        pthread_barrier_wait(&bar);
        for (int i = 0; i < THREADS; i++)
            if (slots[i] != r) errors++;
        pthread_barrier_wait(&bar);
    }
    pthread_mutex_lock(&stat);
    barrier_errors += errors;
    pthread_mutex_unlock(&stat);
    return NULL;
}

static void *writer(void *arg) {
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        pthread_rwlock_wrlock(&rw);
        a++;
        b++;
        pthread_rwlock_unlock(&rw);
    }
    return NULL;
}

static void *reader(void *arg) {
    (void)arg;
    int torn = 0;
    long n = 0;
    for (int i = 0; i < 20000; i++) {
        pthread_rwlock_rdlock(&rw);
        if (a != b) torn++;
        n++;
        pthread_rwlock_unlock(&rw);
    }
    pthread_mutex_lock(&stat);
    torn_reads += torn;
    reads_done += n;
    pthread_mutex_unlock(&stat);
    return NULL;
}

int main(void) {
    pthread_t t[THREADS];
    pthread_barrier_init(&bar, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, barrier_worker, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    printf("barrier rounds=%d errors=%d\n", ROUNDS, barrier_errors);
    pthread_t w[2], r[3];
    for (int i = 0; i < 2; i++) pthread_create(&w[i], NULL, writer, NULL);
    for (int i = 0; i < 3; i++) pthread_create(&r[i], NULL, reader, NULL);
    for (int i = 0; i < 2; i++) pthread_join(w[i], NULL);
    for (int i = 0; i < 3; i++) pthread_join(r[i], NULL);
    printf("rwlock a=%ld b=%ld reads=%ld torn=%d\n", a, b, reads_done, torn_reads);
    return barrier_errors == 0 && torn_reads == 0 && a == 40000 ? 0 : 1;
}
