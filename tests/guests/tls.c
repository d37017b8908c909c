// Thread-local storage in the main thread: initialized (.tdata) and zeroed (.tbss)
// __thread variables of several sizes and alignments, arrays, errno (itself TLS),
// and TPIDR_EL0 readable and stable.
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static __thread int t_int = 42;
static __thread long long t_ll = -1234567890123LL;
static __thread char t_str[16] = "tls-string";
static __thread double t_dbl = 2.75;
static __thread int t_zero;
static __thread uint64_t t_arr[100];
static __thread _Alignas(64) uint8_t t_aligned[7] = {1, 2, 3, 4, 5, 6, 7};
__thread int t_extern = 5;

static int __attribute__((noinline)) bump(void) { return ++t_int; }

int main(void) {
    uint64_t tp1, tp2;
    __asm__ volatile("mrs %0, tpidr_el0" : "=r"(tp1));
    printf("initial: int=%d ll=%lld str=%s dbl=%g zero=%d arr0=%llu extern=%d aligned6=%d\n", t_int, t_ll, t_str, t_dbl,
           t_zero, (unsigned long long)t_arr[0], t_extern, t_aligned[6]);
    printf("tls alignment ok: %d\n", ((uintptr_t)t_aligned % 64) == 0);
    for (int i = 0; i < 100; i++) t_arr[i] = (uint64_t)i * i;
    uint64_t s = 0;
    for (int i = 0; i < 100; i++) s += t_arr[i];
    for (int i = 0; i < 1000; i++) bump();
    t_ll *= -2;
    t_str[3] = '_';
    t_zero = -7;
    printf("after: int=%d ll=%lld str=%s zero=%d arrsum=%llu\n", t_int, t_ll, t_str, t_zero, (unsigned long long)s);
    errno = 0;
    close(-1);
    printf("errno after close(-1)=%d (EBADF=%d)\n", errno, EBADF);
    __asm__ volatile("mrs %0, tpidr_el0" : "=r"(tp2));
    printf("tpidr_el0 nonzero=%d stable=%d\n", tp1 != 0, tp1 == tp2);
    printf("tls var within 64KiB of tp: %d\n", (uintptr_t)&t_int - tp1 < 65536);
    return 0;
}
