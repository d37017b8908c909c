// Every thread leaves by the plain exit system call (not exit_group): the main thread first, with
// status 5, then a worker with status 9. qemu-aarch64 (the reference) ends with the last thread's status.
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

// Set by main just before it leaves: the worker's own exit must come second even when the machine is so loaded
// that main is kept off the CPU for longer than a fixed sleep (seen once in a full test run).
static volatile int main_leaving;

static void *worker(void *arg) {
    (void)arg;
    while (!main_leaving) usleep(1000);
    usleep(50000);
    syscall(SYS_exit, 9);
    return NULL;
}

int main(void) {
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    printf("main leaves first\n");
    fflush(stdout);
    main_leaving = 1;
    syscall(SYS_exit, 5);
    return 0;
}
