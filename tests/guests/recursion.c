// Deep and heavy recursion: depth-100000 non-tail recursion, Ackermann, naive
// Fibonacci, mutual recursion, recursion with large stack frames and alloca.
#include <alloca.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static long __attribute__((noinline)) depth(long n) {
    if (n == 0) return 0;
    long r = depth(n - 1);
    return r + (n & 7) + 1; /* work after the call: no tail call */
}

static long __attribute__((noinline)) ack(long m, long n) {
    if (m == 0) return n + 1;
    if (n == 0) return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

static long __attribute__((noinline)) fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static int __attribute__((noinline)) is_odd(unsigned n);
static int __attribute__((noinline)) is_even(unsigned n) { return n == 0 ? 1 : is_odd(n - 1) + 0 * n; }
static int __attribute__((noinline)) is_odd(unsigned n) { return n == 0 ? 0 : is_even(n - 1) + 0 * n; }

static uint64_t __attribute__((noinline)) big_frames(int n, uint64_t seed) {
    volatile uint8_t frame[2000];
    for (int i = 0; i < 2000; i += 97) frame[i] = (uint8_t)(seed + (uint64_t)i);
    if (n == 0) return seed;
    uint64_t r = big_frames(n - 1, seed * 6364136223846793005ull + 1442695040888963407ull);
    for (int i = 0; i < 2000; i += 97) r = r * 31 + frame[i];
    return r;
}

static uint64_t __attribute__((noinline)) with_alloca(int n) {
    if (n == 0) return 1;
    size_t sz = (size_t)(n % 17) * 16 + 8;
    uint8_t *p = alloca(sz);
    memset(p, n, sz);
    uint64_t r = with_alloca(n - 1);
    for (size_t i = 0; i < sz; i++) r += p[i];
    return r;
}

static void hanoi(int n, int from, int to, int via, long *moves, long *check) {
    if (n == 0) return;
    hanoi(n - 1, from, via, to, moves, check);
    ++*moves;
    *check = (*check * 3 + from * 5 + to) % 1000000007;
    hanoi(n - 1, via, to, from, moves, check);
}

int main(void) {
    printf("depth(100000) = %ld\n", depth(100000));
    printf("ack(2,3)=%ld ack(3,3)=%ld ack(3,6)=%ld\n", ack(2, 3), ack(3, 3), ack(3, 6));
    printf("fib(27) = %ld\n", fib(27));
    printf("is_even(10001)=%d is_odd(20001)=%d\n", is_even(10001), is_odd(20001));
    printf("big_frames(500) = %016llx\n", (unsigned long long)big_frames(500, 1));
    printf("with_alloca(3000) = %llu\n", (unsigned long long)with_alloca(3000));
    long moves = 0, check = 0;
    hanoi(18, 1, 3, 2, &moves, &check);
    printf("hanoi(18): moves=%ld check=%ld\n", moves, check);
    return 0;
}
