// Timed waits that time out (condition variable, semaphore, mutex), pthread_cancel of threads
// blocked in a condition wait and in sleep (cleanup handlers run, join sees PTHREAD_CANCELED),
// and detached threads.
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static volatile int cleanup_ran;
static volatile int detached_done;
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;

static struct timespec in_ms(int ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

static void cleanup(void *arg) { (void)arg; __atomic_fetch_add(&cleanup_ran, 1, __ATOMIC_SEQ_CST); }

static void *wait_forever(void *arg) {
    (void)arg;
    pthread_mutex_lock(&m);
    pthread_cleanup_push(cleanup, NULL);
    for (;;) pthread_cond_wait(&cv, &m);
    pthread_cleanup_pop(1);
    return NULL;
}

static void *sleep_forever(void *arg) {
    (void)arg;
    pthread_cleanup_push(cleanup, NULL);
    for (;;) sleep(100);
    pthread_cleanup_pop(1);
    return NULL;
}

static void *detached(void *arg) {
    (void)arg;
    __atomic_store_n(&detached_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void *try_locked(void *arg) {
    (void)arg;
    struct timespec ts = in_ms(50);
    return (void *)(long)pthread_mutex_timedlock(&held, &ts);
}

int main(void) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&m);
    struct timespec ts = in_ms(80);
    int rc = pthread_cond_timedwait(&cv, &m, &ts);
    pthread_mutex_unlock(&m);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long waited = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("cond_timedwait: %s, waited at least 80ms: %d\n", rc == ETIMEDOUT ? "ETIMEDOUT" : "other", waited >= 79);

    sem_t s;
    sem_init(&s, 0, 0);
    ts = in_ms(30);
    int r = sem_timedwait(&s, &ts);
    printf("sem_timedwait: %d errno %s\n", r, errno == ETIMEDOUT ? "ETIMEDOUT" : "other");

    pthread_mutex_lock(&held);
    pthread_t tl;
    void *tr;
    pthread_create(&tl, NULL, try_locked, NULL);
    pthread_join(tl, &tr);
    pthread_mutex_unlock(&held);
    printf("mutex_timedlock on held mutex: %s\n", (long)tr == ETIMEDOUT ? "ETIMEDOUT" : "other");

    pthread_t a, b;
    pthread_create(&a, NULL, wait_forever, NULL);
    pthread_create(&b, NULL, sleep_forever, NULL);
    usleep(50000);
    pthread_cancel(a);
    pthread_cancel(b);
    void *ra, *rb;
    pthread_join(a, &ra);
    pthread_join(b, &rb);
    printf("cancelled: %d %d, cleanup handlers ran: %d\n", ra == PTHREAD_CANCELED, rb == PTHREAD_CANCELED, cleanup_ran);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t d;
    pthread_create(&d, &attr, detached, NULL);
    for (int i = 0; i < 1000 && !__atomic_load_n(&detached_done, __ATOMIC_SEQ_CST); i++) usleep(1000);
    printf("detached thread ran: %d\n", detached_done);
    return 0;
}
