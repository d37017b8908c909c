// wild_addr's and wild_pc's faults taken by threads other than the first: on a cluster they run on other nodes, where
// a wild access, a jump to nowhere or a bad rt_sigreturn must stay that thread's own SIGSEGV (handled there) and never
// reach node 0's memory or end a node. The threads run one after another so the output has one order.
#define WILD_NO_MAIN
#include "wild_addr.c"
#include "wild_pc.c"
#include <pthread.h>

static void *worker(void *arg) {
    wild_setup_thread();
    printf("thread %ld\n", (long)(intptr_t)arg);
    wild_addr_tests();
    wild_pc_tests();
    fflush(stdout);
    return NULL;
}

int main(void) {
    wild_install_handlers();
    for (long i = 1; i <= 2; i++) {
        pthread_t t;
        pthread_create(&t, NULL, worker, (void *)i);
        pthread_join(t, NULL);
    }
    printf("done\n");
    return 0;
}
