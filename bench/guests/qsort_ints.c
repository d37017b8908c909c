// Benchmark: glibc qsort of 2 million pseudo-random ints with a comparator called
// through a function pointer, plus a binary-search pass; prints a checksum.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int main(void) {
    enum { N = 2000000 };
    int *a = malloc(N * sizeof *a);
    uint32_t s = 12345;
    for (int i = 0; i < N; i++) { s ^= s << 13; s ^= s >> 17; s ^= s << 5; a[i] = (int)s; }
    qsort(a, N, sizeof *a, cmp);
    uint64_t h = 0;
    for (int i = 0; i < N; i++) h = h * 1000003 + (uint32_t)a[i];
    long found = 0;
    s = 777;
    for (int i = 0; i < 500000; i++) {
        s ^= s << 13; s ^= s >> 17; s ^= s << 5;
        int key = (i & 1) ? a[s % N] : (int)s;
        if (bsearch(&key, a, N, sizeof *a, cmp)) found++;
    }
    printf("sorted %d ints: min %d max %d median %d hash %016llx found %ld\n", N, a[0], a[N - 1], a[N / 2],
           (unsigned long long)h, found);
    free(a);
    return 0;
}
