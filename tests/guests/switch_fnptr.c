// Indirect control flow: dense switch (jump table, br), sparse switch (compare tree),
// function-pointer tables (blr), computed goto (br), callbacks through qsort,
// struct "vtables", tail calls, and br/blr/ret to registers in inline asm.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int __attribute__((noinline)) dense(int x) {
    switch (x) {
    case 0: return 17;
    case 1: return x * 3 + 1;
    case 2: return -5;
    case 3: return 1000;
    case 4: return x << 4;
    case 5: return 7;
    case 6: return 99;
    case 7: return x ^ 0x55;
    case 8: return 12345;
    case 9: return -x;
    case 10: return 4;
    case 11: return 31;
    case 12: return x * x;
    case 13: return 0;
    case 14: return 2;
    case 15: return 77;
    default: return -1;
    }
}

static int __attribute__((noinline)) sparse(long x) {
    switch (x) {
    case -1000000: return 1;
    case -7: return 2;
    case 3: return 3;
    case 100: return 4;
    case 1024: return 5;
    case 65537: return 6;
    case 1L << 40: return 7;
    default: return 0;
    }
}

static int add(int a, int b) { return a + b; }
static int sub(int a, int b) { return a - b; }
static int mul(int a, int b) { return a * b; }
static int xr(int a, int b) { return a ^ b; }
static int mx(int a, int b) { return a > b ? a : b; }
static int (*const volatile ops[])(int, int) = {add, sub, mul, xr, mx};

struct shape;
struct vt { long (*area)(const struct shape *); const char *(*name)(void); };
struct shape { const struct vt *v; long a, b; };
static long rect_area(const struct shape *s) { return s->a * s->b; }
static long tri_area(const struct shape *s) { return s->a * s->b / 2; }
static const char *rect_name(void) { return "rect"; }
static const char *tri_name(void) { return "tri"; }
static const struct vt RECT = {rect_area, rect_name}, TRI = {tri_area, tri_name};

static long run_threaded(const unsigned char *code, long acc) {
    static void *labels[] = {&&op_inc, &&op_dbl, &&op_neg, &&op_sq, &&op_end};
    const unsigned char *pc = code;
#define NEXT goto *labels[*pc++]
    NEXT;
op_inc: acc += 1; NEXT;
op_dbl: acc *= 2; NEXT;
op_neg: acc = -acc; NEXT;
op_sq: acc = acc * acc % 1000003; NEXT;
op_end:
    return acc;
#undef NEXT
}

/* mutual tail calls (compiled to b, not bl) */
typedef unsigned long ul;
static ul __attribute__((noinline)) even_steps(ul n, ul acc);
static ul __attribute__((noinline)) odd_steps(ul n, ul acc) { return n == 0 ? acc : even_steps(n - 1, acc * 3 + 1); }
static ul __attribute__((noinline)) even_steps(ul n, ul acc) { return n == 0 ? acc : odd_steps(n - 1, acc ^ n); }

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static uint64_t __attribute__((noinline)) asm_branches(uint64_t v) {
    uint64_t r;
    __asm__ volatile(
        "adr x9, 1f\n\t"
        "br x9\n\t"
        "mov %0, #111\n\t"          /* skipped */
        "1: adr x10, 2f\n\t"
        "blr x10\n\t"               /* call: x30 = return address */
        "add %0, %0, #1\n\t"
        "b 3f\n"
        "2: add %0, %1, #100\n\t"
        "ret\n"                     /* return via x30 */
        "3: adr x11, 4f\n\t"
        "mov x12, x30\n\t"
        "mov x30, x11\n\t"
        "ret\n\t"                   /* ret to a label */
        "mov %0, #0\n"
        "4: mov x30, x12\n\t"
        "add %0, %0, #1000"
        : "=&r"(r)
        : "r"(v)
        : "x9", "x10", "x11", "x12", "x30");
    return r;
}

int main(void) {
    long h = 0;
    for (int i = -3; i < 20; i++) h = h * 31 + dense(i);
    printf("dense: %ld\n", h);
    static const long sp[] = {-1000000, -7, 3, 100, 1024, 65537, 1L << 40, 5, -8, 0};
    h = 0;
    for (int i = 0; i < 10; i++) h = h * 10 + sparse(sp[i]);
    printf("sparse: %ld\n", h);
    int acc = 1;
    for (int i = 0; i < 1000; i++) acc = ops[i % 5](acc, i) & 0xffffff;
    printf("fnptr: %d\n", acc);
    struct shape shapes[] = {{&RECT, 3, 4}, {&TRI, 5, 6}, {&RECT, 10, 10}, {&TRI, 7, 3}};
    for (int i = 0; i < 4; i++) printf("%s %ld\n", shapes[i].v->name(), shapes[i].v->area(&shapes[i]));
    static const unsigned char prog[] = {0, 1, 1, 3, 2, 0, 3, 1, 0, 3, 4};
    printf("threaded: %ld %ld\n", run_threaded(prog, 5), run_threaded(prog, -12345));
    printf("tail calls: %lx\n", even_steps(1000001, 1));
    int arr[64];
    unsigned s = 12345;
    for (int i = 0; i < 64; i++) { s = s * 1103515245 + 12345; arr[i] = (int)(s >> 8) % 1000 - 500; }
    qsort(arr, 64, sizeof arr[0], cmp_int);
    printf("qsort cb: %d %d %d %d\n", arr[0], arr[1], arr[32], arr[63]);
    printf("asm br/blr/ret: %llu\n", (unsigned long long)asm_branches(5));
    /* many indirect calls with changing targets */
    long total = 0;
    for (int i = 0; i < 300000; i++) total += ops[(i * 7) % 5](i & 1023, (i >> 3) & 255) + dense(i & 31);
    printf("indirect total: %ld\n", total);
    return 0;
}
