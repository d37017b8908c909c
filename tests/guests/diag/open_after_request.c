// Waits for a line on stdin (the test asks the emulator for a diagnosis meanwhile), then opens a file and prints the
// descriptor it got: with fds 0-2 open, Linux and qemu-aarch64 give 3. The diagnosis thread must not hold it.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    char line[64];
    puts("ready");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) return 2;
    int fd = open("/dev/null", O_RDONLY);
    printf("open -> %d\n", fd);
    return 0;
}
