// setjmp/longjmp: jumps across several frames, longjmp(…, 0) returning 1, volatile
// locals preserved, nested buffers, repeated jumps in a loop, sigsetjmp/siglongjmp
// restoring the signal mask.
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>

static jmp_buf outer, inner;
static sigjmp_buf sj;
static int depth_reached;

static void __attribute__((noinline)) dive(int n, int code) {
    volatile char pad[100];
    pad[n % 100] = (char)n;
    depth_reached = n;
    if (n >= 50) longjmp(outer, code);
    if (n < 1000) dive(n + 1, code);
    pad[0]++;
}

static int __attribute__((noinline)) nested(int v) {
    int r = setjmp(inner);
    if (r == 0) {
        if (v > 2) longjmp(inner, v * 10);
        return -v;
    }
    return r + 1;
}

int main(void) {
    volatile int counter = 0;
    volatile double dv = 1.5;
    int r = setjmp(outer);
    printf("setjmp returned %d (counter=%d dv=%g depth=%d)\n", r, counter, dv, depth_reached);
    if (counter < 5) {
        counter++;
        dv *= 2;
        dive(0, counter == 3 ? 0 : counter * 7);
    }
    printf("nested: %d %d %d\n", nested(1), nested(3), nested(9));

    long total = 0;
    for (int i = 0; i < 10000; i++) {
        jmp_buf b;
        volatile int k = i;
        int v = setjmp(b);
        if (v == 0) longjmp(b, k % 13 + 1);
        total += v;
    }
    printf("loop total %ld\n", total);

    sigset_t set, cur;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    if (sigsetjmp(sj, 1) == 0) {
        sigprocmask(SIG_BLOCK, &set, NULL);
        sigprocmask(SIG_SETMASK, NULL, &cur);
        printf("before siglongjmp: USR1 blocked=%d\n", sigismember(&cur, SIGUSR1));
        siglongjmp(sj, 5);
    }
    sigprocmask(SIG_SETMASK, NULL, &cur);
    printf("after siglongjmp: USR1 blocked=%d\n", sigismember(&cur, SIGUSR1));
    if (sigsetjmp(sj, 0) == 0) {
        sigprocmask(SIG_BLOCK, &set, NULL);
        siglongjmp(sj, 1);
    }
    sigprocmask(SIG_SETMASK, NULL, &cur);
    printf("sigsetjmp(,0): USR1 blocked=%d\n", sigismember(&cur, SIGUSR1));
    return 0;
}
