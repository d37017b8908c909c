// Benchmark: sieve of Eratosthenes up to 60 million (byte array, strided stores),
// run twice, then a prime-gap histogram; prints counts and a checksum.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 60000000

int main(void) {
    uint8_t *s = malloc(N + 1);
    long count = 0;
    for (int rep = 0; rep < 2; rep++) {
        memset(s, 1, N + 1);
        s[0] = s[1] = 0;
        for (long i = 2; i * i <= N; i++)
            if (s[i])
                for (long j = i * i; j <= N; j += i) s[j] = 0;
        count = 0;
        for (long i = 0; i <= N; i++) count += s[i];
    }
    long gaps[256] = {0}, last = 2, maxgap = 0;
    uint64_t sum = 0;
    for (long i = 3; i <= N; i += 2)
        if (s[i]) {
            long g = i - last;
            gaps[g < 255 ? g : 255]++;
            if (g > maxgap) maxgap = g;
            last = i;
            sum = sum * 31 + (uint64_t)i;
        }
    printf("primes <= %d: %ld, largest %ld, max gap %ld, twin primes %ld, checksum %016llx\n", N, count, last, maxgap,
           gaps[2], (unsigned long long)sum);
    free(s);
    return 0;
}
