// A guest that hangs on purpose, for the diagnosis tests (tests/Dqemu.Tests/Cluster/DiagnosisTests.cs): it is not
// in tests/guests/ itself, where every program runs to its end under qemu-aarch64 too.
// Two threads besides main: one waits forever on a futex word nobody changes, one computes forever; main joins the
// first. It prints where its code and the word are, so the test can check the pcs and the word the dump names.
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char __executable_start[], etext[];

static uint32_t gate; // stays 0: the waiter never wakes
static volatile uint64_t spins;

static void *waiter(void *arg)
{
    (void)arg;
    for (;;)
        syscall(SYS_futex, &gate, FUTEX_WAIT, 0, NULL, NULL, 0);
    return NULL;
}

static void *spinner(void *arg)
{
    (void)arg;
    for (;;)
        spins++;
    return NULL;
}

int main(void)
{
    pthread_t w, s;
    printf("text %p %p\ngate %p\n", (void *)__executable_start, (void *)etext, (void *)&gate);
    fflush(stdout);
    pthread_create(&w, NULL, waiter, NULL);
    pthread_create(&s, NULL, spinner, NULL);
    printf("started\n");
    fflush(stdout);
    pthread_join(w, NULL);
    return 1;
}
