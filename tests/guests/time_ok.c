// Time functions, printed only in host-independent ways: clock_gettime on several
// clocks succeeds and is monotonic, gettimeofday/time agree with CLOCK_REALTIME,
// nanosleep sleeps at least as long as asked, clock_getres, times/clock, and
// gmtime/strftime/mktime on fixed timestamps.
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>

static long long ns(struct timespec t) { return (long long)t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
    static const struct { clockid_t id; const char *name; } clocks[] = {
        {CLOCK_REALTIME, "REALTIME"}, {CLOCK_MONOTONIC, "MONOTONIC"}, {CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW"},
        {CLOCK_BOOTTIME, "BOOTTIME"}, {CLOCK_PROCESS_CPUTIME_ID, "PROCESS_CPUTIME"},
        {CLOCK_THREAD_CPUTIME_ID, "THREAD_CPUTIME"}, {CLOCK_REALTIME_COARSE, "REALTIME_COARSE"},
        {CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE"}};
    for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        struct timespec a, b, res;
        int r1 = clock_gettime(clocks[i].id, &a);
        int nondec = 1;
        for (int k = 0; k < 1000; k++) {
            r1 |= clock_gettime(clocks[i].id, &b);
            if (clocks[i].id != CLOCK_REALTIME && clocks[i].id != CLOCK_REALTIME_COARSE && ns(b) < ns(a)) nondec = 0;
            a = b;
        }
        int r2 = clock_getres(clocks[i].id, &res);
        printf("%-16s gettime=%s nondecreasing=%s nsec_valid=%s res_ok=%s\n", clocks[i].name, r1 == 0 ? "ok" : "FAIL",
               nondec ? "ok" : "FAIL", (a.tv_nsec >= 0 && a.tv_nsec < 1000000000) ? "ok" : "FAIL",
               (r2 == 0 && res.tv_sec == 0 && res.tv_nsec > 0) ? "ok" : "FAIL");
    }
    struct timespec rt, mono0, mono1;
    struct timeval tv;
    clock_gettime(CLOCK_REALTIME, &rt);
    gettimeofday(&tv, NULL);
    time_t t = time(NULL);
    printf("realtime after 2020: %s\n", rt.tv_sec > 1577836800 ? "ok" : "FAIL");
    printf("gettimeofday close to clock_gettime: %s\n", (tv.tv_sec - rt.tv_sec) >= 0 && (tv.tv_sec - rt.tv_sec) < 5 ? "ok" : "FAIL");
    /* glibc's time() reads CLOCK_REALTIME_COARSE, which lags CLOCK_REALTIME by up to one tick: read just
       after a second boundary it can still show the previous second, on Linux as under any emulator. */
    printf("time() close to clock_gettime: %s\n", (t - rt.tv_sec) >= -1 && (t - rt.tv_sec) < 5 ? "ok" : "FAIL");
    printf("usec valid: %s\n", tv.tv_usec >= 0 && tv.tv_usec < 1000000 ? "ok" : "FAIL");

    clock_gettime(CLOCK_MONOTONIC, &mono0);
    struct timespec req = {0, 20 * 1000 * 1000}, rem = {0, 0};
    int r = nanosleep(&req, &rem);
    clock_gettime(CLOCK_MONOTONIC, &mono1);
    long long slept = ns(mono1) - ns(mono0);
    printf("nanosleep(20ms)=%d slept>=20ms: %s slept<5s: %s\n", r, slept >= 20000000 ? "ok" : "FAIL", slept < 5000000000LL ? "ok" : "FAIL");
    clock_gettime(CLOCK_MONOTONIC, &mono0);
    struct timespec abs = mono0;
    abs.tv_nsec += 10 * 1000 * 1000;
    if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL);
    clock_gettime(CLOCK_MONOTONIC, &mono1);
    printf("clock_nanosleep(abs +10ms)=%d reached: %s\n", r, ns(mono1) >= ns(abs) ? "ok" : "FAIL");

    /* burn a little CPU, then process CPU time must have advanced */
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    volatile unsigned long x = 0;
    for (unsigned long k = 0; k < 20000000; k++) x += k;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    printf("cpu time advanced: %s\n", ns(c1) > ns(c0) ? "ok" : "FAIL");
    struct tms tm;
    clock_t ct = times(&tm);
    printf("times() ok: %s clock() ok: %s\n", ct != (clock_t)-1 ? "ok" : "FAIL", clock() != (clock_t)-1 ? "ok" : "FAIL");

    /* calendar conversions on fixed values (UTC, no timezone files needed) */
    static const time_t fixed[] = {0, 951782400, 1234567890, 2147483647, 4102444800LL, -86400};
    for (unsigned i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        struct tm g;
        gmtime_r(&fixed[i], &g);
        char b[64];
        strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S %a %j", &g);
        time_t back = timegm(&g);
        printf("%lld -> %s wday=%d yday=%d back=%s\n", (long long)fixed[i], b, g.tm_wday, g.tm_yday, back == fixed[i] ? "ok" : "FAIL");
    }
    return 0;
}
