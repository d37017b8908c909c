// An undefined instruction (udf #0, word 0x00000000): the process dies from SIGILL,
// which the host reports as exit status 132 (128+4). Output is flushed first.
#include <stdio.h>

int main(void) {
    printf("before the undefined instruction\n");
    fflush(stdout);
    __asm__ volatile(".inst 0x00000000");
    printf("not reached\n");
    return 0;
}
