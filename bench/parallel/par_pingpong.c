// Hand-off latency: two threads pass a token back and forth through one pthread_mutex_t and one pthread_cond_t
// (a turn variable under the mutex; each thread waits on the condition variable until it is its turn, does its
// step, gives the turn to the other and signals). One round = one turn of each thread (two hand-offs). On a
// cluster the two threads land on different nodes, so every hand-off moves the page holding the mutex, the
// condition variable and the turn between nodes and wakes a futex waiter on the other node.
// Measures the time per round.
//
//   par_pingpong [threads [rounds]]     threads is accepted for uniformity with the other bench/parallel guests
//                                       and ignored: there are always exactly two worker threads (the main
//                                       thread only creates and joins them); rounds default 100000
//
// stdout: the round count, the shared counter both threads increment and a checksum both threads fold in turn
// (same for any thread count); stderr: "pingpong: <rounds> rounds, <t> us/round" (clock_gettime(CLOCK_MONOTONIC)).
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int turn;          // 0 or 1: whose turn it is
    uint64_t counter;  // incremented by each turn
    uint64_t checksum; // folded by each turn, in turn order
} shared __attribute__((aligned(4096))) = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};

static long rounds = 100000;
static pthread_barrier_t start_line;
static double elapsed_us;

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void *player(void *arg) {
    int me = (int)(intptr_t)arg;
    pthread_barrier_wait(&start_line);
    double start = now_us();
    for (long r = 0; r < rounds; r++) {
        pthread_mutex_lock(&shared.mutex);
        while (shared.turn != me) pthread_cond_wait(&shared.cond, &shared.mutex);
        shared.counter++;
        shared.checksum = (shared.checksum ^ (uint64_t)(2 * r + me + 1)) * 0x100000001b3ull;
        shared.turn = 1 - me;
        pthread_cond_signal(&shared.cond);
        pthread_mutex_unlock(&shared.mutex);
    }
    // player 1 takes the last turn of the last round
    if (me == 1) elapsed_us = now_us() - start;
    return NULL;
}

int main(int argc, char **argv) {
    // argv[1] (threads) is ignored: always two players
    if (argc > 2) rounds = atol(argv[2]);
    if (rounds < 0) rounds = 0;
    pthread_barrier_init(&start_line, NULL, 2);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, player, (void *)(intptr_t)i);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    printf("pingpong %ld rounds counter %llu checksum %016llx\n", rounds, (unsigned long long)shared.counter,
           (unsigned long long)shared.checksum);
    fprintf(stderr, "pingpong: %ld rounds, %.2f us/round\n", rounds, rounds ? elapsed_us / rounds : 0.0);
    return 0;
}
