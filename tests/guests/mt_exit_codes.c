// Every thread leaves by the plain exit system call (not exit_group): the main thread first, with
// status 5, then a worker with status 9. qemu-aarch64 (the reference) ends with the last thread's status.
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *worker(void *arg) {
    (void)arg;
    usleep(50000);
    syscall(SYS_exit, 9);
    return NULL;
}

int main(void) {
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    printf("main leaves first\n");
    fflush(stdout);
    syscall(SYS_exit, 5);
    return 0;
}
