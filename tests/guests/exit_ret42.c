// Returning 42 from main: the exit status is 42 and buffered stdout is flushed.
#include <stdio.h>

int main(int argc, char **argv) {
    (void)argv;
    printf("main returns 42 (argc=%d)\n", argc);
    return 42;
}
