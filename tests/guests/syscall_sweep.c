// The syscall sweep (issue 12 item 5): calls every AArch64 syscall number from 0 to 479 (the highest Linux 6.x
// number is about 460), then a few far beyond (1000, 4096, 0x4400 the emulator's private hint call, 0x10000), each
// with six zero arguments, and prints one line per number: "NR ok" for a non-negative result or "NR errno" for an
// error. tests/Dqemu.Tests/Syscalls/SyscallSweepTests.cs runs it under qemu-aarch64 and dqemu-native and compares
// the errno classes number by number. Numbers in SKIP are never issued, each for the reason beside it: they would end
// or duplicate the process, block forever with zero arguments, or change something beyond this process as root.
// Before the sweep fd 0 is /dev/null (so calls on fd 0 see the same file under both) and stdout is kept at fd 100;
// after each call every fd from 3 to 99 is closed and fd 0 reopened if a call closed it, so no call's fd changes the
// next call's numbering. Without the argument "sweep" (GuestProgramTests runs every guest bare) it only prints how
// many numbers it would skip.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

static const struct { int nr; const char *why; } SKIP[] = {
    {39, "umount2: never as root, even with a NULL path"},
    {40, "mount: never as root, even with NULL paths"},
    {52, "fchmod: fd 0 is /dev/null, and mode 0 as root leaves it unusable to every other user of the machine"},
    {58, "vhangup: as root it hangs up the controlling terminal of whoever runs the test"},
    {72, "pselect6: no fds and no timeout sleeps forever"},
    {73, "ppoll: no fds and no timeout sleeps forever"},
    {89, "acct: a NULL path turns process accounting off for the whole system as root"},
    {93, "exit: ends the thread"},
    {94, "exit_group: ends the process"},
    {104, "kexec_load: zero segments unload the loaded crash kernel as root"},
    {105, "init_module: never load modules"},
    {106, "delete_module: never unload modules"},
    {117, "ptrace: PTRACE_TRACEME makes the test host this process's tracer"},
    {139, "rt_sigreturn: restores registers from whatever lies at sp (not a call outside a handler)"},
    {142, "reboot: never as root, even though zero magic is EINVAL"},
    {161, "sethostname: a zero length empties the machine's host name as root"},
    {162, "setdomainname: a zero length empties the machine's domain name as root"},
    {170, "settimeofday: NULL, NULL makes qemu-aarch64 7.2 (the reference) itself abort (cpu_exec assertion)"},
    {186, "msgget: IPC_PRIVATE creates a message queue that outlives the process"},
    {187, "msgctl: id 0, IPC_RMID removes another program's message queue as root"},
    {188, "msgrcv: may block on another program's queue 0"},
    {189, "msgsnd: may write to another program's queue 0"},
    {190, "semget: IPC_PRIVATE creates a semaphore set that outlives the process"},
    {191, "semctl: id 0, IPC_RMID removes another program's semaphore set as root"},
    {192, "semtimedop: may block on another program's semaphore set 0"},
    {193, "semop: may block on another program's semaphore set 0"},
    {194, "shmget: IPC_PRIVATE creates a segment that outlives the process"},
    {195, "shmctl: id 0, IPC_RMID removes another program's segment as root"},
    {196, "shmat: attaches another program's segment 0"},
    {197, "shmdt: harmless, skipped with the rest of SysV IPC"},
    {220, "clone: flags 0 is a fork"},
    {224, "swapon: never as root, even with a NULL path"},
    {225, "swapoff: never as root, even with a NULL path"},
    {273, "finit_module: would load a module from fd 0 as root"},
    {277, "seccomp: SECCOMP_SET_MODE_STRICT with zero flags confines the process to read/write/exit"},
    {294, "kexec_file_load: would load a kernel from fd 0 as root"},
};

static const char *skipped(long nr)
{
    for (size_t i = 0; i < sizeof SKIP / sizeof SKIP[0]; i++)
        if (SKIP[i].nr == nr) return SKIP[i].why;
    return NULL;
}

static int out = 1;

static void say(const char *s)
{
    size_t n = strlen(s);
    while (n > 0)
    {
        ssize_t w = write(out, s, n);
        if (w <= 0) exit(3);
        s += w;
        n -= (size_t)w;
    }
}

static void tidy(void)
{
    for (int fd = 3; fd < 100; fd++) close(fd);
    if (fcntl(0, F_GETFD) < 0) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd > 0) { dup2(fd, 0); close(fd); }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "sweep") != 0) {
        printf("syscall_sweep: %zu numbers skipped; run it as 'syscall_sweep sweep'\n", sizeof SKIP / sizeof SKIP[0]);
        return 0;
    }
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0) return 4;
    if (dup2(1, 100) < 0) return 4;
    out = 100;
    close(null);
    // a signal a call raises must not end the sweep (SIGXFSZ, SIGPIPE, ...): it is reported by the next line instead
    for (int s = 1; s < 32; s++)
        if (s != SIGKILL && s != SIGSTOP && s != SIGSEGV && s != SIGBUS && s != SIGILL) signal(s, SIG_IGN);
    static const long extra[] = {1000, 4096, 0x4400, 0x10000};
    char line[160];
    for (long i = 0; i < 480 + (long)(sizeof extra / sizeof extra[0]); i++)
    {
        long nr = i < 480 ? i : extra[i - 480];
        const char *why = skipped(nr);
        if (why) { snprintf(line, sizeof line, "%ld skip\n", nr); say(line); continue; }
        errno = 0;
        long r = syscall(nr, 0L, 0L, 0L, 0L, 0L, 0L);
        int e = errno;
        tidy();
        if (r >= 0) snprintf(line, sizeof line, "%ld ok\n", nr);
        else snprintf(line, sizeof line, "%ld %d\n", nr, e);
        say(line);
    }
    say("done\n");
    return 0;
}
