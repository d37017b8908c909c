// Threads (one after another, so the output has one order) writing numbered lines to stdout with write(2), N per
// thread (argv[1], default 100). The cluster fault tests run it with stdout on /dev/full (every write fails with
// ENOSPC: the guest counts failures and exits with how many threads saw one) and into a pipe whose reader goes away
// (SIGPIPE ends the guest, status 141, as on Linux); on a cluster the second thread writes from another node.
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long lines = 100;
static int failed_threads;

static void *writer(void *arg) {
    long id = (long)arg;
    int failures = 0;
    char buf[64];
    for (long i = 0; i < lines; i++) {
        int n = snprintf(buf, sizeof buf, "thread %ld line %ld\n", id, i);
        if (write(1, buf, (size_t)n) != n) failures++;
    }
    if (failures) __atomic_add_fetch(&failed_threads, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) lines = atol(argv[1]);
    for (long t = 1; t <= 2; t++) {
        pthread_t th;
        pthread_create(&th, NULL, writer, (void *)t);
        pthread_join(th, NULL);
    }
    return failed_threads;
}
