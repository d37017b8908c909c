// Processes: fork (a pipe from child to parent, wait4's status and rusage pointer, waitpid by pid), vfork with
// _exit, posix_spawn and posix_spawnp of host programs, popen/pclose and system() through the host's /bin/sh, execve
// of a "#!" script for /bin/sh and of a host binary, waitid, a SIGCHLD handler woken while the parent waits in
// sigsuspend (the mask from before it comes back afterwards), kill of a process group, a child killed by a signal
// (WIFSIGNALED), and fork of a multi-threaded process (the child has only the forking thread: another thread's
// counter stands still there). Every child's output reaches the parent through a pipe or after a wait, so the
// order is fixed.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static volatile sig_atomic_t chld_seen, chld_pid_ok;
static pid_t expected_pid;

static void on_chld(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    chld_seen = sig;
    chld_pid_ok = info->si_pid == expected_pid && info->si_code == CLD_EXITED && info->si_status == 9;
}

static volatile long spinner_count;
static volatile int spinner_stop;

static void *spinner(void *arg)
{
    (void)arg;
    while (!spinner_stop) {
        spinner_count++;
        sleep_ms(1);
    }
    return NULL;
}

static void report(const char *what, int st)
{
    if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by signal %d\n", what, WTERMSIG(st));
    else printf("%s: status 0x%x\n", what, st);
}

int main(void)
{
    int st;
    char buf[256];

    // fork: the child writes into a pipe, the parent reads it and reaps the child
    int fds[2];
    pipe(fds);
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        close(fds[0]);
        char msg[64];
        int n = snprintf(msg, sizeof msg, "child: getpid differs from parent %d\n", getpid() != getppid());
        write(fds[1], msg, n);
        _exit(7);
    }
    close(fds[1]);
    int n = read(fds[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    fputs(buf, stdout);
    close(fds[0]);
    struct rusage ru;
    pid_t w = wait4(p, &st, 0, &ru);
    printf("wait4 returned the child: %d\n", w == p);
    report("fork child", st);
    printf("no more children: %d %s\n", (int)waitpid(-1, &st, WNOHANG), strerror(errno));

    // vfork: the child only calls _exit
    fflush(stdout);
    p = vfork();
    if (p == 0) _exit(3);
    waitpid(p, &st, 0);
    report("vfork child", st);

    // posix_spawn of a host program, and posix_spawnp through PATH
    char *echo_argv[] = {"echo", "spawned", "echo", NULL};
    fflush(stdout);
    int r = posix_spawn(&p, "/bin/echo", NULL, NULL, echo_argv, environ);
    waitpid(p, &st, 0);
    printf("posix_spawn %d\n", r);
    report("spawned echo", st);
    char *false_argv[] = {"false", NULL};
    r = posix_spawnp(&p, "false", NULL, NULL, false_argv, environ);
    waitpid(p, &st, 0);
    printf("posix_spawnp %d\n", r);
    report("spawned false", st);
    r = posix_spawn(&p, "/nonexistent/program", NULL, NULL, false_argv, environ);
    if (r == 0) waitpid(p, &st, 0);
    printf("posix_spawn of a missing program: %s\n", r == 0 ? (WIFEXITED(st) && WEXITSTATUS(st) == 127 ? "child exit 127" : "??") : strerror(r));

    // popen and system: /bin/sh -c
    FILE *f = popen("echo popen line one; echo popen line two; exit 4", "r");
    while (fgets(buf, sizeof buf, f)) printf("popen read: %s", buf);
    st = pclose(f);
    report("pclose", st);
    fflush(stdout);
    st = system("echo from system; exit 5");
    report("system", st);

    // execve in a child: a "#!" script for the host's /bin/sh, and a host binary
    const char *script = "proc_fork_script.sh";
    f = fopen(script, "w");
    fputs("#!/bin/sh\necho \"script says $1 $2\"\nexit 6\n", f);
    fclose(f);
    chmod(script, 0755);
    fflush(stdout);
    p = fork();
    if (p == 0) {
        char *args[] = {"./proc_fork_script.sh", "hello", "there", NULL};
        execve("./proc_fork_script.sh", args, environ);
        _exit(99);
    }
    waitpid(p, &st, 0);
    report("script", st);
    p = fork();
    if (p == 0) {
        char *args[] = {"/bin/sh", "-c", "echo host shell with $0", NULL};
        execve("/bin/sh", args, environ);
        _exit(99);
    }
    waitpid(p, &st, 0);
    report("host shell", st);
    fflush(stdout);
    p = fork();
    if (p == 0) {
        char *args[] = {"nothing", NULL};
        execve("/nonexistent/program", args, environ);
        printf("execve of a missing file: %s\n", strerror(errno));
        fflush(stdout);
        _exit(1);
    }
    waitpid(p, &st, 0);
    f = fopen("proc_fork_not_exec", "w");
    fclose(f);
    fflush(stdout);
    p = fork();
    if (p == 0) {
        char *args[] = {"not-executable", NULL};
        execve("proc_fork_not_exec", args, environ);
        printf("execve of a file without x: %s\n", strerror(errno));
        fflush(stdout);
        _exit(1);
    }
    waitpid(p, &st, 0);
    unlink("proc_fork_not_exec");
    unlink(script);

    // waitid
    fflush(stdout);
    p = fork();
    if (p == 0) _exit(11);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, p, &si, WEXITED);
    printf("waitid %d: pid matches %d, code %d, status %d\n", r, si.si_pid == p, si.si_code, si.si_status);

    // a SIGCHLD handler, waited for in sigsuspend with SIGCHLD blocked outside it
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t block, old, during;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    fflush(stdout);
    p = fork();
    if (p == 0) {
        sleep_ms(20);
        _exit(9);
    }
    expected_pid = p;
    sigemptyset(&during);
    while (!chld_seen) {
        r = sigsuspend(&during);
    }
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    printf("sigsuspend %d (%s), SIGCHLD %d, its siginfo right %d, SIGCHLD blocked again %d\n", r, strerror(errno),
           (int)chld_seen, (int)chld_pid_ok, sigismember(&now, SIGCHLD));
    waitpid(p, &st, 0);
    report("sigchld child", st);
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGCHLD, SIG_DFL);

    // a process group killed at once, and a child killed by a signal
    fflush(stdout);
    pid_t g1 = fork();
    if (g1 == 0) {
        setpgid(0, 0);
        for (;;) pause();
    }
    setpgid(g1, g1);
    pid_t g2 = fork();
    if (g2 == 0) {
        setpgid(0, g1);
        for (;;) pause();
    }
    setpgid(g2, g1);
    sleep_ms(50);
    printf("kill of the group: %d\n", kill(-g1, SIGKILL));
    waitpid(g1, &st, 0);
    report("group member 1", st);
    waitpid(g2, &st, 0);
    report("group member 2", st);
    fflush(stdout);
    p = fork();
    if (p == 0) {
        raise(SIGABRT);
        _exit(1);
    }
    waitpid(p, &st, 0);
    report("aborting child", st);

    // fork of a process with a second thread: the child has only the forking thread
    pthread_t th;
    pthread_create(&th, NULL, spinner, NULL);
    while (spinner_count < 3) sleep_ms(1);
    fflush(stdout);
    p = fork();
    if (p == 0) {
        long before = spinner_count;
        sleep_ms(50);
        _exit(spinner_count == before ? 0 : 1);
    }
    waitpid(p, &st, 0);
    report("child of a threaded parent (0: the other thread is not there)", st);
    spinner_stop = 1;
    pthread_join(th, NULL);
    printf("done\n");
    return 0;
}
