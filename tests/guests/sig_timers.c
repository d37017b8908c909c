// Timers and waiting for signals: alarm() cutting a poll short (EINTR), a 20 ms ITIMER_REAL interval counted to
// five in pause() and stopped (setitimer's old value), a POSIX timer (timer_create, SIGEV_SIGNAL with a real-time
// signal and a value read in an SA_SIGINFO handler), a timer's blocked SIGUSR1 taken by sigwaitinfo (code SI_TIMER,
// the value), sigtimedwait timing out (EAGAIN) and taking a raised signal, a SIGEV_THREAD timer (glibc's helper
// thread waits for glibc's own signal in sigtimedwait), and a last alarm() with the default action ending the process
// by SIGALRM. Output unbuffered: the process dies of a signal.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <errno.h>
#include <pthread.h>
static volatile int alarms, timers; static volatile long tval;
static void on_alarm(int s) { (void)s; alarms++; }
static void on_timer(int s, siginfo_t *i, void *u) { (void)s; (void)u; timers++; tval = i->si_value.sival_int; }
static void thr(union sigval v) { (void)v; timers += 100; }
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGALRM, on_alarm);
    alarm(1);
    int r = poll(NULL, 0, 3000);
    printf("poll cut by alarm: %d %s alarms %d\n", r, strerror(errno), alarms);
    struct itimerval it = {{0, 20000}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    while (alarms < 5) pause();
    struct itimerval off = {{0,0},{0,0}}, old;
    setitimer(ITIMER_REAL, &off, &old);
    printf("interval alarms %d, old interval %ld us\n", alarms, (long)old.it_interval.tv_usec);
    struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = on_timer; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGRTMIN + 2, &sa, NULL);
    struct sigevent ev; memset(&ev, 0, sizeof ev); ev.sigev_notify = SIGEV_SIGNAL; ev.sigev_signo = SIGRTMIN + 2; ev.sigev_value.sival_int = 77;
    timer_t tid; printf("timer_create %d\n", timer_create(CLOCK_MONOTONIC, &ev, &tid));
    struct itimerspec ts = {{0, 0}, {0, 30000000}};
    timer_settime(tid, 0, &ts, NULL);
    while (!timers) pause();
    printf("timer fired %d value %ld\n", timers, tval);
    timer_delete(tid);
    // sigwaitinfo on a blocked signal from a timer
    sigset_t set; sigemptyset(&set); sigaddset(&set, SIGUSR1); sigprocmask(SIG_BLOCK, &set, NULL);
    ev.sigev_signo = SIGUSR1; ev.sigev_value.sival_int = 5;
    timer_create(CLOCK_REALTIME, &ev, &tid); timer_settime(tid, 0, &ts, NULL);
    siginfo_t si; int s = sigwaitinfo(&set, &si);
    printf("sigwaitinfo %d code %d value %d\n", s, si.si_code, si.si_value.sival_int);
    struct timespec to = {0, 50000000};
    s = sigtimedwait(&set, &si, &to);
    printf("sigtimedwait timeout %d %s\n", s, strerror(errno));
    raise(SIGUSR1);
    s = sigtimedwait(&set, &si, &to);
    printf("sigtimedwait raised %d code %d\n", s, si.si_code);
    ev.sigev_notify = SIGEV_THREAD; ev.sigev_notify_function = thr; ev.sigev_notify_attributes = NULL;
    timer_create(CLOCK_MONOTONIC, &ev, &tid); timer_settime(tid, 0, &ts, NULL);
    for (int i = 0; i < 100 && timers < 100; i++) usleep(10000);
    printf("SIGEV_THREAD ran: %d\n", timers >= 100);
    alarm(1); signal(SIGALRM, SIG_DFL); pause();
    return 0;
}
