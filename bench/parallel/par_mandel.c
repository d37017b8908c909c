// Embarrassingly parallel: a Mandelbrot image split into row bands over N threads (argv[1], default 1).
// The total work is fixed; only the number of threads changes. Prints a checksum of the iteration counts.
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define W 1200
#define H 800
#define MAXIT 600

static int nthreads = 1;
static uint64_t sums[64];

static void *band(void *arg) {
    int id = (int)(intptr_t)arg;
    uint64_t sum = 0;
    for (int y = id; y < H; y += nthreads) {
        double ci = -1.2 + 2.4 * y / H;
        for (int x = 0; x < W; x++) {
            double cr = -2.1 + 3.0 * x / W, zr = 0, zi = 0;
            int it = 0;
            while (it < MAXIT && zr * zr + zi * zi < 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2 * zr * zi + ci;
                zr = t;
                it++;
            }
            sum += (uint64_t)it * (uint64_t)(x + 1);
        }
    }
    sums[id] = sum;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) nthreads = atoi(argv[1]);
    if (nthreads < 1 || nthreads > 64) nthreads = 1;
    pthread_t t[64];
    for (int i = 0; i < nthreads; i++) pthread_create(&t[i], NULL, band, (void *)(intptr_t)i);
    uint64_t total = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(t[i], NULL);
        total += sums[i];
    }
    printf("mandelbrot %dx%d checksum %llu\n", W, H, (unsigned long long)total);
    return 0;
}
