// A thread's data follows it when its node empties. main (node 0) maps 2 MiB and starts one worker, which asks to
// run on node 1 (dqemu's emulator-private syscall 0x4400, op 2 NODE), fills all 512 pages with a pattern of its
// own, then asks to run on node 0: node 1 has no guest thread left, so it hands the pages it holds over to node 0,
// which asks for all of them at once. The worker sleeps 300 ms (the burst lands meanwhile), then reads the pages
// in a scrambled order (no stride: read-ahead cannot guess it, each page not handed over costs a remote fault),
// checks every word and sums them. Under qemu-aarch64 and Linux the hints fail with ENOSYS and nothing moves; the
// output is the same everywhere.
//
//   mt_handover
//
// stdout: the sum and "ok" (or the first bad word); exit status 0 when every word is right.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define HINT_SYSCALL 0x4400
#define HINT_NODE 2
#define PAGES 512
#define PAGE 4096
#define WORDS (PAGE / sizeof(uint64_t))

static uint64_t *data;
static uint64_t sum;
static long bad = -1;

static uint64_t pattern(uint64_t page, uint64_t word) { return (page * 2654435761u) ^ (word * 40503u) ^ 0x5a5a; }

static void *worker(void *arg)
{
    (void)arg;
    syscall(HINT_SYSCALL, HINT_NODE, 1);
    for (uint64_t p = 0; p < PAGES; p++)
        for (uint64_t w = 0; w < WORDS; w++) data[p * WORDS + w] = pattern(p, w);
    syscall(HINT_SYSCALL, HINT_NODE, 0);
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    // 167 is odd, so p -> p * 167 mod 512 visits every page once, 167 pages apart
    for (uint64_t i = 0; i < PAGES; i++) {
        uint64_t p = (i * 167) % PAGES;
        for (uint64_t w = 0; w < WORDS; w++) {
            uint64_t v = data[p * WORDS + w];
            if (v != pattern(p, w) && bad < 0) bad = (long)(p * WORDS + w);
            sum += v;
        }
    }
    return NULL;
}

int main(void)
{
    data = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0) return 2;
    pthread_join(t, NULL);
    printf("sum %llu\n", (unsigned long long)sum);
    if (bad >= 0) {
        printf("MISMATCH at word %ld\n", bad);
        return 1;
    }
    printf("ok\n");
    return 0;
}
