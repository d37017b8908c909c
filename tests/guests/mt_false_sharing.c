// Page-level false sharing, and everything that must stay exact when a cluster splits such a page into units:
// 4 threads each increment their own one of 4 adjacent counters on one page (on a cluster the page ping-pongs
// between nodes until it is split), while on the same page live a counter every thread adds to atomically (LSE or
// exclusives), a mutex-protected total (a futex word), a barrier, a block copied with memcpy across unit boundaries
// (the page merges back) and a buffer a read() syscall fills (managed code writes the page: it merges back). Six
// rounds, so the page splits and merges again. The totals and checksums are known in advance.
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define THREADS 4
#define ROUNDS 6
#define ITERS 150000

static struct {
    volatile uint64_t counter[THREADS];
    uint64_t atomic_total;
    pthread_mutex_t lock;
    uint64_t locked_total;
    pthread_barrier_t barrier;
    unsigned char block[200];
    unsigned char buf[64];
} page __attribute__((aligned(4096)));

static int pipefd[2];
static uint64_t block_sum, buf_sum;

static void *work(void *arg) {
    int id = (int)(intptr_t)arg;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < ITERS; i++) {
            page.counter[id] += (uint64_t)(i & 7) + 1;
            if (i % 1000 == 0) __atomic_fetch_add(&page.atomic_total, (uint64_t)id + 1, __ATOMIC_RELAXED);
            if (i % 15000 == 0) {
                pthread_mutex_lock(&page.lock);
                page.locked_total += (uint64_t)(r + 1) * (id + 1);
                pthread_mutex_unlock(&page.lock);
            }
        }
        pthread_barrier_wait(&page.barrier);
        if (id == r % THREADS) {
            unsigned char src[200];
            for (int k = 0; k < 200; k++) src[k] = (unsigned char)(k * 7 + r);
            memcpy(page.block, src, sizeof src);
            for (int k = 0; k < 200; k++) block_sum += page.block[k];
            unsigned char msg[64];
            for (int k = 0; k < 64; k++) msg[k] = (unsigned char)(k + 3 * r);
            if (write(pipefd[1], msg, sizeof msg) != sizeof msg || read(pipefd[0], page.buf, sizeof page.buf) != sizeof page.buf)
                printf("pipe failed\n");
            for (int k = 0; k < 64; k++) buf_sum += page.buf[k];
        }
        pthread_barrier_wait(&page.barrier);
    }
    return NULL;
}

int main(void) {
    if (pipe(pipefd) != 0) return 1;
    pthread_mutex_init(&page.lock, NULL);
    pthread_barrier_init(&page.barrier, NULL, THREADS);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, work, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    // per round and thread: sum over i of (i & 7) + 1 = 150000 / 8 * 36 = 675000
    for (int i = 0; i < THREADS; i++) printf("counter %d: %llu (expected %d)\n", i, (unsigned long long)page.counter[i], ROUNDS * 675000);
    printf("atomic total: %llu (expected %d)\n", (unsigned long long)page.atomic_total, ROUNDS * 150 * (1 + 2 + 3 + 4));
    printf("locked total: %llu (expected %d)\n", (unsigned long long)page.locked_total, 10 * 10 * 21);
    printf("block sum %llu, buffer sum %llu\n", (unsigned long long)block_sum, (unsigned long long)buf_sum);
    return 0;
}
