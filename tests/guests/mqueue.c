// POSIX message queues: mq_open (O_CREAT|O_EXCL, EEXIST, ENOENT, a bad name), getattr, three messages with
// priorities received highest first, EMSGSIZE for a short buffer, O_NONBLOCK set by mq_setattr (EAGAIN on an empty
// and on a full queue), mq_timedreceive and mq_timedsend timing out (ETIMEDOUT), an invalid timeout (EINVAL), and
// mq_unlink (then ENOENT): compared with qemu-aarch64 by GuestProgramTests.
// "mqueue notify" runs mq_notify instead, which qemu-aarch64 7.2 does not implement (ENOSYS), so
// tests/Dqemu.Tests/Syscalls/MqueueTests.cs checks its lines against Linux's answers (the same program built for
// x86-64 prints them natively): by signal (SIGUSR1 with SI_MESGQ, the value and the sender's pid in an SA_SIGINFO
// handler; EBUSY for a second registration; removed with NULL) and by SIGEV_THREAD (glibc's netlink helper thread
// starts the function). The queue's name carries the pid so parallel runs do not meet. Output unbuffered.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int got_sig, got_code, got_val, got_pid_is_me, thread_ran, thread_val;

static void on_usr1(int s, siginfo_t *i, void *u)
{
    (void)u;
    got_sig = s;
    got_code = i->si_code;
    got_val = i->si_value.sival_int;
    got_pid_is_me = i->si_pid == getpid();
}

static void on_notify(union sigval v)
{
    thread_val = v.sival_int;
    thread_ran = 1;
}

static const char *err(int r) { return r < 0 ? strerror(errno) : "ok"; }

static void wait_for(volatile int *flag)
{
    for (int i = 0; i < 200 && !*flag; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static struct timespec in_ms(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

static int notify(mqd_t q);

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    char name[64];
    snprintf(name, sizeof name, "/dqemu_mq_test_%d", (int)getpid());
    mq_unlink(name);
    struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 64};
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    printf("open: %s\n", err(q));
    if (argc > 1 && strcmp(argv[1], "notify") == 0) {
        int r = notify(q);
        mq_close(q);
        printf("unlink: %s\n", err(mq_unlink(name)));
        return r;
    }
    printf("again with O_EXCL: %s\n", err(mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr)));
    printf("missing queue: %s\n", err(mq_open("/dqemu_mq_no_such_queue", O_RDONLY)));
    printf("bad name: %s\n", err(mq_open("/a/b", O_CREAT | O_RDWR, 0600, NULL)));
    struct mq_attr a;
    mq_getattr(q, &a);
    printf("attr: flags %ld maxmsg %ld msgsize %ld curmsgs %ld\n", a.mq_flags, a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs);

    const char *s1 = err(mq_send(q, "low", 4, 1));
    const char *s2 = err(mq_send(q, "high", 5, 9));
    printf("send: %s %s %s\n", s1, s2, err(mq_send(q, "mid", 4, 5)));
    mq_getattr(q, &a);
    printf("curmsgs %ld\n", a.mq_curmsgs);
    char buf[64];
    char small[8];
    printf("short buffer: %s\n", err((int)mq_receive(q, small, sizeof small, NULL)));
    for (int i = 0; i < 3; i++) {
        unsigned prio = 0;
        ssize_t n = mq_receive(q, buf, sizeof buf, &prio);
        printf("receive: %zd bytes \"%s\" prio %u\n", n, n > 0 ? buf : "", prio);
    }

    struct mq_attr nb = {.mq_flags = O_NONBLOCK}, old;
    const char *sa1 = err(mq_setattr(q, &nb, &old));
    printf("setattr: %s, old flags %ld\n", sa1, old.mq_flags);
    printf("empty, non-blocking: %s\n", err((int)mq_receive(q, buf, sizeof buf, NULL)));
    for (int i = 0; i < 4; i++) mq_send(q, "x", 2, 0);
    printf("full, non-blocking: %s\n", err(mq_send(q, "y", 2, 0)));
    struct mq_attr blocking = {.mq_flags = 0};
    mq_setattr(q, &blocking, NULL);
    struct timespec ts = in_ms(50);
    printf("full, timed send: %s\n", err(mq_timedsend(q, "y", 2, 0, &ts)));
    for (int i = 0; i < 4; i++) mq_receive(q, buf, sizeof buf, NULL);
    ts = in_ms(50);
    printf("empty, timed receive: %s\n", err((int)mq_timedreceive(q, buf, sizeof buf, NULL, &ts)));
    ts.tv_nsec = 2000000000L;
    printf("bad timeout: %s\n", err((int)mq_timedreceive(q, buf, sizeof buf, NULL, &ts)));

    printf("close: %s\n", err(mq_close(q)));
    const char *u1 = err(mq_unlink(name));
    printf("unlink: %s, again: %s\n", u1, err(mq_unlink(name)));
    printf("done\n");
    return 0;
}

static int notify(mqd_t q)
{
    char buf[64];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    struct sigevent se;
    memset(&se, 0, sizeof se);
    se.sigev_notify = SIGEV_SIGNAL;
    se.sigev_signo = SIGUSR1;
    se.sigev_value.sival_int = 77;
    printf("notify by signal: %s\n", err(mq_notify(q, &se)));
    printf("second registration: %s\n", err(mq_notify(q, &se)));
    mq_send(q, "ping", 5, 3);
    wait_for(&got_sig);
    printf("signal: %d code %d (SI_MESGQ %d) value %d pid-is-me %d\n", got_sig, got_code, SI_MESGQ, got_val, got_pid_is_me);
    mq_receive(q, buf, sizeof buf, NULL);
    const char *reg = err(mq_notify(q, &se));
    printf("register and remove: %s %s\n", reg, err(mq_notify(q, NULL)));

    memset(&se, 0, sizeof se);
    se.sigev_notify = SIGEV_THREAD;
    se.sigev_notify_function = on_notify;
    se.sigev_value.sival_int = 99;
    printf("notify by thread: %s\n", err(mq_notify(q, &se)));
    mq_send(q, "pong", 5, 3);
    wait_for(&thread_ran);
    printf("thread ran %d value %d\n", thread_ran, thread_val);

    return 0;
}
