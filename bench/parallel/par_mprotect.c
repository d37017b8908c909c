// Layout-change latency while other threads compute: each thread grows a region of its own one page at a time with
// mprotect(PROT_READ | PROT_WRITE) and writes the new page, the way glibc grows a thread's malloc arena, with a fixed
// amount of computing between two growths. On a cluster the threads land on different nodes, so each mprotect is
// a layout change of the whole guest made while another node's CPU is busy. Measures the time of mprotect + the
// first write to the page, per call.
//
//   par_mprotect [threads [calls]]     threads default 2; calls (all threads together, default 400) are split
//                                      between the threads, so the total work stays the same
//
// stdout: the call count and a checksum of what the threads wrote (the same for any thread count); stderr:
// "mprotect: <calls> calls, <t> us/call" (clock_gettime(CLOCK_MONOTONIC), mean over all calls).
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static long calls = 400;
static int threads = 2;
static long page;
static double total_us[64];
static uint64_t sums[64];
static volatile uint64_t sink[64]; // keeps the computing alive (its value depends on the split)

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

// about a millisecond of arithmetic under dqemu-native (kept by sink[], not part of the checksum)
static uint64_t compute(uint64_t x) {
    for (int i = 0; i < 200000; i++) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x;
}

static void *grow(void *arg) {
    int me = (int)(intptr_t)arg;
    long mine = calls / threads + (me < calls % threads ? 1 : 0);
    long first = me * (calls / threads) + (me < calls % threads ? me : calls % threads);
    char *region = mmap(NULL, (size_t)(mine + 1) * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    uint64_t x = 1;
    for (long i = 0; i < mine; i++) {
        x = compute(x);
        double t0 = now_us();
        if (mprotect(region + i * page, (size_t)page, PROT_READ | PROT_WRITE) != 0) {
            perror("mprotect");
            exit(1);
        }
        region[i * page] = (char)(first + i);
        total_us[me] += now_us() - t0;
        sums[me] += (uint64_t)(unsigned char)region[i * page];
    }
    sink[me] = x;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) threads = atoi(argv[1]);
    if (argc > 2) calls = atol(argv[2]);
    if (threads < 1 || threads > 64 || calls < 1) {
        fprintf(stderr, "usage: par_mprotect [threads 1-64 [calls]]\n");
        return 2;
    }
    page = sysconf(_SC_PAGESIZE);
    pthread_t t[64];
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, grow, (void *)(intptr_t)i);
    double us = 0;
    uint64_t sum = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        us += total_us[i];
        sum += sums[i];
    }
    printf("calls %ld checksum %llu\n", calls, (unsigned long long)sum);
    fprintf(stderr, "mprotect: %ld calls, %.1f us/call\n", calls, us / calls);
    return 0;
}
