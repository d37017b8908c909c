// Semaphores (ping-pong between two threads, and a counting semaphore limiting concurrency)
// and thread-local storage (each thread's __thread variables are its own).
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>

static sem_t ping, pong, slots;
static int rally;
static int inside, max_inside;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static __thread int tls_counter = 100;
static __thread char tls_name[16];
static int tls_ok[6];

static void *pinger(void *arg) {
    (void)arg;
    for (int i = 0; i < 10000; i++) {
        sem_wait(&ping);
        rally++;
        sem_post(&pong);
    }
    return NULL;
}

static void *limited(void *arg) {
    int id = (int)(intptr_t)arg;
    snprintf(tls_name, sizeof tls_name, "worker-%d", id);
    for (int i = 0; i < 2000; i++) {
        sem_wait(&slots);
        pthread_mutex_lock(&m);
        inside++;
        if (inside > max_inside) max_inside = inside;
        pthread_mutex_unlock(&m);
        tls_counter += id;
        pthread_mutex_lock(&m);
        inside--;
        pthread_mutex_unlock(&m);
        sem_post(&slots);
    }
    char expect[16];
    snprintf(expect, sizeof expect, "worker-%d", id);
    int same = 1;
    for (int i = 0; expect[i] || tls_name[i]; i++) if (expect[i] != tls_name[i]) same = 0;
    tls_ok[id] = same && tls_counter == 100 + 2000 * id;
    return NULL;
}

int main(void) {
    sem_init(&ping, 0, 0);
    sem_init(&pong, 0, 0);
    sem_init(&slots, 0, 2);
    pthread_t t;
    pthread_create(&t, NULL, pinger, NULL);
    for (int i = 0; i < 10000; i++) {
        sem_post(&ping);
        sem_wait(&pong);
        rally++;
    }
    pthread_join(t, NULL);
    printf("rally=%d\n", rally);
    pthread_t w[6];
    for (int i = 0; i < 6; i++) pthread_create(&w[i], NULL, limited, (void *)(intptr_t)i);
    for (int i = 0; i < 6; i++) pthread_join(w[i], NULL);
    int all = 1;
    for (int i = 0; i < 6; i++) all &= tls_ok[i];
    printf("concurrency within limit 2: %d, tls per-thread ok=%d main tls=%d\n", max_inside >= 1 && max_inside <= 2, all, tls_counter);
    int v;
    sem_getvalue(&slots, &v);
    printf("semaphore value back to %d\n", v);
    return rally == 20000 && max_inside <= 2 && all ? 0 : 1;
}
