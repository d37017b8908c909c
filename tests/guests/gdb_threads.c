// A threaded guest for GdbStubTests: three threads meet the main thread at a barrier, so when gdb stops in
// all_ready() every thread exists (four in `info threads`); then each thread runs worker(), where gdb stops again.
// CFLAGS: -g -O0
#include <pthread.h>
#include <stdio.h>

static pthread_barrier_t barrier;
static volatile int done[3];

__attribute__((noinline)) void worker(int id)
{
    done[id] = id + 1;
}

__attribute__((noinline)) void all_ready(void)
{
    __asm__ volatile("" ::: "memory");
}

static void *run(void *arg)
{
    int id = (int)(long)arg;
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier);
    worker(id);
    return NULL;
}

int main(void)
{
    pthread_t t[3];
    pthread_barrier_init(&barrier, NULL, 4);
    for (long i = 0; i < 3; i++) pthread_create(&t[i], NULL, run, (void *)i);
    pthread_barrier_wait(&barrier);
    all_ready();
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    printf("done %d %d %d\n", done[0], done[1], done[2]);
    return 0;
}
