// One thread calls exit() while others are busy computing or blocked: the process ends at once
// with that status and stdio flushed.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile unsigned long spin_sink;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *spinner(void *arg) {
    (void)arg;
    for (;;) spin_sink++;
    return NULL;
}

static void *blocked(void *arg) {
    (void)arg;
    pthread_mutex_lock(&m);
    for (;;) pthread_cond_wait(&never, &m);
    return NULL;
}

static void *exiter(void *arg) {
    (void)arg;
    usleep(20000);
    printf("exiting from a worker thread\n");
    exit(7);
}

int main(void) {
    pthread_t t[4];
    pthread_create(&t[0], NULL, spinner, NULL);
    pthread_create(&t[1], NULL, spinner, NULL);
    pthread_create(&t[2], NULL, blocked, NULL);
    printf("workers started\n");
    fflush(stdout);
    pthread_create(&t[3], NULL, exiter, NULL);
    for (;;) pause();
}
