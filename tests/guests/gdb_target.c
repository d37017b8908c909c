// A deterministic single-threaded guest for GdbStubTests: gdb breaks in compute(), reads registers (X and V),
// steps, watches `counter` and continues to the exit status 42. With the argument "spin" it loops until gdb
// interrupts it (Ctrl-C); with "segv" it stores through a null pointer (a signal reported as a stop); with "usr" it
// handles SIGUSR1 (which gdb sends with `signal SIGUSR1`) and raises SIGUSR2 (gdb reports it, then passes it on). Built without optimisation and with debug info
// so gdb finds functions, lines and variables.
// CFLAGS: -g -O0
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

volatile int counter;

__attribute__((noinline)) long compute(long a, long b, double f)
{
    long s = a * 3 + b;
    s += (long)(f * 2.0);
    counter += (int)s;
    return s;
}

static void on_signal(int sig)
{
    // write(2), not stdio: async-signal-safe
    if (sig == SIGUSR1) write(1, "usr1 handled\n", 13);
    else write(1, "usr2 handled\n", 13);
}

int main(int argc, char **argv)
{
    long total = 0;
    if (argc > 1 && argv[1][0] == 's' && argv[1][1] == 'p')
        for (;;) counter++;
    if (argc > 1 && argv[1][0] == 's' && argv[1][1] == 'e')
        *(volatile int *)(long)counter = 1;
    int usr = argc > 1 && argv[1][0] == 'u';
    if (usr)
    {
        signal(SIGUSR1, on_signal);
        signal(SIGUSR2, on_signal);
    }
    for (int i = 0; i < 3; i++)
        total += compute(i + 10, 7, (double)i * 1.5);
    if (usr) raise(SIGUSR2);
    printf("total %ld counter %d\n", total, counter);
    return 42;
}
