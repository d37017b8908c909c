// Demo guest for `./build.sh run`: shows that an AArch64 program runs, with its
// arguments, some integer and floating-point work, and a friendly summary.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

static uint64_t fib(unsigned n) {
    uint64_t a = 0, b = 1;
    while (n--) { uint64_t t = a + b; a = b; b = t; }
    return a;
}

int main(int argc, char **argv) {
    struct utsname u;
    uname(&u);
    printf("Hello from an AArch64 guest! (uname machine: %s)\n", u.machine);
    printf("argc = %d\n", argc);
    for (int i = 1; i < argc; i++) printf("  argv[%d] = \"%s\"\n", i, argv[i]);

    printf("fib(90)          = %llu\n", (unsigned long long)fib(90));
    unsigned primes = 0;
    for (unsigned n = 2; n < 100000; n++) {
        int p = 1;
        for (unsigned d = 2; d * d <= n; d++) if (n % d == 0) { p = 0; break; }
        primes += (unsigned)p;
    }
    printf("primes < 100000  = %u\n", primes);
    double pi = 0;
    for (int k = 0; k < 1000000; k++) pi += (k & 1 ? -4.0 : 4.0) / (2 * k + 1);
    printf("pi (Leibniz, 1e6 terms) = %.10f  (error %.3e)\n", pi, fabs(pi - M_PI));
    printf("sqrt(2) = %.15f, e = %.15f, sin(1) = %.15f\n", sqrt(2.0), exp(1.0), sin(1.0));
    int64_t big = INT64_MAX;
    printf("INT64_MAX = %lld, INT64_MAX / -7 = %lld\n", (long long)big, (long long)(big / -7));
    char msg[] = "dqemu-native";
    size_t n = strlen(msg);
    for (size_t i = 0; i < n / 2; i++) { char t = msg[i]; msg[i] = msg[n - 1 - i]; msg[n - 1 - i] = t; }
    printf("reversed name: %s\n", msg);
    printf("All done: the guest ran to completion.\n");
    return 0;
}
