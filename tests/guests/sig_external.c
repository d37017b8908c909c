// Signals from another process: handlers for SIGUSR1, SIGTERM and SIGINT and SIG_IGN for SIGHUP, then "ready";
// tests/Dqemu.Tests/Processes/HostSignalTests.cs sends SIGHUP (ignored: the process must live on), then SIGUSR1,
// SIGTERM and SIGINT one at a time, each after the line that acknowledges the one before. Each handler records
// its signal and whether siginfo names a sending process (SI_USER, a pid other than its own); the main loop waits in
// sigsuspend and prints one line per signal; then SIGHUP goes back to SIG_DFL and the test's last SIGHUP must end the
// process by that signal. Only with the argument "wait": without it (the guest-program run of
// every tests/guests/*.c, which sends nothing) it says so and exits. An alarm ends a run nobody signals after 30 s.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t last, from_other;

static void on_signal(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    from_other = info->si_code == SI_USER && info->si_pid != getpid() && info->si_pid > 0;
    last = sig;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "wait") != 0) {
        printf("run with \"wait\" by HostSignalTests\n");
        return 0;
    }
    alarm(30);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGHUP, SIG_IGN);
    sigset_t block, none;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, NULL);
    sigemptyset(&none);
    printf("ready\n");
    fflush(stdout);
    for (int got = 0; got < 3;) {
        sigsuspend(&none);
        if (last) {
            printf("got %s, from another process %d\n", last == SIGUSR1 ? "SIGUSR1" : last == SIGTERM ? "SIGTERM" : last == SIGINT ? "SIGINT" : "?", (int)from_other);
            fflush(stdout);
            last = 0;
            got++;
        }
    }
    printf("done, SIGHUP was ignored\n");
    signal(SIGHUP, SIG_DFL); // the default again: the next SIGHUP ends the process (the alarm would say it did not)
    printf("SIGHUP default again\n");
    fflush(stdout);
    for (;;) pause();
}
