// Batched and zero-copy I/O and pidfd signals: sendmmsg/recvmmsg on a datagram socket pair (several iovecs per
// message, names of the right length, MSG_DONTWAIT and MSG_WAITFORONE, a vector whose second entry is bad: the first
// is still sent), vmsplice into a pipe's write end and out of its read end, and pidfd_send_signal to the process
// itself (with and without a siginfo) and to a child.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int got_sig, got_code, got_value;

static void on_usr(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    got_sig = sig;
    got_code = info->si_code;
    got_value = info->si_value.sival_int;
}

static void mmsg(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0)
    {
        perror("socketpair");
        return;
    }
    char a[3][8] = {"one-", "two-", "three-"}, b[3][8] = {"alpha", "beta", "gamma"};
    struct iovec iov[3][2];
    struct mmsghdr out[3];
    memset(out, 0, sizeof out);
    for (int i = 0; i < 3; i++)
    {
        iov[i][0] = (struct iovec){a[i], strlen(a[i])};
        iov[i][1] = (struct iovec){b[i], strlen(b[i])};
        out[i].msg_hdr.msg_iov = iov[i];
        out[i].msg_hdr.msg_iovlen = 2;
    }
    int n = sendmmsg(sv[0], out, 3, 0);
    printf("sendmmsg: %d; lengths %u %u %u\n", n, out[0].msg_len, out[1].msg_len, out[2].msg_len);

    char buf[4][32];
    struct iovec riov[4];
    struct mmsghdr in[4];
    memset(in, 0, sizeof in);
    memset(buf, 0, sizeof buf);
    for (int i = 0; i < 4; i++)
    {
        riov[i] = (struct iovec){buf[i], sizeof buf[i] - 1};
        in[i].msg_hdr.msg_iov = &riov[i];
        in[i].msg_hdr.msg_iovlen = 1;
    }
    n = recvmmsg(sv[1], in, 4, MSG_DONTWAIT, NULL);
    printf("recvmmsg: %d\n", n);
    for (int i = 0; i < n; i++) printf("  %u bytes: %s (flags %d)\n", in[i].msg_len, buf[i], in[i].msg_hdr.msg_flags);
    errno = 0;
    n = recvmmsg(sv[1], in, 4, MSG_DONTWAIT, NULL);
    printf("recvmmsg on an empty socket: %d %s\n", n, n < 0 ? strerror(errno) : "");

    // one waiting datagram, MSG_WAITFORONE: returns after it rather than waiting for four
    send(sv[0], "solo", 4, 0);
    memset(buf, 0, sizeof buf);
    n = recvmmsg(sv[1], in, 4, MSG_WAITFORONE, NULL);
    printf("recvmmsg with MSG_WAITFORONE: %d (%s)\n", n, buf[0]);

    // the second entry's iovec points nowhere: the first is sent, and that is the result
    struct iovec bad = {(void *)16, 4};
    out[1].msg_hdr.msg_iov = &bad;
    out[1].msg_hdr.msg_iovlen = 1;
    n = sendmmsg(sv[0], out, 3, 0);
    printf("sendmmsg with a bad second entry: %d\n", n);
    errno = 0;
    n = sendmmsg(sv[0], &out[1], 1, 0);
    printf("sendmmsg of the bad entry alone: %d %s\n", n, n < 0 ? strerror(errno) : "");
    close(sv[0]);
    close(sv[1]);
}

static void splice_io(void)
{
    int p[2];
    if (pipe(p) != 0) return;
    char part1[] = "spliced ", part2[] = "into the pipe";
    struct iovec v[2] = {{part1, strlen(part1)}, {part2, strlen(part2)}};
    long n = vmsplice(p[1], v, 2, 0);
    char buf[64] = {0};
    long r = read(p[0], buf, sizeof buf - 1);
    printf("vmsplice in: %ld, read back %ld: %s\n", n, r, buf);

    write(p[1], "read through vmsplice", 21);
    char dst[64] = {0};
    struct iovec d = {dst, 8};
    n = vmsplice(p[0], &d, 1, 0);
    printf("vmsplice out: %ld: %s\n", n, dst);
    errno = 0;
    struct iovec nowhere = {(void *)16, 4};
    n = vmsplice(p[1], &nowhere, 1, 0);
    printf("vmsplice of an unmapped buffer: %ld %s\n", n, n < 0 ? strerror(errno) : "");
    close(p[0]);
    close(p[1]);
}

static void pidfd_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    int self = syscall(SYS_pidfd_open, getpid(), 0);
    if (self < 0)
    {
        perror("pidfd_open");
        return;
    }
    long r = syscall(SYS_pidfd_send_signal, self, SIGUSR1, NULL, 0);
    printf("pidfd_send_signal to itself: %ld; handler saw signal %d, code %d\n", r, got_sig, got_code);

    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = SIGUSR1;
    info.si_code = SI_QUEUE;
    info.si_pid = getpid();
    info.si_uid = getuid();
    info.si_value.sival_int = 4242;
    got_sig = 0;
    r = syscall(SYS_pidfd_send_signal, self, SIGUSR1, &info, 0);
    printf("with a siginfo: %ld; signal %d, code %d, value %d\n", r, got_sig, got_code, got_value);
    got_sig = 0;
    r = syscall(SYS_pidfd_send_signal, self, SIGUSR1, NULL, 1); // PIDFD_SIGNAL_THREAD (Linux 6.9)
    printf("to its thread: %ld; signal %d\n", r, got_sig);
    errno = 0;
    r = syscall(SYS_pidfd_send_signal, self, SIGUSR1, NULL, 3);
    printf("with two flags: %ld %s\n", r, r < 0 ? strerror(errno) : "");
    errno = 0;
    r = syscall(SYS_pidfd_send_signal, 1, SIGUSR1, NULL, 0);
    printf("to an fd that is not a pidfd: %ld %s\n", r, r < 0 ? strerror(errno) : "");

    pid_t child = fork();
    if (child == 0)
    {
        for (;;) pause();
    }
    int fd = syscall(SYS_pidfd_open, child, 0);
    r = syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0);
    int status = 0;
    waitpid(child, &status, 0);
    printf("to a child: %ld; child %s by signal %d\n", r, WIFSIGNALED(status) ? "killed" : "not killed",
           WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    close(fd);
    close(self);
}

int main(void)
{
    mmsg();
    splice_io();
    pidfd_signals();
    return 0;
}
