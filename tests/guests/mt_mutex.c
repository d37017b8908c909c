// A mutex-protected counter and a spinlock-protected one, 4 threads each.
#include <pthread.h>
#include <stdio.h>

#define THREADS 4
#define ITERS 200000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_spinlock_t spin;
static long counter, spin_counter;
static long recursive_depth_max;
static pthread_mutex_t rec;

static void *work(void *arg) {
    (void)arg;
    for (int i = 0; i < ITERS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        pthread_spin_lock(&spin);
        spin_counter++;
        pthread_spin_unlock(&spin);
        if ((i % 1000) == 0) {
            pthread_mutex_lock(&rec);
            pthread_mutex_lock(&rec);
            recursive_depth_max = 2;
            pthread_mutex_unlock(&rec);
            pthread_mutex_unlock(&rec);
        }
    }
    return NULL;
}

int main(void) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&rec, &a);
    pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, work, NULL);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    printf("mutex counter=%ld spin counter=%ld recursive=%ld\n", counter, spin_counter, recursive_depth_max);
    printf("trylock on free mutex: %d\n", pthread_mutex_trylock(&lock));
    pthread_mutex_unlock(&lock);
    return counter == (long)THREADS * ITERS && spin_counter == (long)THREADS * ITERS ? 0 : 1;
}
