// Nearest-neighbour sharing: a 1-D 3-point Jacobi stencil on doubles, double-buffered (two arrays, each aligned
// to 4 KiB), split over N threads in contiguous slices of whole 4 KiB pages (512 doubles); a pthread barrier after
// every step, so in every step each thread reads the edge cells its neighbours wrote in the step before (on a
// cluster: one page per slice edge per step crosses between nodes). Both ends are fixed boundary values.
// Measures the time per step (stencil steps, initialisation excluded).
//
//   par_stencil [threads [cells [steps]]]     threads default 1 (at most 64, and at most one per page);
//                                             cells default 786432 (1536 pages, 6 MiB per array; rounded up to
//                                             a whole number of pages); steps default 600
//
// The total work is fixed; only the number of threads changes. Slices are as equal as whole pages allow.
// Every cell is updated by the same expression whatever the split, so the result is bit-identical for any thread
// count. stdout: the size and a hash of the final array's bits plus its sum (same for any thread count);
// stderr: "stencil: <steps> steps, <t> us/step" (clock_gettime(CLOCK_MONOTONIC)).
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE_CELLS (4096 / sizeof(double))
#define MAXT 64

static long ncells, nsteps;
static int nthreads = 1;
static double *buf[2];
static pthread_barrier_t barrier;
static double elapsed_us;

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double initial(long i) {
    if (i == 0) return 1.0;           // left boundary
    if (i == ncells - 1) return -0.5; // right boundary
    uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull; // a fixed pseudo-random value in [0, 1)
    x = (x ^ (x >> 31)) * 0xbf58476d1ce4e5b9ull;
    return (double)((x ^ (x >> 29)) >> 11) * 0x1p-53;
}

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    long pages = ncells / PAGE_CELLS;
    long lo = pages * id / nthreads * PAGE_CELLS, hi = pages * (id + 1) / nthreads * PAGE_CELLS;
    // each thread writes its own slice of both arrays first (on a cluster the pages start on the node that uses them)
    for (long i = lo; i < hi; i++) buf[0][i] = buf[1][i] = initial(i);
    long from = lo > 1 ? lo : 1, to = hi < ncells - 1 ? hi : ncells - 1;
    pthread_barrier_wait(&barrier);
    double start = now_us();
    for (long s = 0; s < nsteps; s++) {
        const double *a = buf[s & 1];
        double *b = buf[(s + 1) & 1];
        for (long i = from; i < to; i++) b[i] = 0.25 * a[i - 1] + 0.5 * a[i] + 0.25 * a[i + 1];
        pthread_barrier_wait(&barrier);
    }
    if (id == 0) elapsed_us = now_us() - start;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) nthreads = atoi(argv[1]);
    ncells = argc > 2 ? atol(argv[2]) : 786432;
    nsteps = argc > 3 ? atol(argv[3]) : 600;
    if (ncells < 3) ncells = 3;
    if (nsteps < 0) nsteps = 0;
    ncells = (ncells + PAGE_CELLS - 1) / PAGE_CELLS * PAGE_CELLS;
    long pages = ncells / PAGE_CELLS;
    if (nthreads < 1 || nthreads > MAXT) nthreads = 1;
    if (nthreads > pages) nthreads = (int)pages;
    for (int k = 0; k < 2; k++) {
        if (posix_memalign((void **)&buf[k], 4096, ncells * sizeof(double))) {
            fprintf(stderr, "stencil: out of memory\n");
            return 1;
        }
    }
    pthread_barrier_init(&barrier, NULL, nthreads);
    pthread_t t[MAXT];
    for (int i = 0; i < nthreads; i++) pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);

    const double *r = buf[nsteps & 1];
    uint64_t h = 1469598103934665603ull; // FNV-1a over the 64-bit patterns
    double sum = 0;
    for (long i = 0; i < ncells; i++) {
        uint64_t bits;
        memcpy(&bits, &r[i], sizeof bits);
        h = (h ^ bits) * 1099511628211ull;
        sum += r[i];
    }
    printf("stencil %ld cells %ld steps hash %016llx sum %.9e mid %.9e\n", ncells, nsteps, (unsigned long long)h, sum,
           r[ncells / 2]);
    fprintf(stderr, "stencil: %ld steps, %.1f us/step\n", nsteps, nsteps ? elapsed_us / nsteps : 0.0);
    return 0;
}
