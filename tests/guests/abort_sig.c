// abort(): the process dies from SIGABRT (the host sees status 134 = 128+6).
// Output is flushed by hand first, since abort does not flush stdio.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    printf("about to abort\n");
    fflush(stdout);
    abort();
    printf("not reached\n");
    return 0;
}
