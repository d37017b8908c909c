// Thread churn: 300 threads created and joined in waves, each returning a value; the main thread
// exits through pthread_exit while the last workers still run (the process ends when they do).
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static void *square(void *arg) {
    intptr_t v = (intptr_t)arg;
    return (void *)(v * v);
}

static void *late(void *arg) {
    (void)arg;
    usleep(30000);
    printf("late worker done\n");
    fflush(stdout);
    return NULL;
}

int main(void) {
    long long total = 0;
    for (int wave = 0; wave < 30; wave++) {
        pthread_t t[10];
        for (int i = 0; i < 10; i++) pthread_create(&t[i], NULL, square, (void *)(intptr_t)(wave * 10 + i));
        for (int i = 0; i < 10; i++) {
            void *r;
            pthread_join(t[i], &r);
            total += (intptr_t)r;
        }
    }
    printf("sum of squares 0..299 = %lld\n", total);
    fflush(stdout);
    pthread_t l;
    pthread_create(&l, NULL, late, NULL);
    pthread_exit(NULL);
}
