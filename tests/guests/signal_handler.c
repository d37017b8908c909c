// Guest signal delivery in one thread: sigaction handlers (plain and SA_SIGINFO)
// for raise/kill/tgkill, blocked-then-pending-then-delivered signals, SA_RESETHAND,
// SA_NODEFER nesting, handlers on an alternate stack, and synchronous faults turned
// into signals: SIGSEGV (null and unmapped access, si_addr checked), SIGILL and
// SIGTRAP (brk) recovered with siglongjmp, registers preserved across a handler.
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t hits[65];
static volatile int last_code, last_signo, nest_depth, max_nest, on_alt;
static volatile uintptr_t last_addr;
static sigjmp_buf recover;
static char *alt_base;
static size_t alt_size;

static void plain(int sig) { hits[sig]++; }
static void info(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    hits[sig]++;
    last_signo = si->si_signo;
    last_code = si->si_code;
}
static void nested(int sig) {
    hits[sig]++;
    nest_depth++;
    if (nest_depth > max_nest) max_nest = nest_depth;
    if (hits[sig] < 3) raise(sig);
    nest_depth--;
}
static void alt_handler(int sig) {
    char local;
    hits[sig]++;
    on_alt = (&local >= alt_base && &local < alt_base + alt_size);
}
static void fault(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    hits[sig]++;
    last_signo = si->si_signo;
    last_code = si->si_code;
    last_addr = (uintptr_t)si->si_addr;
    siglongjmp(recover, sig);
}

static void install(int sig, void (*h)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}
static void install_info(int sig, void (*h)(int, siginfo_t *, void *), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static const char *code_name(int sig, int code) {
    if (code == SI_USER) return "SI_USER";
    if (code == SI_TKILL) return "SI_TKILL";
    if (code == SI_QUEUE) return "SI_QUEUE";
    if (sig == SIGSEGV && code == SEGV_MAPERR) return "SEGV_MAPERR";
    if (sig == SIGSEGV && code == SEGV_ACCERR) return "SEGV_ACCERR";
    if (sig == SIGTRAP && code == TRAP_BRKPT) return "TRAP_BRKPT";
    return "other";
}

int main(void) {
    install(SIGUSR1, plain, 0);
    raise(SIGUSR1);
    kill(getpid(), SIGUSR1);
    printf("SIGUSR1 plain handler hits=%d\n", hits[SIGUSR1]);

    install_info(SIGUSR2, info, 0);
    raise(SIGUSR2);
    printf("SIGUSR2 via raise: signo=%d code=%s\n", last_signo, code_name(SIGUSR2, last_code));
    kill(getpid(), SIGUSR2);
    printf("SIGUSR2 via kill: signo=%d code=%s\n", last_signo, code_name(SIGUSR2, last_code));
    union sigval sv = {.sival_int = 77};
    sigqueue(getpid(), SIGUSR2, sv);
    printf("SIGUSR2 via sigqueue: code=%s hits=%d\n", code_name(SIGUSR2, last_code), hits[SIGUSR2]);

    /* blocked signals stay pending until unblocked */
    sigset_t set, old, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    int before = hits[SIGUSR1];
    raise(SIGUSR1);
    raise(SIGUSR1); /* standard signals do not queue */
    sigpending(&pend);
    printf("blocked: delivered=%d pending=%d\n", hits[SIGUSR1] - before, sigismember(&pend, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("unblocked: delivered=%d\n", hits[SIGUSR1] - before);

    /* real-time signals queue */
    install(SIGRTMIN + 1, plain, 0);
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &set, &old);
    for (int i = 0; i < 3; i++) raise(SIGRTMIN + 1);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("rt signal queued deliveries=%d\n", hits[SIGRTMIN + 1]);

    /* SA_RESETHAND: second raise uses SIG_DFL, which for SIGWINCH/SIGCHLD is ignore */
    install(SIGWINCH, plain, SA_RESETHAND);
    raise(SIGWINCH);
    raise(SIGWINCH);
    printf("SA_RESETHAND hits=%d\n", hits[SIGWINCH]);
    /* SIG_IGN */
    signal(SIGUSR1, SIG_IGN);
    raise(SIGUSR1);
    printf("ignored SIGUSR1: still alive\n");

    /* SA_NODEFER allows nesting; without it the signal is blocked in its handler */
    install(SIGHUP, nested, SA_NODEFER);
    raise(SIGHUP);
    printf("SA_NODEFER max nesting=%d hits=%d\n", max_nest, hits[SIGHUP]);
    max_nest = 0;
    hits[SIGHUP] = 0;
    install(SIGHUP, nested, 0);
    raise(SIGHUP);
    printf("deferred max nesting=%d hits=%d\n", max_nest, hits[SIGHUP]);

    /* alternate signal stack */
    alt_size = 64 * 1024;
    alt_base = malloc(alt_size);
    stack_t ss = {.ss_sp = alt_base, .ss_size = alt_size, .ss_flags = 0};
    printf("sigaltstack=%d\n", sigaltstack(&ss, NULL));
    install(SIGPIPE, alt_handler, SA_ONSTACK);
    raise(SIGPIPE);
    printf("handler ran on alt stack=%d\n", on_alt);
    install(SIGPIPE, alt_handler, 0);
    raise(SIGPIPE);
    printf("without SA_ONSTACK on alt stack=%d\n", on_alt);

    /* synchronous faults */
    install_info(SIGSEGV, fault, 0);
    install_info(SIGILL, fault, 0);
    install_info(SIGTRAP, fault, 0);
    int sig;
    if ((sig = sigsetjmp(recover, 1)) == 0) {
        volatile int *volatile np = (volatile int *)16;
        *np = 1;
        printf("no fault?!\n");
    } else {
        printf("null write: sig=%d code=%s addr=%#lx\n", sig, code_name(sig, last_code), (unsigned long)last_addr);
    }
    long page = sysconf(_SC_PAGESIZE);
    char *ro = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if ((sig = sigsetjmp(recover, 1)) == 0) {
        ro[100] = 1;
        printf("no fault?!\n");
    } else {
        printf("read-only write: sig=%d code=%s offset=%ld\n", sig, code_name(sig, last_code), (long)(last_addr - (uintptr_t)ro));
    }
    munmap(ro, (size_t)page);
    if ((sig = sigsetjmp(recover, 1)) == 0) {
        (void)*(volatile char *)(ro + 8);
        printf("no fault?!\n");
    } else {
        printf("unmapped read: sig=%d code=%s offset=%ld\n", sig, code_name(sig, last_code), (long)(last_addr - (uintptr_t)ro));
    }
    if ((sig = sigsetjmp(recover, 1)) == 0) {
        __asm__ volatile(".inst 0x00000000");
        printf("no fault?!\n");
    } else {
        printf("udf: sig=%d\n", sig); /* si_code differs between Linux (ILL_ILLOPC) and qemu */
    }
    if ((sig = sigsetjmp(recover, 1)) == 0) {
        __asm__ volatile("brk #0x3e8");
        printf("no fault?!\n");
    } else {
        printf("brk: sig=%d\n", sig);
    }
    printf("fault hits: SEGV=%d ILL=%d TRAP=%d\n", hits[SIGSEGV], hits[SIGILL], hits[SIGTRAP]);

    /* callee-saved registers and FP registers survive a handler */
    install(SIGUSR2, plain, 0);
    uint64_t x19v, d8v;
    __asm__ volatile("mov x19, #0x1234\n\tmovk x19, #0xabcd, lsl #48\n\tfmov d8, #2.5\n\t"
                     "mov x8, %2\n\tmov x0, %3\n\tmov x1, %4\n\tmov x2, %5\n\tsvc #0\n\t"
                     "mov %0, x19\n\tfmov %1, d8"
                     : "=r"(x19v), "=r"(d8v)
                     : "r"((long)SYS_tgkill), "r"((long)getpid()), "r"((long)gettid()), "r"((long)SIGUSR2)
                     : "x0", "x1", "x2", "x8", "x19", "v8", "memory");
    printf("after handler: x19=%#llx d8=%#llx usr2 hits=%d\n", (unsigned long long)x19v, (unsigned long long)d8v, hits[SIGUSR2]);
    return 0;
}
