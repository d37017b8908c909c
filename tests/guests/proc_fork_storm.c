// Processes: many forks while SIGCHLDs arrive, as a shell's command substitutions make them. Each round the parent
// forks a child that forks a grandchild of its own, runs a little code the child has not run before (its first
// translations), waits for the grandchild and exits with a status made from both; the parent's SIGCHLD handler runs
// while the next fork is being made. Under the emulator a signal delivered at the moment of a fork once left a lock
// held in the child, which then hung (about one fork in a thousand): 150 rounds make 300 forks. The order of the
// output is fixed; the count of SIGCHLDs is not (they coalesce), so only "at least one" is printed.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t chld_count;

static void on_chld(int sig)
{
    (void)sig;
    chld_count++;
}

static int child_work(int round)
{
    char buf[64];
    snprintf(buf, sizeof buf, "round %d", round);
    return (int)strlen(buf) + round % 7;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_chld;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);

    const int rounds = 150;
    long sum = 0;
    for (int i = 0; i < rounds; i++)
    {
        pid_t child = fork();
        if (child < 0)
        {
            perror("fork");
            return 1;
        }
        if (child == 0)
        {
            pid_t grandchild = fork();
            if (grandchild == 0) _exit(i % 3);
            int st = 0;
            if (grandchild < 0 || waitpid(grandchild, &st, 0) != grandchild || !WIFEXITED(st)) _exit(99);
            _exit(child_work(i) + WEXITSTATUS(st));
        }
        int status = 0;
        if (waitpid(child, &status, 0) != child || !WIFEXITED(status))
        {
            printf("round %d: bad wait (status %#x)\n", i, status);
            return 1;
        }
        sum += WEXITSTATUS(status);
    }
    printf("rounds %d sum %ld sigchld seen %s\n", rounds, sum, chld_count > 0 ? "yes" : "no");
    return 0;
}
