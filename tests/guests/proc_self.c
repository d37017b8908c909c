// /proc/self as a program reads it about itself: cmdline (its own argv, NUL-separated, also under /proc/<pid>/),
// auxv (the vector it started with: each entry equal to getauxval's answer, AT_NULL last, AT_PAGESZ 4096), exe
// (readlink: a path that ends in the program's name) and maps (the stack, and the program's own text).
// ARGS: one "two words" ""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

static int slurp(const char *path, char *buf, int cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int n = 0, r;
    while (n < cap && (r = read(fd, buf + n, cap - n)) > 0) n += r;
    close(fd);
    return n;
}

int main(int argc, char **argv)
{
    static char buf[1 << 16];
    int n = slurp("/proc/self/cmdline", buf, sizeof buf);
    printf("cmdline: %d bytes for %d args:", n, argc);
    int k = 0;
    for (int i = 0; i < n; i += strlen(buf + i) + 1, k++)
        printf(" [%s]", k == 0 ? (strstr(buf, "proc_self") ? "proc_self" : buf) : buf + i);
    printf("\n");
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", getpid());
    static char buf2[1 << 16];
    printf("by pid the same: %d\n", slurp(path, buf2, sizeof buf2) == n && memcmp(buf, buf2, n) == 0);

    n = slurp("/proc/self/auxv", buf, sizeof buf);
    unsigned long *a = (unsigned long *)buf;
    int entries = n / 16, agree = 1, ended = 0, pagesz = 0;
    for (int i = 0; i < entries; i++) {
        if (a[2 * i] == AT_NULL) { ended = i == entries - 1; break; }
        if (a[2 * i] == AT_PAGESZ) pagesz = a[2 * i + 1] == 4096;
        if (a[2 * i] != AT_RANDOM && a[2 * i] != AT_EXECFN && a[2 * i] != AT_PLATFORM && getauxval(a[2 * i]) != a[2 * i + 1]) agree = 0;
    }
    printf("auxv: whole entries %d, AT_NULL last %d, AT_PAGESZ 4096 %d, values as getauxval %d\n", n % 16 == 0, ended, pagesz, agree);

    n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("exe ends in proc_self: %d\n", n > 0 && strlen(buf) >= 9 && strcmp(buf + strlen(buf) - 9, "proc_self") == 0);

    n = slurp("/proc/self/maps", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("maps: a [stack] line %d, an executable line naming the program %d\n", strstr(buf, "[stack]") != NULL,
           strstr(buf, "r-xp") != NULL && strstr(buf, "proc_self") != NULL);
    return 0;
}
