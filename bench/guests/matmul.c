// Benchmark: dense matrix multiply, 600x600 doubles (i-k-j loop order, which GCC
// vectorizes) and 400x400 int32 (naive i-j-k), printing traces and checksums.
// (no fused multiply-add, so the x86-64 and AArch64 builds round identically)
// CFLAGS: -ffp-contract=off
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define N 600
#define M 400

int main(void) {
    double *a = malloc(sizeof(double) * N * N), *b = malloc(sizeof(double) * N * N), *c = calloc(N * N, sizeof(double));
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i * N + j] = (double)((i * 7 + j * 3) % 17) / 8.0 - 1.0;
            b[i * N + j] = (double)((i * 5 + j * 11) % 23) / 16.0 - 0.5;
        }
    for (int rep = 0; rep < 2; rep++)
        for (int i = 0; i < N; i++)
            for (int k = 0; k < N; k++) {
                double aik = a[i * N + k];
                for (int j = 0; j < N; j++) c[i * N + j] += aik * b[k * N + j];
            }
    double trace = 0, sum = 0;
    for (int i = 0; i < N; i++) trace += c[i * N + i];
    for (int i = 0; i < N * N; i++) sum += c[i] * (double)(i % 7);
    printf("double %dx%d: trace %.6f weighted sum %.6f\n", N, N, trace, sum);

    int32_t *x = malloc(sizeof(int32_t) * M * M), *y = malloc(sizeof(int32_t) * M * M), *z = malloc(sizeof(int32_t) * M * M);
    for (int i = 0; i < M * M; i++) { x[i] = (i * 2654435761u) >> 24; y[i] = (int32_t)((i * 40503u) & 0xff) - 128; }
    for (int i = 0; i < M; i++)
        for (int j = 0; j < M; j++) {
            int32_t acc = 0;
            for (int k = 0; k < M; k++) acc += x[i * M + k] * y[k * M + j];
            z[i * M + j] = acc;
        }
    uint64_t h = 0;
    for (int i = 0; i < M * M; i++) h = h * 31 + (uint32_t)z[i];
    printf("int32 %dx%d: checksum %016llx\n", M, M, (unsigned long long)h);
    free(a); free(b); free(c); free(x); free(y); free(z);
    return 0;
}
