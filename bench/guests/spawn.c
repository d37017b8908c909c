// Process creation: 300 fork + _exit + waitpid, 300 vfork + _exit + waitpid, and 100 posix_spawn of the host's
// /bin/true + waitpid (fork+exec+wait). Prints how many of each succeeded; the run's time is the measure.
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 300, ok_fork = 0, ok_vfork = 0, ok_spawn = 0, st;
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) _exit(i & 0x7f);
        if (p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == (i & 0x7f)) ok_fork++;
    }
    for (int i = 0; i < n; i++) {
        pid_t p = vfork();
        if (p == 0) _exit(3);
        if (p > 0 && waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 3) ok_vfork++;
    }
    char *args[] = {"true", NULL};
    for (int i = 0; i < n / 3; i++) {
        pid_t p;
        if (posix_spawn(&p, "/bin/true", NULL, NULL, args, environ) == 0 && waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 0) ok_spawn++;
    }
    printf("fork %d/%d, vfork %d/%d, posix_spawn %d/%d\n", ok_fork, n, ok_vfork, n, ok_spawn, n / 3);
    return 0;
}
