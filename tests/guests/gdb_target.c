// A deterministic single-threaded guest for GdbStubTests: gdb breaks in compute(), reads registers (X and V),
// steps, watches `counter` and continues to the exit status 42. Built without optimisation and with debug info
// so gdb finds functions, lines and variables.
// CFLAGS: -g -O0
#include <stdio.h>

volatile int counter;

__attribute__((noinline)) long compute(long a, long b, double f)
{
    long s = a * 3 + b;
    s += (long)(f * 2.0);
    counter += (int)s;
    return s;
}

int main(void)
{
    long total = 0;
    for (int i = 0; i < 3; i++)
        total += compute(i + 10, 7, (double)i * 1.5);
    printf("total %ld counter %d\n", total, counter);
    return 42;
}
