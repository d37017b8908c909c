// Layout changes made by one thread and used by the others at once, with three threads that a cluster places on
// different nodes (round-robin: main on node 0, the two workers on nodes 1 and 2, or 1 and 0): mprotect that only
// adds rights (which node 0 does not copy to the other nodes; they learn it when an access would be denied) from
// node 0 and from a worker, for data, code (PROT_EXEC added to a page with fresh instructions), a syscall buffer and
// a futex word; mprotect that takes rights away (a write then raises SIGSEGV, caught on every node); munmap. Every
// result is recorded in a table and printed by main in a fixed order, so the output does not depend on scheduling.
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>

#define THREADS 3
#define PAGES 8

static pthread_barrier_t step;
static char *region;
static long page;
static long result[16][THREADS];
static __thread sigjmp_buf fault_jump;
static __thread volatile int expect_fault;

static void on_segv(int sig) {
    (void)sig;
    if (expect_fault) siglongjmp(fault_jump, 1);
    _exit(99);
}

static char *pg(int i) { return region + i * page; }

// 1 when the access to p succeeded (a write of *value, or a read into *value), 0 when it raised SIGSEGV
static int try_access(volatile char *p, char *value, int write) {
    expect_fault = 1;
    if (sigsetjmp(fault_jump, 1)) {
        expect_fault = 0;
        return 0;
    }
    if (write) *p = *value;
    else *value = *p;
    expect_fault = 0;
    return 1;
}

static int try_write(volatile char *p, char value) { return try_access(p, &value, 1); }

static int try_read(volatile char *p, char *out) { return try_access(p, out, 0); }

typedef int (*fn_t)(void);

static void run(int me) {
    char c;
    // 1: thread 1 maps the region, nothing accessible
    if (me == 1) region = mmap(NULL, PAGES * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pthread_barrier_wait(&step);
    // 2: main (node 0) makes page 0 writable and writes; everyone reads it and writes its own byte
    if (me == 0) {
        result[0][0] = mprotect(pg(0), page, PROT_READ | PROT_WRITE);
        pg(0)[0] = 'A';
    }
    pthread_barrier_wait(&step);
    result[1][me] = try_read(pg(0), &c) ? c : -1;
    result[2][me] = try_write(pg(0) + 1 + me, (char)('a' + me));
    pthread_barrier_wait(&step);
    // 3: thread 1 (a worker) makes page 1 writable; the others write after it
    if (me == 1) {
        result[0][1] = mprotect(pg(1), page, PROT_READ | PROT_WRITE);
        pg(1)[0] = 'B';
    }
    pthread_barrier_wait(&step);
    result[3][me] = try_write(pg(1) + 1 + me, (char)('x' + me));
    pthread_barrier_wait(&step);
    if (me == 0) result[4][0] = (pg(1)[0] << 24) | (pg(1)[1] << 16) | (pg(1)[2] << 8) | pg(1)[3];
    // 4: thread 2 takes writing away from page 0: every write faults, reads still work
    if (me == 2) result[0][2] = mprotect(pg(0), page, PROT_READ);
    pthread_barrier_wait(&step);
    result[5][me] = try_write(pg(0) + 8, 'z');
    result[6][me] = try_read(pg(0) + 1 + me, &c) ? c : -1;
    pthread_barrier_wait(&step);
    // 5: main gives it back; every write works again
    if (me == 0) mprotect(pg(0), page, PROT_READ | PROT_WRITE);
    pthread_barrier_wait(&step);
    result[7][me] = try_write(pg(0) + 16 + me, 'w');
    pthread_barrier_wait(&step);
    // 6: thread 1 writes a function (mov w0, #42; ret) into page 2 and adds PROT_EXEC; everyone calls it
    if (me == 1) {
        mprotect(pg(2), page, PROT_READ | PROT_WRITE);
        uint32_t code[2] = {0x52800540u, 0xd65f03c0u};
        memcpy(pg(2), code, sizeof code);
        __builtin___clear_cache(pg(2), pg(2) + sizeof code);
        result[0][1] += 10 * mprotect(pg(2), page, PROT_READ | PROT_WRITE | PROT_EXEC);
    }
    pthread_barrier_wait(&step);
    result[8][me] = ((fn_t)(void *)pg(2))();
    pthread_barrier_wait(&step);
    // 7: main makes page 3 writable; each thread hands it to the kernel as a buffer (clock_gettime, uname)
    if (me == 0) mprotect(pg(3), page, PROT_READ | PROT_WRITE);
    pthread_barrier_wait(&step);
    if (me != 0) {
        struct timespec *ts = (struct timespec *)(pg(3) + 64 * me);
        result[9][me] = syscall(SYS_clock_gettime, CLOCK_MONOTONIC, ts) == 0 && (ts->tv_sec != 0 || ts->tv_nsec != 0);
    }
    pthread_barrier_wait(&step);
    // 8: thread 2 makes page 4 writable; the others wake nobody on a futex word there (0 woken, not EFAULT)
    if (me == 2) mprotect(pg(4), page, PROT_READ | PROT_WRITE);
    pthread_barrier_wait(&step);
    if (me != 2) result[10][me] = syscall(SYS_futex, (int *)pg(4), FUTEX_WAKE, 1, NULL, NULL, 0);
    pthread_barrier_wait(&step);
    // 9: thread 2 unmaps the region: reads fault everywhere
    if (me == 2) result[0][2] += 10 * munmap(region, PAGES * page);
    pthread_barrier_wait(&step);
    result[11][me] = try_read(pg(0), &c);
    pthread_barrier_wait(&step);
}

static void *worker(void *arg) {
    run((int)(intptr_t)arg);
    return NULL;
}

int main(void) {
    page = sysconf(_SC_PAGESIZE);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_segv;
    sigaction(SIGSEGV, &sa, NULL);
    pthread_barrier_init(&step, NULL, THREADS);
    pthread_t t[THREADS];
    for (int i = 1; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    run(0);
    for (int i = 1; i < THREADS; i++) pthread_join(t[i], NULL);
    static const char *what[] = {
        "mprotect/munmap results (main, thread 1, thread 2)",
        "read page 0 after main added rw",
        "write page 0",
        "write page 1 after thread 1 added rw",
        "page 1 bytes 0-3 (seen by main)",
        "write page 0 after thread 2 made it read-only",
        "read page 0 after thread 2 made it read-only",
        "write page 0 after main added rw again",
        "call the function thread 1 wrote (exec added)",
        "clock_gettime into page 3 after main added rw",
        "futex wake on page 4 after thread 2 added rw",
        "read page 0 after thread 2 unmapped the region",
    };
    for (int r = 0; r < 12; r++) {
        printf("%s:", what[r]);
        for (int i = 0; i < THREADS; i++) printf(" %ld", result[r][i]);
        printf("\n");
    }
    return 0;
}
