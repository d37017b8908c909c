// Shared by wild_addr.c, wild_pc.c and mt_wild.c: a SIGSEGV/SIGBUS/SIGILL handler that records what the kernel (or
// the emulator) reports and jumps back to the test that caused it. Everything is per thread, so threads on different
// cluster nodes can take faults at the same time.
#ifndef WILD_COMMON_H
#define WILD_COMMON_H
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static __thread sigjmp_buf wild_env;
static __thread volatile int last_sig, last_code;
static __thread volatile uintptr_t last_addr, last_pc;

static void wild_on_fault(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    last_sig = sig;
    last_code = si->si_code;
    last_addr = (uintptr_t)si->si_addr;
    last_pc = uc->uc_mcontext.pc;
    siglongjmp(wild_env, 1);
}

// the process-wide handlers (once, from main)
static void wild_install_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = wild_on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
}

// this thread's alternate signal stack: a fault with the stack pointer somewhere unusable still reaches the handler
static void wild_setup_thread(void) {
    static __thread char altstack[1 << 16];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
}
#endif
