// signalfd: blocked SIGUSR1, SIGUSR2, SIGCHLD and a real-time signal read as struct signalfd_siginfo records.
// Non-blocking reads (EAGAIN when none, EINVAL for a buffer smaller than a record), SFD_CLOEXEC and SFD_NONBLOCK as
// fd flags, poll() and epoll readiness, raise() (SI_TKILL), sigqueue() twice with values read in one read of two
// records (SI_QUEUE), a mask changed with signalfd(fd, ...), a blocking read on a dup of a closed signalfd getting a
// child's SIGCHLD (its pid and exit status, CLD_EXITED), a blocking read interrupted by a handled SIGALRM (EINTR), a
// blocking read woken by kill() from another thread (SI_USER), and a forked child that reads its own signal while
// the parent's signalfd stays empty; readv of two records across two iovecs. Output unbuffered.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct signalfd_siginfo si[4];

static long rd(int fd, size_t len)
{
    ssize_t n = read(fd, si, len);
    return n < 0 ? -errno : n;
}

static void show(const char *what, const struct signalfd_siginfo *s)
{
    printf("%s: signo %d code %d pid-is-me %d uid-is-mine %d int %d\n", what, (int)s->ssi_signo, s->ssi_code,
           s->ssi_pid == (unsigned)getpid(), s->ssi_uid == getuid(), s->ssi_int);
}

static int readable(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, 0);
    return r < 0 ? -errno : r == 1 && (p.revents & POLLIN);
}

static void on_alarm(int s) { (void)s; }

static void *killer(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    kill(getpid(), SIGUSR1);
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int rt = SIGRTMIN + 2;
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    sigaddset(&block, SIGCHLD);
    sigaddset(&block, rt);
    sigprocmask(SIG_BLOCK, &block, NULL);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, rt);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    printf("signalfd: %s, cloexec %d, nonblock %d\n", sfd >= 0 ? "ok" : strerror(errno),
           (fcntl(sfd, F_GETFD) & FD_CLOEXEC) != 0, (fcntl(sfd, F_GETFL) & O_NONBLOCK) != 0);
    printf("empty read: %s; short buffer: %s; readable %d\n", strerror((int)-rd(sfd, sizeof si[0])),
           strerror((int)-rd(sfd, 100)), readable(sfd));
    printf("bad flags: %s; not a signalfd: %s; bad fd: %s\n", signalfd(-1, &mask, 1) < 0 ? strerror(errno) : "ok",
           signalfd(1, &mask, 0) < 0 ? strerror(errno) : "ok", signalfd(99, &mask, 0) < 0 ? strerror(errno) : "ok");

    raise(SIGUSR1);
    printf("after raise: readable %d\n", readable(sfd));
    long n = rd(sfd, sizeof si);
    printf("read %ld bytes\n", n);
    show("raise", &si[0]);
    printf("after read: readable %d\n", readable(sfd));

    union sigval v = {.sival_int = 42};
    sigqueue(getpid(), rt, v);
    v.sival_int = 43;
    sigqueue(getpid(), rt, v);
    n = rd(sfd, sizeof si);
    printf("read %ld bytes (%ld records)\n", n, n / (long)sizeof si[0]);
    for (long i = 0; i < n / (long)sizeof si[0]; i++) {
        printf("  rt+%d: ", (int)si[i].ssi_signo - SIGRTMIN);
        show("sigqueue", &si[i]);
    }

    raise(SIGUSR2);
    printf("SIGUSR2 not in the mask: %s, readable %d\n", strerror((int)-rd(sfd, sizeof si)), readable(sfd));
    sigaddset(&mask, SIGUSR2);
    printf("mask updated: same fd %d\n", signalfd(sfd, &mask, 0) == sfd);
    printf("readable %d\n", readable(sfd));
    n = rd(sfd, sizeof si);
    printf("read %ld bytes\n", n);
    show("usr2", &si[0]);

    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
    printf("epoll before: %d\n", epoll_wait(ep, &out, 1, 0));
    kill(getpid(), SIGUSR1);
    int k = epoll_wait(ep, &out, 1, 1000);
    printf("epoll after kill: %d events %#x data %llu\n", k, k == 1 ? out.events : 0, k == 1 ? (unsigned long long)out.data.u64 : 0);
    n = rd(sfd, sizeof si);
    show("kill", &si[0]);
    close(ep);

    // a blocking signalfd, read through a dup after the original is closed: a child's exit
    int bfd = signalfd(-1, &mask, 0);
    int dfd = dup(bfd);
    close(bfd);
    pid_t child = fork();
    if (child == 0) _exit(7);
    n = rd(dfd, sizeof si[0]);
    printf("child: read %ld bytes, signo %d code %d (CLD_EXITED %d) pid-is-child %d status %d\n", n, (int)si[0].ssi_signo,
           si[0].ssi_code, CLD_EXITED, si[0].ssi_pid == (unsigned)child, si[0].ssi_status);
    int status;
    printf("waitpid: %d, exit %d\n", waitpid(child, &status, 0) == child, WEXITSTATUS(status));

    // a blocking read cut short by a handled signal outside the mask (no SA_RESTART)
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    printf("interrupted read: %s\n", strerror((int)-rd(dfd, sizeof si)));

    // a blocking read woken by another thread's kill()
    pthread_t th;
    pthread_create(&th, NULL, killer, NULL);
    n = rd(dfd, sizeof si);
    printf("woken: read %ld bytes\n", n);
    show("thread kill", &si[0]);
    pthread_join(th, NULL);

    // a child's signalfd is its own: what it takes is not the parent's, and the parent's stays empty
    sigset_t only1;
    sigemptyset(&only1);
    sigaddset(&only1, SIGUSR1);
    int ufd = signalfd(-1, &only1, SFD_NONBLOCK);
    child = fork();
    if (child == 0) {
        raise(SIGUSR1);
        int got = (int)rd(ufd, sizeof si);
        printf("in the child: read %d bytes, signo %d\n", got, (int)si[0].ssi_signo);
        _exit(0);
    }
    waitpid(child, &status, 0);
    printf("parent after the child: readable %d, read %s\n", readable(ufd), strerror((int)-rd(ufd, sizeof si)));
    n = rd(sfd, sizeof si); // the second child's SIGCHLD
    printf("second child's SIGCHLD: %ld bytes, signo %d\n", n, (int)si[0].ssi_signo);

    // readv: the iovecs read as one buffer, the second record crossing from the first iovec into the second
    union sigval v1 = {.sival_int = 71}, v2 = {.sival_int = 72};
    sigqueue(getpid(), SIGUSR1, v1);
    sigqueue(getpid(), SIGCHLD, v2); // not a real-time one: qemu 7.2 reports those renumbered in ssi_signo
    static struct signalfd_siginfo two[2];
    struct iovec iov[2] = {{two, 200}, {(char *)two + 200, sizeof two - 200}};
    n = readv(sfd, iov, 2);
    printf("readv of two records across two iovecs: %ld bytes, signos %d %d, values %d %d\n", n, (int)two[0].ssi_signo,
           (int)two[1].ssi_signo, two[0].ssi_int, two[1].ssi_int);
    struct iovec small[2] = {{two, 60}, {(char *)two + 60, 60}};
    printf("readv with room for none: %s; with room and none pending: %s\n", readv(sfd, small, 2) < 0 ? strerror(errno) : "read",
           readv(sfd, iov, 2) < 0 ? strerror(errno) : "read");
    printf("done\n");
    return 0;
}
