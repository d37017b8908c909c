// uname (sysname and machine only: release/version/nodename are host specific),
// getcwd/chdir/fchdir round trips inside the run's temporary directory (printing
// only relative facts), and path limits.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(void) {
    struct utsname u;
    int r = uname(&u);
    printf("uname=%d sysname=%s machine=%s\n", r, u.sysname, u.machine);
    printf("release nonempty: %d nodename nonempty: %d\n", u.release[0] != 0, u.nodename[0] != 0);

    char start[PATH_MAX], p[PATH_MAX];
    if (!getcwd(start, sizeof start)) { printf("getcwd failed\n"); return 1; }
    printf("cwd absolute: %d\n", start[0] == '/');
    mkdir("sub", 0755);
    mkdir("sub/deeper", 0755);
    printf("chdir sub: %d\n", chdir("sub"));
    getcwd(p, sizeof p);
    size_t sl = strlen(start);
    printf("cwd is start + /sub: %d\n", strncmp(p, start, sl) == 0 && strcmp(p + sl, "/sub") == 0);
    printf("chdir deeper: %d\n", chdir("deeper"));
    getcwd(p, sizeof p);
    printf("cwd suffix: %s\n", p + sl);
    printf("chdir ../..: %d\n", chdir("../.."));
    getcwd(p, sizeof p);
    printf("back at start: %d\n", strcmp(p, start) == 0);
    int fd = open("sub/deeper", O_RDONLY | O_DIRECTORY);
    printf("fchdir: %d\n", fchdir(fd));
    close(fd);
    getcwd(p, sizeof p);
    printf("cwd suffix after fchdir: %s\n", p + sl);
    chdir(start);
    errno = 0;
    char tiny[4];
    char *g = getcwd(tiny, sizeof tiny);
    printf("getcwd small buffer: %s errno=%s\n", g ? "succeeded?!" : "NULL", errno == ERANGE ? "ERANGE" : "other");
    printf("chdir missing: %d errno=%s\n", chdir("no/such/dir"), errno == ENOENT ? "ENOENT" : "other");
    rmdir("sub/deeper");
    rmdir("sub");
    char host[256];
    printf("gethostname ok: %d\n", gethostname(host, sizeof host) == 0);
    return 0;
}
