// exit(3) from a nested call: atexit handlers run in reverse order and stdio is
// flushed; the process exit status is 3.
#include <stdio.h>
#include <stdlib.h>

static void first(void) { printf("atexit: registered first, runs last\n"); }
static void second(void) { printf("atexit: registered second, runs first\n"); }

static void __attribute__((noinline)) deep(int n) {
    if (n == 0) {
        printf("calling exit(3)\n");
        exit(3);
    }
    if (n > 0) deep(n - 1);
    printf("not reached\n");
}

int main(void) {
    atexit(first);
    atexit(second);
    printf("buffered output before exit\n");
    deep(10);
    return 0;
}
