// A worker thread dies of SIGSEGV (no handler) while the main thread waits in pthread_join: the whole process
// ends with 128+11 and the output written before survives; on a cluster the thread may be on another node.
#include <pthread.h>
#include <stdio.h>

static volatile int *volatile nowhere;

static void *crash(void *arg) {
    (void)arg;
    printf("worker about to fault\n");
    fflush(stdout);
    *nowhere = 42;
    return NULL;
}

int main(void) {
    pthread_t t;
    printf("main started\n");
    fflush(stdout);
    pthread_create(&t, NULL, crash, NULL);
    pthread_join(t, NULL);
    printf("not reached\n");
    return 0;
}
