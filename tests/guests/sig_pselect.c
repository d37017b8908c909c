// The waits that take a signal mask: pselect6, ppoll and epoll_pwait swap the thread's mask in for the wait, as
// GNU make -j does with SIGCHLD (blocked, let through only while it waits). A signal that is pending and blocked before
// the call ends the wait at once with EINTR and its handler runs; afterwards the old mask is back (the signal blocked
// again). A signal the call's mask blocks does not end it (the timeout does). A child's exit during the wait
// interrupts it through SIGCHLD.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_sig(int sig) { got = sig; }

static int blocked(int sig)
{
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    return sigismember(&now, sig);
}

int main(void)
{
    signal(SIGUSR1, on_sig);
    signal(SIGCHLD, on_sig);
    sigset_t block, empty, only_usr1;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, NULL);
    sigemptyset(&empty);
    sigemptyset(&only_usr1);
    sigaddset(&only_usr1, SIGUSR1);
    int p[2];
    pipe(p);
    struct timespec second = {1, 0}, short_wait = {0, 50000000};

    raise(SIGUSR1);
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    int r = pselect(p[0] + 1, &rd, NULL, NULL, &second, &empty);
    printf("pselect with a pending signal: %d %s, handler %d, blocked after %d\n", r, r < 0 ? strerror(errno) : "", got, blocked(SIGUSR1));

    got = 0;
    raise(SIGUSR1);
    struct pollfd pf = {p[0], POLLIN, 0};
    r = ppoll(&pf, 1, &second, &empty);
    printf("ppoll with a pending signal: %d %s, handler %d, blocked after %d\n", r, r < 0 ? strerror(errno) : "", got, blocked(SIGUSR1));

    got = 0;
    r = ppoll(&pf, 1, &short_wait, &only_usr1); // SIGUSR1 still pending? no: taken above; nothing to deliver
    printf("ppoll timing out: %d, handler %d\n", r, got);

    raise(SIGUSR1);
    r = ppoll(&pf, 1, &short_wait, &only_usr1); // the call's mask blocks it: the timeout ends the wait
    printf("ppoll whose mask blocks the pending signal: %d, handler %d\n", r, got);
    sigset_t pend;
    sigpending(&pend);
    printf("still pending: %d\n", sigismember(&pend, SIGUSR1));
    sigsuspend(&empty); // take it
    printf("taken by sigsuspend: handler %d\n", got);

    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {0}}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    got = 0;
    raise(SIGUSR1);
    r = epoll_pwait(ep, &out, 1, 1000, &empty);
    printf("epoll_pwait with a pending signal: %d %s, handler %d, blocked after %d\n", r, r < 0 ? strerror(errno) : "", got, blocked(SIGUSR1));

    // a child's exit interrupts the wait through SIGCHLD, as in make -j
    got = 0;
    pid_t child = fork();
    if (child == 0)
    {
        nanosleep(&short_wait, NULL);
        _exit(3);
    }
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    struct timespec long_wait = {10, 0};
    r = pselect(p[0] + 1, &rd, NULL, NULL, &long_wait, &empty);
    int status = 0;
    waitpid(child, &status, 0);
    printf("pselect ended by a child's exit: %d %s, handler %d, child status %d\n", r, r < 0 ? strerror(errno) : "", got,
           WEXITSTATUS(status));
    return 0;
}
