// A system-call fuzzer (issue 14): from a seed it issues N system calls with random numbers (0..511, and a few
// far out of range) and random arguments: small and huge integers, -1, random 64-bit values, lengths (some
// running from a writable buffer into the unmapped page after it), and pointers to that buffer, to unmapped,
// read-only, PROT_NONE, execute-only and code pages, misaligned, tagged and high addresses. Every result is
// the kernel's (or the emulator's) answer to the guest; the program checks after each call that nothing wrote
// outside what it was given (canary pages around the buffer) and that it can go on.
//
// It must not hurt the machine or itself when the emulator passes calls through, so some numbers are never
// issued (exit, clone, execve, mount, reboot, module, swap, set*id, ptrace, seccomp, io_uring, SysV IPC, keys,
// bpf, fanotify, landlock_restrict_self, ...), and the others get arguments that keep them harmless:
//   - fds that can be written, truncated or changed come from its own pool (a pipe, a file, a directory, an
//     eventfd, sockets, an epoll, a memfd, a timerfd; all non-blocking) or are invalid; 0-2 only reach calls that
//     read state; fds a call creates are closed after it, and the pool is rebuilt after calls that may change it;
//   - paths that can be created, removed, renamed, linked, chmod-ed, truncated or opened for writing are fixed
//     names inside its private directory; any other path is opened read-only; symlinks point inside it;
//     mknodat only makes regular files;
//   - kill/tkill/tgkill/sigqueue target only itself or a pid that cannot exist, with neither SIGKILL, SIGSTOP
//     nor glibc's own signals; every other signal has a handler;
//   - munmap/mprotect/mremap/madvise/mlock/MAP_FIXED act only on an arena it maps for that purpose (restored
//     after each such call), or on addresses no mapping can have; new mappings are unmapped again; brk grows
//     and is set back, never below where it started;
//   - waits (futex, sleeps, ppoll, pselect, epoll, sigtimedwait) always have a short timeout, and never on a
//     CPU-time clock of its own;
//   - fcntl never sets an owner that exists, a lease or a directory notification (the host would signal someone);
//     ioctl only sends terminal, FIO* and file requests, never FS_IOC_SETFLAGS, socket, block or filesystem ones;
//     prctl only the options that act on this process alone and that both emulators survive;
//   - limits, the signal mask and handlers, the alternate stack, the cwd, the umask, the affinity, the memory
//     policy and the timer slack are set back after a call that may change them; scheduling setters only name
//     ids that do not exist.
//
// Usage: fuzz_syscalls SEED CALLS [v][Q]
//   v  one line per call: "index nr a0 a1 a2 a3 a4 a5 = result", the first part written before the call so a
//      crash shows the call; " nc" at its end marks a call with an argument that differs between emulators by
//      design (an emulator-owned fd, an address beyond a 45-bit space, a mapping too big to be sure of)
//   Q  leave out what crashes qemu-aarch64 7.2 itself (the reference): masks longer than its own for
//      sched_[gs]etaffinity, socket address and control lengths that are not small (it allocates them on its
//      stack), pselect6 past FD_SETSIZE, msg_iovlen and vlen past a few, socket addresses and control messages that
//      are not the prepared ones (it reads them whatever their length), sigqueue infos with a kernel si_code, a
//      file_handle whose handle_bytes is not small, nanosleep requests it cannot read (it then sleeps for whatever
//      its stack held), munmap at the top of the address space, huge mappings (it tracks every page), a gigabyte of
//      brk (it keeps the pages when the break shrinks), and pointers into the shared file mapping (whose second page
//      is past the end of its file: Linux answers EFAULT, qemu dies of SIGBUS)
// Exit status 0 with the line "fuzz_syscalls: seed S, N calls, F faults, done" (a fault: a synchronous signal a
// call raised, as a sigqueue of SIGSEGV with a kernel si_code); 3 when a canary changed, 4 for a fault outside a
// call. Built with -DFUZZ_DEBUG_MSG it also prints the msghdr of each sendmsg/recvmsg/sendmmsg/recvmmsg.
// ARGS: 1 1500 Q
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef uint64_t u64;
typedef int64_t s64;

static long sc6(long n, long a, long b, long c, long d, long e, long f)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
}
#define SC(n, a, b, c, d, e, f) sc6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#define SC0(n) SC(n, 0, 0, 0, 0, 0, 0)
#define SC1(n, a) SC(n, a, 0, 0, 0, 0, 0)
#define SC2(n, a, b) SC(n, a, b, 0, 0, 0, 0)
#define SC3(n, a, b, c) SC(n, a, b, c, 0, 0, 0)
#define SC4(n, a, b, c, d) SC(n, a, b, c, d, 0, 0)

// ---- random numbers (splitmix64: the same sequence on every emulator) ----

static u64 rng;
static u64 rnd(void)
{
    u64 z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static u64 below(u64 n) { return n ? rnd() % n : 0; }
static int chance(int percent) { return (int)below(100) < percent; }
static u64 pick(const u64 *v, int n) { return v[below(n)]; }
#define PICK(...) ({ const u64 v_[] = { __VA_ARGS__ }; pick(v_, sizeof v_ / sizeof v_[0]); })

// ---- the memory it works in (fixed addresses, clear of both emulators' own mappings) ----

#define PAGE 4096UL
#define R 0x2a5a000000UL              // not a power of two: no "1 << k" integer lands here
#define CANA (R)                      // canary page
#define BUF (R + PAGE)                // 16 writable pages
#define BUFSZ (16 * PAGE)
#define SA BUF                        // struct area: words from the mixes, rewritten before every call
#define SA_SIZE 2048UL
#define PREP (BUF + SA_SIZE)          // prepared structures, rewritten before every call
#define TAIL (BUF + BUFSZ - 64)       // 64 bytes without a NUL up to the guard: strings that run into it
#define GUARD (BUF + BUFSZ)           // never mapped
#define CANB (GUARD + PAGE)           // canary page
#define RO (CANB + PAGE)              // 8 read-only pages: path strings (offset 2048 of the first: zeros)
#define ROSZ (8 * PAGE)
#define NONE (RO + ROSZ)              // PROT_NONE
#define XO (NONE + PAGE)              // PROT_EXEC only
#define FMAP (XO + PAGE)              // MAP_SHARED of a one-page file, two pages: the second is past its end
#define HOLE (R + 0x80000)            // never mapped
#define ARENA (R + 0x100000)          // what the layout calls may change: 32 pages mapped, 32 after them not
#define ARENA_PAGES 32UL
#define REGION_END (ARENA + 2 * ARENA_PAGES * PAGE)

// prepared structures in PREP
#define TS_ZERO (PREP + 0)
#define TS_SMALL (PREP + 16)          // 100 us
#define TS_BADNSEC (PREP + 32)
#define TS_NEG (PREP + 48)
#define SUN_ABSTRACT (PREP + 128)
#define SUN_PATH (PREP + 256)
#define SIN_LOOP (PREP + 384)
#define SA_UNSPEC (PREP + 448)
#define OPEN_HOW (PREP + 512)
#define MSGHDRS (PREP + 640)          // two struct mmsghdr (64 bytes each; a msghdr is the first 56)
#define SOCKLENS (PREP + 768)         // socklen_t values: 16, 128, 0, 110
#define CMSG (PREP + 784)             // one SCM_RIGHTS control message passing the pool's pipe
#define SIGINFO (PREP + 832)          // a siginfo with si_code SI_QUEUE (128 bytes)
#define FHANDLE (PREP + 960)          // a struct file_handle with room for 32 bytes of handle

static int verbose, qemu_safe;
static int nc;                         // the current call has an argument that differs between emulators by design
static long my_pid;
static u64 code_addr;

// ---- the fd pool: fixed numbers 3..13, all non-blocking ----

enum { P_PIPE_R = 3, P_PIPE_W, P_DIR, P_FILE, P_EVENT, P_SOCK_A, P_SOCK_B, P_EPOLL, P_MEMFD, P_STREAM, P_TIMER, POOL_END };
static char abs_dir[2048];             // the private directory, absolute

static void place(long fd, int slot)
{
    if (fd < 0) { fprintf(stderr, "fuzz_syscalls: pool fd %d: error %ld\n", slot, fd); exit(2); }
    if (fd != slot) { SC3(__NR_dup3, fd, slot, O_CLOEXEC); SC1(__NR_close, fd); }
}

static void pool_build(void)
{
    for (int fd = P_PIPE_R; fd < POOL_END; fd++) SC1(__NR_close, fd);
    SC3(__NR_close_range, POOL_END, 199, 0);
    int p[2];
    if (SC2(__NR_pipe2, p, O_NONBLOCK | O_CLOEXEC) < 0) { fprintf(stderr, "fuzz_syscalls: pipe2 failed\n"); exit(2); }
    place(p[0], P_PIPE_R);
    place(p[1] == P_PIPE_R ? SC1(__NR_dup, p[1]) : p[1], P_PIPE_W);
    place(SC4(__NR_openat, AT_FDCWD, abs_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0), P_DIR);
    SC3(__NR_fchmodat, AT_FDCWD, abs_dir, 0700);
    // a name no call is given (the fixed names may become directories or links)
    place(SC4(__NR_openat, P_DIR, ".pool", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600), P_FILE);
    SC2(__NR_ftruncate, P_FILE, 0);
    static char pattern[8192];
    for (unsigned i = 0; i < sizeof pattern; i++) pattern[i] = (char)('a' + i % 26);
    SC4(__NR_pwrite64, P_FILE, pattern, sizeof pattern, 0);
    place(SC2(__NR_eventfd2, 0, O_NONBLOCK | O_CLOEXEC), P_EVENT);
    int sv[2];
    if (SC4(__NR_socketpair, 1, 2 | O_NONBLOCK | O_CLOEXEC, 0, sv) < 0) { fprintf(stderr, "fuzz_syscalls: socketpair failed\n"); exit(2); }
    place(sv[0], P_SOCK_A);
    place(sv[1] == P_SOCK_A ? SC1(__NR_dup, sv[1]) : sv[1], P_SOCK_B);
    place(SC1(__NR_epoll_create1, O_CLOEXEC), P_EPOLL);
    place(SC2(__NR_memfd_create, "fz", 1), P_MEMFD);
    SC2(__NR_ftruncate, P_MEMFD, 4 * PAGE);
    place(SC3(__NR_socket, 1, 1 | O_NONBLOCK | O_CLOEXEC, 0), P_STREAM);
    place(SC2(__NR_timerfd_create, 1, O_NONBLOCK | O_CLOEXEC), P_TIMER);
    SC3(__NR_close_range, POOL_END, 199, 0);
}

// ---- what the process had before: put back after calls that change it ----

static u64 brk_orig;
static long umask_orig;
static struct rlimit limits_orig[16];
static int limits_ok[16];
static u64 mask_orig;
static struct { u64 handler, flags, restorer, mask; } actions_orig[65];
static u64 affinity_orig[16];
static long affinity_len;

// ---- signals: every catchable one has a handler; a real fault jumps back to the loop ----

static sigjmp_buf loop_env;
static volatile unsigned long faults, signals_seen;
static volatile int in_call;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    signals_seen++;
    if (si->si_code > 0 && (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP)) {
        faults++;
        if (in_call) siglongjmp(loop_env, 1);
        static const char msg[] = "fuzz_syscalls: fault outside a call\n";
        SC3(__NR_write, 1, msg, sizeof msg - 1);
        SC1(__NR_exit_group, 4);
    }
}

static int handled(int sig) { return sig >= 1 && sig <= 64 && sig != SIGKILL && sig != SIGSTOP && sig != 32 && sig != 33; }

static void install_handler(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(sig, &sa, NULL);
}

// ---- argument mixes ----

static u64 int_mix(void)
{
    switch (below(15)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return below(64);
    case 3: return (u64)-1;
    case 4: return (u64)(s64)INT32_MIN;
    case 5: return 0x7fffffff;
    case 6: return 0x80000000UL;
    case 7: return 0xffffffffUL;
    case 8: return 0x100000000UL | below(4);
    case 9: return 1UL << below(64);
    case 10: return rnd();
    case 11: return (uint32_t)rnd();
    case 12: return 0x8000000000000000UL;
    case 13: return 0x7fffffffffffffffUL;
    default: return below(4096);
    }
}

static u64 flags_mix(void)
{
    switch (below(6)) {
    case 0: return 0;
    case 1: return 1UL << below(32);
    case 2: return (uint32_t)rnd();
    case 3: return rnd() & 0xffff;
    case 4: return (u64)-1;
    default: return (1UL << below(32)) | (1UL << below(32));
    }
}

static u64 len_mix(void)
{
    switch (below(17)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return below(17);
    case 3: return 8 * below(9);
    case 4: return PAGE;
    case 5: return PAGE + 1;
    case 6: return below(BUFSZ);
    case 7: return BUFSZ;
    case 8: return 64 + below(128);
    case 9: return 0x7fffffff;
    case 10: return 0x80000000UL;
    case 11: return 0x100000000UL;
    case 12: return (u64)-1;
    case 13: return 0x7fffffffffffffffUL;
    case 14: return rnd();
    default: return below(70000);
    }
}

// lengths of calls that move or allocate file data: at most 1 MiB, or refused outright (negative)
static u64 cap_mix(void) { return PICK(0, 1, 100, PAGE, 65536, 1UL << 20, (u64)-1, (u64)-PAGE, 1UL << 63, 12345); }

static u64 ptr_mix(void)
{
    switch (below(20)) {
    case 0: return 0;
    case 1: case 2: case 3: return SA + 8 * below(SA_SIZE / 8);
    case 4: return BUF + below(BUFSZ);
    case 5: return GUARD - below(65);
    case 6: return PREP + 16 * below(64);
    case 7: return RO + (chance(50) ? 2048 : below(PAGE));
    case 8: return NONE + below(PAGE);
    case 9: return XO + 8 * below(PAGE / 8);
    case 10: return qemu_safe ? SA : FMAP + 8 * below(2 * PAGE / 8);
    case 11: return HOLE + PAGE * below(16);
    case 12: return code_addr;
    case 13: return SA | (1UL << 63);
    case 14: return SA | ((1 + below(255)) << 56);
    case 15: return PICK(1UL << 45, (1UL << 45) - 8, (1UL << 45) - PAGE, 1UL << 47, (1UL << 48) - PAGE, (u64)-1,
                         (u64)-PAGE, 0x1000, 0xffff800000000000UL);
    case 16: return rnd();
    case 17: return ARENA + PAGE * below(ARENA_PAGES) + 8 * below(8);
    default: return SA + 1 + 8 * below(SA_SIZE / 8 - 1);
    }
}

static u64 fd_pool(void)
{
    switch (below(10)) {
    case 0: return (u64)-1;
    case 1: return 0x7fffffff;
    case 2: return POOL_END + below(10);
    case 3: return 1000;
    case 4: return 0x100000000UL | (P_PIPE_R + below(POOL_END - P_PIPE_R));
    default: return P_PIPE_R + below(POOL_END - P_PIPE_R);
    }
}

static u64 fd_any(void)
{
    switch (below(12)) {
    case 0: return below(3);
    case 1: nc = 1; return 200 + below(4);
    default: return fd_pool();
    }
}

static u64 fd_target(void)
{
    switch (below(8)) {
    case 0: return (u64)-1;
    case 1: return 0x7fffffff;
    case 2: return 1000 + below(3);
    case 3: nc = 1; return 200 + below(4);
    case 4: return POOL_END + below(20);
    default: return P_PIPE_R + below(POOL_END - P_PIPE_R);
    }
}

static u64 dirfd_mix(void)
{
    switch (below(6)) {
    case 0: case 1: return (u64)(s64)AT_FDCWD;
    case 2: case 3: return P_DIR;
    case 4: return P_FILE;
    default: return fd_pool();
    }
}

// path strings in RO: names inside the private directory first, then read-only ones
static const char *const tmp_names[] = { "a", "b", "sub", "sub/c", "lnk", "c.dat", "fzsock", ".", "", 0, 0 };
#define N_TMP_FIXED 9
static const char *const ro_names[] = { "/", "/proc/self/maps", "/proc/self/exe", "/proc/self/status", "/nonexistent/x",
    "/dev/null", "..", "/proc/self/fd", "/etc" };
static const char *const xattr_names[] = { "user.fz", "trusted.fz", "security.fz", "system.posix_acl_access", "" };
static u64 tmp_paths[11], ro_paths[9], xattr_ptrs[5];
static u64 long_path, too_long_path, long_name;

static u64 bad_string(void)
{
    return PICK(0, TAIL, HOLE, NONE, XO, SA | (1UL << 63), (u64)-1, (1UL << 45) - 4, RO + 2048);
}

static u64 path_tmp(void)   // 'S': may be created, removed, written
{
    switch (below(12)) {
    case 0: return bad_string();
    case 1: return chance(50) ? long_path : too_long_path;
    default: return tmp_paths[below(sizeof tmp_paths / sizeof tmp_paths[0])];
    }
}

static u64 path_ro(void)    // 's': only looked at
{
    return chance(50) ? path_tmp() : ro_paths[below(sizeof ro_paths / sizeof ro_paths[0])];
}

static u64 xattr_name(void)
{
    switch (below(8)) {
    case 0: return bad_string();
    case 1: return long_name;
    default: return xattr_ptrs[below(5)];
    }
}

static int ok_signal(long s) { return s >= 0 && s <= 64 && s != SIGKILL && s != SIGSTOP && s != 32 && s != 33; }

static u64 sig_mix(void)
{
    switch (below(8)) {
    case 0: return 0;
    case 1: return (u64)-1;
    case 2: return 65 + below(3);
    case 3: return 0x100000000UL | SIGUSR1;
    default: { long s; do s = 1 + (long)below(64); while (!ok_signal(s)); return s; }
    }
}

static u64 target_pid(void)  // 'K': itself or no process
{
    switch (below(6)) {
    case 0: return 0x7ffffff0;
    case 1: return (u64)(s64)INT32_MIN;
    case 2: return 0x100000000UL | (u64)my_pid;
    default: return (u64)my_pid;
    }
}
static u64 tid_mix(void)     // 'T'
{
    switch (below(7)) {
    case 0: return 0x7ffffff0;
    case 1: return 0;
    case 2: return (u64)-1;
    case 3: return 0x100000000UL | (u64)my_pid;
    default: return (u64)my_pid;
    }
}
static u64 pid_query(void)   // 'P': only looked at (init's too)
{
    return chance(15) ? 1 : chance(40) ? (u64)my_pid : PICK(0, 0, 0x7ffffff0, (u64)-1, (u64)(s64)INT32_MIN);
}
static u64 pid_self(void)    // 'E': itself or no process
{
    switch (below(6)) {
    case 0: return 0x7ffffff0;
    case 1: return (u64)-1;
    case 2: return (u64)(s64)INT32_MIN;
    case 3: return (u64)my_pid;
    default: return 0;
    }
}
static u64 no_id(void) { return PICK(0x7ffffff0, 0x3ffffff0); }   // 'Q'

static u64 ts_mix(int never_null)
{
    switch (below(12)) {
    case 0: if (!never_null) return 0; return TS_ZERO;
    case 1: case 2: case 3: return TS_ZERO;
    case 4: case 5: return TS_SMALL;
    case 6: return TS_BADNSEC;
    case 7: return TS_NEG;
    case 8: return RO + 2048;
    case 9: return GUARD - 8;
    case 10: return HOLE;
    default: return SA | (1UL << 63);
    }
}

static u64 sockaddr_mix(void)
{
    if (qemu_safe) return PICK(SUN_ABSTRACT, SUN_PATH, SIN_LOOP, SA_UNSPEC);
    return PICK(SUN_ABSTRACT, SUN_ABSTRACT, SUN_PATH, SUN_PATH, SIN_LOOP, SA_UNSPEC, 0, HOLE, GUARD - 4, RO + 2048);
}

static u64 resource_mix(void)
{
    // never CPU (0), FSIZE (1), NPROC (6) or NOFILE (7): the host would enforce them on the fuzzer itself
    return PICK(2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15, 16, 100, (u64)-1, 0x100000000UL | 2, (u64)(s64)INT32_MIN);
}

// an address and length for the layout calls: in the arena (or the unmapped pages after it), or where no mapping
// is (low, non-canonical, past the 45-bit space); never a length that reaches anything else
static void layout_mix(u64 *addr, u64 *len)
{
    u64 a, l;
    if (chance(80)) {
        a = ARENA + PAGE * below(2 * ARENA_PAGES);
        if (chance(15)) a += chance(50) ? 1 + below(PAGE - 1) : PAGE / 2;
        u64 room = REGION_END - a;
        switch (below(8)) {
        case 0: l = 0; break;
        case 1: l = 1 + below(PAGE); break;
        case 2: l = room; break;
        case 3: l = PICK((u64)-1, (u64)-PAGE, 1UL << 63); break;
        default: l = PAGE * (1 + below(room / PAGE)); if (l > room) l = room; break;
        }
    } else {
        switch (below(6)) {
        case 0: a = 0; l = PICK(0, PAGE, 2 * PAGE); break;
        case 1: a = 0x1000; l = PICK(0, PAGE, 2 * PAGE); break;
        case 2: a = qemu_safe ? 1UL << 62 : (u64)-PAGE; l = PICK(PAGE, (u64)-1, 0); break;
        case 3: nc = 1; a = PICK((1UL << 45) - PAGE, 1UL << 45, (1UL << 45) - 2 * PAGE); l = PICK(PAGE, 2 * PAGE, 3 * PAGE); break;
        case 4: nc = 1; a = 1UL << 47; l = qemu_safe ? PAGE : PICK(PAGE, 1UL << 40); break;
        default: a = rnd() | (1UL << 63); l = chance(50) ? PAGE : rnd(); break;
        }
    }
    *addr = a;
    *len = l;
}

// ---- per-call argument kinds ----

// One string per number: a character per argument. X: never issued.
//   i int  x flags  l length  z capped length  p pointer  f fd (read-only use)  F pool fd  D fd target
//   d dirfd  s path (looked at)  S path (may be changed)  N xattr name  n signal  K pid to signal
//   T tid  P pid queried  E own pid or none  Q no such id  t timespec or NULL  w timespec  W nanosleep's
//   m ms timeout  C clock to sleep on
//   j siginfo  h file_handle  A sockaddr  k its length  q pointer to a socklen_t  a layout address (with the next L: its length)  r rlimit resource  c custom
static const char *spec[512];

static void init_spec(void)
{
    static const struct { int nr; const char *s; } t[] = {
        {0, "ip"}, {1, "i"}, {2, "X"}, {3, "ipp"}, {4, "iiipw"}, {5, "SNplx"}, {6, "SNplx"}, {7, "FNplx"},
        {8, "sNpl"}, {9, "sNpl"}, {10, "fNpl"}, {11, "spl"}, {12, "spl"}, {13, "fpl"}, {14, "SN"}, {15, "SN"},
        {16, "FN"}, {17, "pl"}, {18, "ipl"}, {19, "ix"}, {20, "x"}, {21, "Fifp"}, {22, "Fpimpl"}, {23, "f"},
        {24, "fDx"}, {25, "c"}, {26, "x"}, {27, "Fsx"}, {28, "Fi"}, {29, "c"}, {30, "X"}, {31, "iP"}, {32, "Fx"},
        {33, "c"}, {34, "dSx"}, {35, "dSx"}, {36, "c"}, {37, "dSdSx"}, {38, "dSdS"}, {39, "X"}, {40, "X"},
        {41, "X"}, {42, "iii"}, {43, "sp"}, {44, "fp"}, {45, "Sz"}, {46, "Fz"}, {47, "Fxiz"}, {48, "dsx"},
        {49, "s"}, {50, "f"}, {51, "X"}, {52, "Fx"}, {53, "dSx"}, {54, "dSiix"}, {55, "Fii"}, {56, "c"},
        {57, "D"}, {58, "X"}, {59, "px"}, {60, "X"}, {61, "fpl"}, {62, "Fii"}, {63, "Fpl"}, {64, "Fpl"},
        {65, "Fpi"}, {66, "Fpi"}, {67, "Fpli"}, {68, "Fpli"}, {69, "Fpiii"}, {70, "Fpiii"}, {71, "FFpz"},
        {72, "c"}, {73, "piwpl"}, {74, "Fplx"}, {75, "Fpix"}, {76, "FpFpzx"}, {77, "FFzx"}, {78, "dspl"},
        {79, "dspx"}, {80, "fp"}, {81, "X"}, {82, "F"}, {83, "F"}, {84, "Fiix"}, {85, "ix"}, {86, "Fxpp"},
        {87, "Fp"}, {88, "dSpx"}, {89, "X"}, {90, "pp"}, {91, "X"}, {92, "X"}, {93, "X"}, {94, "X"},
        {95, "iEpxp"}, {96, "p"}, {97, "X"}, {98, "c"}, {99, "pl"}, {100, "Tpp"}, {101, "Wp"}, {102, "ip"},
        {103, "X"}, {104, "X"}, {105, "X"}, {106, "X"}, {107, "X"}, {108, "ip"}, {109, "i"}, {110, "X"},
        {111, "i"}, {112, "X"}, {113, "ip"}, {114, "ip"}, {115, "Cxwp"}, {116, "X"}, {117, "X"}, {118, "Qp"},
        {119, "Qip"}, {120, "P"}, {121, "Pp"}, {122, "c"}, {123, "c"}, {124, ""}, {125, "i"}, {126, "i"},
        {127, "Pp"}, {128, ""}, {129, "Kn"}, {130, "Tn"}, {131, "KTn"}, {132, "pp"}, {133, "X"}, {134, "c"},
        {135, "ippl"}, {136, "pl"}, {137, "ppwl"}, {138, "Knj"}, {139, "X"}, {140, "iQi"}, {141, "iP"},
        {142, "X"}, {143, "X"}, {144, "X"}, {145, "X"}, {146, "X"}, {147, "X"}, {148, "ppp"}, {149, "X"},
        {150, "ppp"}, {151, "X"}, {152, "X"}, {153, "p"}, {154, "EE"}, {155, "P"}, {156, "P"}, {157, ""},
        {158, "ip"}, {159, "X"}, {160, "p"}, {161, "X"}, {162, "X"}, {163, "ip"}, {164, "rp"}, {165, "ip"},
        {166, "x"}, {167, "c"}, {168, "ppp"}, {169, "pp"}, {170, "X"}, {171, "X"}, {172, ""}, {173, ""},
        {174, ""}, {175, ""}, {176, ""}, {177, ""}, {178, ""}, {179, "p"}, {180, "X"}, {181, "X"},
        {182, "Fpliw"}, {183, "Fplpw"}, {184, "X"}, {185, "Fpp"}, {186, "X"}, {187, "X"}, {188, "X"},
        {189, "X"}, {190, "X"}, {191, "X"}, {192, "X"}, {193, "X"}, {194, "X"}, {195, "X"}, {196, "X"},
        {197, "p"}, {198, "iii"}, {199, "iiip"}, {200, "FAk"}, {201, "Fi"}, {202, "Fpq"}, {203, "FAk"},
        {204, "Fpq"}, {205, "Fpq"}, {206, "FplxAk"}, {207, "Fplxpq"}, {208, "Fiipl"}, {209, "fiipq"},
        {210, "Fi"}, {211, "c"}, {212, "c"}, {213, "Fiz"}, {214, "c"}, {215, "aL"}, {216, "c"}, {217, "X"},
        {218, "X"}, {219, "X"}, {220, "X"}, {221, "X"}, {222, "c"}, {223, "Fiii"}, {224, "X"}, {225, "X"},
        {226, "aLx"}, {227, "aLx"}, {228, "aL"}, {229, "aL"}, {230, "X"}, {231, ""}, {232, "aLp"}, {233, "c"},
        {234, "aLiix"}, {235, "aLipix"}, {236, "ppic"}, {237, "ipi"}, {238, "X"}, {239, "X"}, {240, "KTnj"},
        {241, "X"}, {242, "Fpqx"}, {243, "c"}, {260, "Epxp"}, {261, "c"}, {262, "X"}, {263, "X"},
        {264, "dshpx"}, {265, "X"}, {266, "X"}, {267, "X"}, {268, "X"}, {269, "c"}, {270, "X"}, {271, "X"},
        {272, "PPiii"}, {273, "X"}, {274, "Qpx"}, {275, "Pplx"}, {276, "dSdSx"}, {277, "X"}, {278, "plx"},
        {279, "sx"}, {280, "X"}, {281, "X"}, {282, "X"}, {283, "ixi"}, {284, "aLx"}, {285, "FpFpzx"},
        {286, "Fpiiix"}, {287, "Fpiiix"}, {288, "aLxi"}, {289, "xx"}, {290, "i"}, {291, "dsxxp"},
        {292, "iiipwp"}, {293, "plxi"}, {294, "X"}, {424, "X"}, {425, "X"}, {426, "X"}, {427, "X"},
        {428, "X"}, {429, "X"}, {430, "X"}, {431, "X"}, {432, "X"}, {433, "X"}, {434, "Px"}, {435, "X"},
        {436, "c"}, {437, "c"}, {438, "X"}, {439, "dsxx"}, {440, "X"}, {441, "Fpiwpl"}, {442, "X"}, {443, "X"},
        {444, "plx"}, {445, "Fipx"}, {446, "X"}, {447, "x"}, {448, "Fx"}, {449, "pixwi"}, {450, "aLix"},
        {451, "Fppx"}, {452, "dSxx"}, {453, "X"}, {454, "pxix"}, {455, "pxixwi"}, {456, "pxii"},
        {457, "pplx"}, {458, "pplx"}, {459, "ippx"}, {460, "X"}, {461, "ppx"}, {462, "X"}, {463, "X"},
        {464, "dsxNpl"}, {465, "dsxpl"}, {466, "X"}, {467, "X"},
    };
    for (int nr = 0; nr < 512; nr++) spec[nr] = "iiiiii"; // numbers Linux gives no call (ENOSYS everywhere)
    for (unsigned k = 0; k < sizeof t / sizeof t[0]; k++) spec[t[k].nr] = t[k].s;
}

// calls that take long on a disk or sleep: issued a fifth as often
static int slow(long nr) { return nr == 82 || nr == 83 || nr == 84 || nr == 101 || nr == 115 || nr == 213; }

static long pick_number(void)
{
    for (;;) {
        u64 k = below(100);
        long nr;
        if (k < 4) nr = 295 + (long)below(129);                       // no call on arm64 (ENOSYS)
        else if (k < 6) nr = 468 + (long)below(44);                  // past the last call
        else if (k < 8) return (long)PICK(512, 600, 1000, 0x4400, 0x4401, 0x4402, 0x4403, 0x440f, 0x4410,
                                        0x100000000UL | 300, 0x100000000UL | 500, (u64)-1, 0x7fffffff, 0x80000000UL | 470);
        else if (k < 20) nr = 424 + (long)below(44);
        else nr = (long)below(295);
        if (spec[nr][0] == 'X') continue;
        if (slow(nr) && !chance(20)) continue;
        return nr;
    }
}

static u64 gen(char kind)
{
    switch (kind) {
    case 'i': return int_mix();
    case 'x': return flags_mix();
    case 'l': return len_mix();
    case 'z': return cap_mix();
    case 'p': return ptr_mix();
    case 'f': return fd_any();
    case 'F': return fd_pool();
    case 'D': return fd_target();
    case 'd': return dirfd_mix();
    case 's': return path_ro();
    case 'S': return path_tmp();
    case 'N': return xattr_name();
    case 'n': return sig_mix();
    case 'K': return target_pid();
    case 'T': return tid_mix();
    case 'P': return pid_query();
    case 'E': return pid_self();
    case 'Q': return no_id();
    case 't': return ts_mix(0);
    case 'w': return ts_mix(1);
    case 'W': return qemu_safe ? PICK(TS_ZERO, TS_SMALL, TS_BADNSEC, TS_NEG, RO + 2048) : ts_mix(0);
    case 'm': return PICK(0, 1);
    // clocks to sleep on: never a CPU-time clock of this process (it barely runs while it sleeps on it)
    case 'C': return PICK(0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1000, (u64)-1, 0x100000001UL);
    case 'A': return sockaddr_mix();
    case 'q': return qemu_safe || chance(70) ? PICK(SOCKLENS, SOCKLENS + 4, SOCKLENS + 8, SOCKLENS + 12, 0, HOLE,
                                                    RO + 2048, GUARD - 2) : ptr_mix();
    case 'h': return qemu_safe ? PICK(FHANDLE, FHANDLE, 0, HOLE) : chance(50) ? FHANDLE : ptr_mix();
    case 'j': return qemu_safe ? PICK(SIGINFO, RO + 2048, HOLE, 0, GUARD - 8) : chance(50) ? SIGINFO : ptr_mix();
    case 'k': return qemu_safe ? PICK(0, 1, 2, 10, 16, 110, 111, 128, (u64)-1, 0x100000010UL) : len_mix();
    case 'r': return resource_mix();
    default: return int_mix();
    }
}

// ---- custom argument rules ----

static u64 open_flags_ro(u64 f)
{
    f &= ~(u64)(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_EXCL | __O_TMPFILE);
    return f | O_NOCTTY | O_NONBLOCK;
}

static int is_tmp_path(u64 p)
{
    for (unsigned k = 0; k < sizeof tmp_paths / sizeof tmp_paths[0]; k++) if (p == tmp_paths[k]) return 1;
    return p == long_path || p == too_long_path;
}

static void custom(long nr, u64 *a)
{
    switch (nr) {
    case 25: { // fcntl: never F_SETOWN_EX (15), F_SETLEASE (1024) or F_NOTIFY (1026), which make the host signal someone
        a[0] = fd_pool();
        a[1] = PICK(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16, 36, 37, 38, 1025, 1027, 1030, 1031, 1032, 1033, 1034,
                    1035, 1036, 1037, 1038, (u64)-1, 0x7fff, 0x100000003UL);
        switch (a[1]) {
        case 8: a[2] = PICK(0, 0x7ffffff0); break;                    // F_SETOWN: nobody, or no process
        case 0: case 1030: a[2] = PICK(0, 3, 14, 100, 1000, (u64)-1, 0x7fffffff); break;
        case 1031: a[2] = PICK(0, PAGE, 1UL << 16, 1UL << 20, (u64)-1); break;
        case 10: a[2] = below(66); break;
        case 4: case 2: case 1033: a[2] = flags_mix(); break;
        default: a[2] = chance(70) ? ptr_mix() : int_mix(); break;
        }
        break;
    }
    case 29: { // ioctl: terminal, FIO* and file requests; never FS_IOC_SETFLAGS (immutable files) nor the socket,
               // block-device and filesystem families (network and disk configuration)
        a[0] = fd_pool();
        a[1] = chance(80)
            ? PICK(0x5401, 0x5402, 0x5403, 0x5404, 0x802C542A, 0x402C542B, 0x5413, 0x5414, 0x541B, 0x5411, 0x540F,
                   0x5429, 0x5424, 0x80045430, 0x5415, 0x80045440, 0x80045438, 0x1268, 0x5410, 0x5421, 0x5452,
                   0x40045431, 0x5423, 0x5418, 0x5416, 0x5417, 0x5420, 0x5412, 0x5460, 0x80081272, 0x80086601,
                   0x5451, 0x5450, 0x540C, 0x540D, 0x5422, 0x5409, 0x540A, 0x540B, 0x5425, 0x540E, 0x40049409,
                   0x5441, 0x1, 0x2)
            : PICK(0, (u64)-1, 0x5400 | below(0x80), below(256), 0x100005401UL);
        a[2] = chance(70) ? ptr_mix() : int_mix();
        break;
    }
    case 33: // mknodat: regular files only
        a[0] = dirfd_mix(); a[1] = path_tmp();
        a[2] = (below(0777 + 1)) | (chance(70) ? S_IFREG : 0);
        a[3] = int_mix();
        break;
    case 36: // symlinkat(target, dirfd, linkpath): the target is a name inside the directory too
        a[0] = path_tmp(); a[1] = dirfd_mix(); a[2] = path_tmp();
        break;
    case 56: { // openat: anything on our own names, read-only elsewhere
        a[0] = dirfd_mix();
        a[1] = path_ro();
        a[2] = chance(50) ? flags_mix() : PICK(O_RDONLY, O_RDWR | O_CREAT, O_WRONLY | O_TRUNC | O_CREAT,
            O_RDONLY | O_DIRECTORY, O_PATH, O_RDWR | __O_TMPFILE, O_RDONLY | O_NOFOLLOW, O_CREAT | O_EXCL | O_RDWR);
        if (!is_tmp_path(a[1])) a[2] = open_flags_ro(a[2]);
        a[3] = chance(50) ? 0644 : int_mix();
        break;
    }
    case 437: { // openat2(dirfd, path, how, size): struct open_how { u64 flags, mode, resolve }
        a[0] = dirfd_mix();
        a[1] = path_ro();
        u64 *how = (u64 *)OPEN_HOW;
        how[0] = chance(50) ? flags_mix() : PICK(O_RDONLY, O_RDWR | O_CREAT, O_RDONLY | O_DIRECTORY, O_PATH);
        if (!is_tmp_path(a[1])) how[0] = open_flags_ro(how[0]);
        how[1] = chance(50) ? 0 : int_mix();
        how[2] = chance(50) ? 0 : flags_mix();
        a[2] = chance(85) ? OPEN_HOW : ptr_mix();
        a[3] = chance(70) ? 24 : len_mix();
        break;
    }
    case 98: { // futex: every wait has a timeout
        static const u64 ops[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
        u64 op = chance(95) ? ops[below(16)] : (uint32_t)rnd() & ~0x180UL;
        int base = (int)(op & 0x7f);
        op |= (chance(50) ? 128 : 0) | (chance(20) ? 256 : 0);
        a[0] = PICK(SA, SA + 4 * below(SA_SIZE / 4), SA + 1, RO + 2048, TS_ZERO, XO, NONE, HOLE, GUARD - 4, GUARD - 2,
                    code_addr, SA | (1UL << 63), 0, ARENA);
        a[1] = op;
        a[2] = chance(50) ? 0 : int_mix();
        a[3] = (base == 0 || base == 6 || base == 9 || base == 11 || base == 13 || base > 13) ? ts_mix(1) : int_mix();
        a[4] = PICK(SA, SA + 4 * below(SA_SIZE / 4), TS_ZERO + 4, RO + 2048, XO, HOLE, GUARD - 2, 0, code_addr);
        a[5] = chance(30) ? (u64)-1 : int_mix();
        break;
    }
    case 134: { // rt_sigaction
        a[0] = chance(90) ? below(67) : PICK((u64)-1, 0x10000000aUL, 1000);
        a[1] = ptr_mix(); a[2] = ptr_mix();
        a[3] = chance(80) ? 8 : len_mix();
        break;
    }
    case 122: // sched_setaffinity(pid, len, mask)
        a[0] = pid_self(); a[1] = qemu_safe ? PICK(0, 1, 4, 8, 16, 64, 128, 7) : len_mix(); a[2] = ptr_mix();
        break;
    case 123: // sched_getaffinity(pid, len, mask)
        a[0] = pid_query(); a[1] = qemu_safe ? PICK(0, 1, 4, 8, 16, 64, 128, 7) : len_mix(); a[2] = ptr_mix();
        break;
    case 211: case 212: case 243: case 269: { // sendmsg/recvmsg(fd, msg, flags), recvmmsg/sendmmsg(fd, vec, vlen, flags, tmo)
        u64 *m = (u64 *)MSGHDRS;
        for (int k = 0; k < 2; k++, m += 8) {
            m[0] = chance(50) ? 0 : qemu_safe || chance(50) ? sockaddr_mix() : ptr_mix();
            m[1] = qemu_safe || chance(70) ? PICK(0, 16, 110, 128) : int_mix();
            m[2] = chance(80) ? SA + 16 * below(8) : ptr_mix();      // iovecs: pairs of words from the mixes
            m[3] = qemu_safe || chance(80) ? below(5) : int_mix();
            m[4] = chance(40) ? 0 : qemu_safe ? CMSG : chance(50) ? PICK(CMSG, HOLE, RO + 2048) : ptr_mix();
            m[5] = qemu_safe ? PICK(0, 16, 24) : chance(70) ? PICK(0, 16, 24, 64, 4096) : len_mix();
            m[6] = chance(80) ? 0 : flags_mix();
            m[7] = int_mix();
        }
        a[0] = fd_pool();
        a[1] = chance(80) || qemu_safe ? MSGHDRS : ptr_mix();
        if (nr == 211 || nr == 212) a[2] = chance(50) ? PICK(0, 0x40 /* DONTWAIT */, 0x4000 /* NOSIGNAL */) : flags_mix();
        else { a[2] = qemu_safe || chance(80) ? below(3) : int_mix(); a[3] = flags_mix(); a[4] = ts_mix(0); }
        break;
    }
    case 72: // pselect6(n, in, out, ex, timeout, sigdata): qemu-aarch64 7.2 aborts (glibc's FD_SETSIZE check) past 1024
        a[0] = qemu_safe ? below(1025) : chance(50) ? below(1100) : int_mix();
        a[1] = ptr_mix(); a[2] = ptr_mix(); a[3] = ptr_mix(); a[4] = ts_mix(1); a[5] = ptr_mix();
        break;
    case 164: // setrlimit
        a[0] = resource_mix(); a[1] = ptr_mix();
        break;
    case 261: // prlimit64(pid, resource, new, old)
        a[0] = PICK(0, 0, (u64)my_pid, 0x7ffffff0, (u64)-1);
        a[1] = resource_mix(); a[2] = chance(50) ? 0 : ptr_mix(); a[3] = ptr_mix();
        break;
    case 167: { // prctl: options that affect only this process and that both emulators survive
        a[0] = chance(85)
            ? PICK(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 19, 20, 21, 23, 25, 27, 29, 30, 31, 32,
                   33, 34, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 51, 52, 53, 56, 57, 58, 64, 66, 68, 0x41555856)
            : PICK(0, 1000, (u64)-1, 0x7fffffff, 0x100000010UL);
        a[1] = chance(60) ? ptr_mix() : int_mix();
        if (a[0] == 29) a[1] = PICK(0, 1, 50000);                    // PR_SET_TIMERSLACK: never a long one
        if (a[0] == 16 || a[0] == 40 || a[0] == 0x41555856) a[1] = ptr_mix();
        a[2] = int_mix(); a[3] = int_mix(); a[4] = int_mix();
        break;
    }
    case 214: { // brk: grow (set back after) or ask for what cannot be
        nc = 0;
        switch (below(8)) {
        case 0: a[0] = 0; break;
        case 1: a[0] = brk_orig; break;
        case 2: a[0] = brk_orig + PAGE * (1 + below(64)); break;
        case 3: a[0] = brk_orig + (1 + below(100)); break;
        case 4: a[0] = PICK(0x1000, 0x400000, 0x10000); break;
        case 5: a[0] = PICK(rnd() | (1UL << 63), (u64)-1, (u64)-PAGE + 1, (u64)-PAGE); break;
        // qemu-aarch64 7.2 keeps a shrunk break's pages mapped: a gigabyte of them would differ from Linux for the
        // rest of the run (Q leaves it out)
        case 6: nc = 1; a[0] = qemu_safe ? brk_orig + 64 * PAGE : brk_orig + (1UL << 30); break;
        default: nc = 1; a[0] = PICK(1UL << 45, (1UL << 45) - PAGE, 1UL << 47); break;
        }
        break;
    }
    case 222: { // mmap
        int fixed = chance(30), noreplace = !fixed && chance(15);
        if (fixed || noreplace) layout_mix(&a[0], &a[1]);
        else {
            a[0] = chance(50) ? 0 : PICK(ARENA, ARENA + 40 * PAGE, HOLE, 0x1000, (u64)-PAGE, 1UL << 47, 0x10000);
            if (chance(12)) { nc = 1; a[1] = qemu_safe ? PICK(1UL << 30, 1UL << 31) : PICK(1UL << 30, 1UL << 40, 1UL << 45, 1UL << 46); }
            else a[1] = PICK(PAGE, 2 * PAGE, 1, 100, 16 * PAGE, 0, (u64)-1, (u64)-PAGE, 1UL << 63, 1UL << 20);
        }
        a[2] = chance(85) ? below(8) : flags_mix();
        u64 flags = PICK(MAP_PRIVATE, MAP_PRIVATE, MAP_PRIVATE, MAP_SHARED, 3 /* SHARED_VALIDATE */, 0, 0xf);
        if (chance(65)) flags |= MAP_ANONYMOUS;
        if (fixed) flags |= MAP_FIXED;
        if (noreplace) flags |= MAP_FIXED_NOREPLACE;
        if (chance(30)) flags |= PICK(MAP_NORESERVE, MAP_GROWSDOWN, MAP_STACK, MAP_HUGETLB, 0x80000 /* SYNC */,
                                      MAP_NONBLOCK, MAP_POPULATE, MAP_LOCKED, 0x40, 1UL << 30);
        if (a[1] > (1UL << 20)) flags &= ~(u64)(MAP_POPULATE | MAP_LOCKED);
        a[3] = flags;
        a[4] = (flags & MAP_ANONYMOUS) && chance(70) ? (u64)-1 : fd_pool();
        a[5] = PICK(0, 0, 0, PAGE, 1, (u64)-PAGE, 1UL << 40, rnd() & ~0xfffUL);
        break;
    }
    case 216: { // mremap(old, old_len, new_len, flags, new)
        u64 na, nl;
        layout_mix(&a[0], &a[1]);
        layout_mix(&na, &nl);
        a[2] = chance(70) ? PAGE * (1 + below(ARENA_PAGES)) : nl;
        a[3] = below(8) | (chance(5) ? 8 : 0);
        a[4] = na;
        break;
    }
    case 233: { // madvise: never MADV_HWPOISON (100) or MADV_SOFT_OFFLINE (101)
        layout_mix(&a[0], &a[1]);
        a[2] = chance(80) ? below(27) : flags_mix();
        if (a[2] == 100 || a[2] == 101) a[2] = 0;
        break;
    }
    case 236: // get_mempolicy(mode, nodemask, maxnode, addr, flags)
        a[0] = ptr_mix(); a[1] = ptr_mix(); a[2] = len_mix();
        { u64 l; layout_mix(&a[3], &l); }
        a[4] = flags_mix();
        break;
    case 436: { // close_range: never 0-2
        switch (below(6)) {
        case 0: a[0] = P_PIPE_R + below(POOL_END - P_PIPE_R); a[1] = a[0] + below(4); break;
        case 1: a[0] = POOL_END; a[1] = 60; break;
        case 2: a[0] = POOL_END; a[1] = 0xffffffffUL; nc = 1; break;
        case 3: a[0] = 200; a[1] = 210; nc = 1; break;
        case 4: a[0] = 9; a[1] = 5; break;
        default: a[0] = 0xffffffffUL; a[1] = 0xffffffffUL; break;
        }
        a[2] = PICK(0, 0, 2, 4, 6, 1, (u64)-1);
        break;
    }
    default:
        break;
    }
}

// ---- after a call: close what it created, put back what it changed ----

static int creates_fd(long nr)
{
    switch (nr) {
    case 19: case 20: case 23: case 24: case 26: case 56: case 74: case 85: case 198: case 202: case 242: case 279:
    case 434: case 437: case 444: case 447:
        return 1;
    default:
        return 0;
    }
}

static void restore_arena(void)
{
    SC(__NR_mmap, ARENA, ARENA_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    SC2(__NR_munmap, ARENA + ARENA_PAGES * PAGE, ARENA_PAGES * PAGE);
}

static int in_region(u64 addr) { return addr >= ARENA && addr < REGION_END; }

static int is_layout(long nr)
{
    switch (nr) {
    case 215: case 216: case 222: case 226: case 227: case 228: case 229: case 232: case 233: case 234: case 235:
    case 284: case 288: case 450: case 236: case 237:
        return 1;
    default:
        return 0;
    }
}

static void after(long nr, const u64 *a, long r)
{
    if (creates_fd(nr) || nr == 59 || nr == 199 || nr == 212 || nr == 243 || nr == 25) {
        if (r >= 200 && r < (1L << 20) && (creates_fd(nr) || (nr == 25 && (a[1] == 0 || a[1] == 1030))))
            SC1(__NR_close, r);
        SC3(__NR_close_range, POOL_END, 199, 0);
    }
    switch (nr) {
    case 24: case 25: case 29: case 32: case 57: case 436: case 200: case 201: case 203: case 208: case 210: case 86:
    case 21:
        pool_build();
        break;
    case 49: case 50:
        SC1(__NR_fchdir, P_DIR);
        break;
    case 52: case 53: case 54: case 55: case 452:
        SC3(__NR_fchmodat, AT_FDCWD, abs_dir, 0700);
        SC3(__NR_fchmodat, P_DIR, ".pool", 0600);
        break;
    case 166:
        SC1(__NR_umask, umask_orig);
        break;
    case 214:
        SC1(__NR_brk, brk_orig);
        break;
    case 164: case 261:
        for (int k = 0; k < 16; k++) if (limits_ok[k]) setrlimit(k, &limits_orig[k]);
        break;
    case 134: {
        long sig = (long)(int)a[0];
        if (sig >= 1 && sig <= 64) SC4(__NR_rt_sigaction, sig, &actions_orig[sig], 0, 8);
        break;
    }
    case 135:
        SC4(__NR_rt_sigprocmask, SIG_SETMASK, &mask_orig, 0, 8);
        break;
    case 132: {
        stack_t ss = { .ss_flags = SS_DISABLE };
        SC2(__NR_sigaltstack, &ss, 0);
        break;
    }
    case 122:
        if (affinity_len > 0) SC3(__NR_sched_setaffinity, 0, affinity_len, affinity_orig);
        break;
    case 237: case 235: case 450:
        SC3(__NR_set_mempolicy, 0, 0, 0);
        break;
    case 167:
        SC2(__NR_prctl, PR_SET_TIMERSLACK, 0);
        break;
    }
    // a mapping a call made outside the arena goes again (at 0 too: root may map below mmap_min_addr)
    if (nr == 222 && (u64)r < (1UL << 48) && !in_region((u64)r))
        SC2(__NR_munmap, r, (a[1] + PAGE - 1) & ~(PAGE - 1));
    if (nr == 216 && (u64)r < (1UL << 48) && !in_region((u64)r))
        SC2(__NR_munmap, r, (a[2] + PAGE - 1) & ~(PAGE - 1));
    if (is_layout(nr)) restore_arena();
}

// ---- the buffer's contents before each call ----

static void refill(void)
{
    u64 *w = (u64 *)SA;
    for (unsigned k = 0; k < SA_SIZE / 8; k++) {
        u64 c = below(10);
        w[k] = c < 5 ? ptr_mix() : c < 8 ? int_mix() : len_mix();
    }
    u64 *p = (u64 *)PREP;
    memset(p, 0, 1024 - 64);
    uint32_t *fh = (uint32_t *)FHANDLE;
    fh[0] = (uint32_t)PICK(32, 8, 0, 128, 129);
    p[2] = 0; p[3] = 100000;                                       // TS_SMALL
    p[4] = 0; p[5] = 1000000000;                                   // TS_BADNSEC
    p[6] = (u64)-1; p[7] = 0;                                      // TS_NEG
    unsigned char *s = (unsigned char *)SUN_ABSTRACT;
    s[0] = 1; memcpy(s + 3, "fz-sock", 7);                        // AF_UNIX, "\0fz-sock"
    s = (unsigned char *)SUN_PATH;
    s[0] = 1; memcpy(s + 2, "fzsock", 7);
    s = (unsigned char *)SIN_LOOP;
    s[0] = 2; s[3] = 9; s[4] = 127; s[7] = 1;                      // AF_INET 127.0.0.1:9
    uint32_t *sl = (uint32_t *)SOCKLENS;
    sl[0] = 16; sl[1] = 128; sl[2] = 0; sl[3] = 110;
    uint32_t *cm = (uint32_t *)CMSG;
    cm[0] = 20; cm[1] = 0; cm[2] = 1; cm[3] = 1; cm[4] = P_PIPE_R;  // cmsg_len (u64), SOL_SOCKET, SCM_RIGHTS, fd
    int32_t *si = (int32_t *)SIGINFO;
    si[0] = SIGUSR1; si[2] = -1; si[4] = (int32_t)my_pid; si[6] = 42;  // signo, code SI_QUEUE, pid, value
    memset((void *)TAIL, 'T', 64);
}

// ---- canaries ----

static int canaries_intact(void)
{
    const unsigned char *a = (const unsigned char *)CANA, *b = (const unsigned char *)CANB;
    for (unsigned k = 0; k < PAGE; k++) if (a[k] != 0xC5 || b[k] != 0xC5) return 0;
    return 1;
}

// ---- set-up ----

static void map_or_die(u64 addr, u64 len, int prot, int flags, int fd)
{
    long r = SC(__NR_mmap, addr, len, prot, flags | MAP_FIXED, fd, 0);
    if (r != (long)addr) { fprintf(stderr, "fuzz_syscalls: cannot map 0x%lx: %ld\n", (unsigned long)addr, r); exit(2); }
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
    (void)st; (void)f;
    if (type == FTW_DP || type == FTW_D || type == FTW_DNR) rmdir(path); else unlink(path);
    return 0;
}

static u64 put_string(u64 *at, const char *s)
{
    u64 p = *at;
    size_t n = strlen(s) + 1;
    memcpy((void *)p, s, n);
    *at += n;
    return p;
}

static void setup(void)
{
    char cwd[1024];
    if (!getcwd(cwd, sizeof cwd)) { fprintf(stderr, "fuzz_syscalls: getcwd failed\n"); exit(2); }
    snprintf(abs_dir, sizeof abs_dir, "%s/fzd", cwd);
    nftw(abs_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (mkdir(abs_dir, 0700) != 0 || chdir(abs_dir) != 0) { fprintf(stderr, "fuzz_syscalls: cannot make %s\n", abs_dir); exit(2); }
    mkdir("sub", 0700);

    int anon = MAP_PRIVATE | MAP_ANONYMOUS;
    map_or_die(CANA, PAGE, PROT_READ | PROT_WRITE, anon, -1);
    map_or_die(BUF, BUFSZ, PROT_READ | PROT_WRITE, anon, -1);
    map_or_die(CANB, PAGE, PROT_READ | PROT_WRITE, anon, -1);
    memset((void *)CANA, 0xC5, PAGE);
    memset((void *)CANB, 0xC5, PAGE);
    map_or_die(RO, ROSZ, PROT_READ | PROT_WRITE, anon, -1);
    u64 at = RO;
    for (int k = 0; k < N_TMP_FIXED; k++) tmp_paths[k] = put_string(&at, tmp_names[k]);
    char abs_path[2100];
    snprintf(abs_path, sizeof abs_path, "%s/a", abs_dir);
    tmp_paths[N_TMP_FIXED] = put_string(&at, abs_path);
    snprintf(abs_path, sizeof abs_path, "%s/sub/c", abs_dir);
    tmp_paths[N_TMP_FIXED + 1] = put_string(&at, abs_path);
    for (int k = 0; k < 9; k++) ro_paths[k] = put_string(&at, ro_names[k]);
    for (int k = 0; k < 5; k++) xattr_ptrs[k] = put_string(&at, xattr_names[k]);
    // a 4095-byte relative path (the longest Linux takes) and a 6000-byte one, then a 300-byte xattr name
    long_path = RO + PAGE;
    for (unsigned k = 0; k < 4095; k++) ((char *)long_path)[k] = k % 2 ? '/' : 'a';
    ((char *)long_path)[4094] = 'a';
    too_long_path = RO + 3 * PAGE;
    memset((void *)too_long_path, 'x', 6000);
    long_name = RO + 6 * PAGE;
    memcpy((void *)long_name, "user.", 5);
    memset((void *)(long_name + 5), 'n', 295);
    if (mprotect((void *)RO, ROSZ, PROT_READ) != 0) { fprintf(stderr, "fuzz_syscalls: mprotect failed\n"); exit(2); }
    map_or_die(NONE, PAGE, PROT_NONE, anon, -1);
    map_or_die(XO, PAGE, PROT_EXEC, anon, -1);
    int mf = open("map.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
    static char mpage[PAGE];
    memset(mpage, 'm', sizeof mpage);
    if (mf < 0 || write(mf, mpage, PAGE) != (ssize_t)PAGE) { fprintf(stderr, "fuzz_syscalls: map.dat\n"); exit(2); }
    map_or_die(FMAP, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mf);
    close(mf);
    restore_arena();

    // the fd pool takes 3.. up: nothing of ours may sit there
    pool_build();

    brk_orig = (u64)SC1(__NR_brk, 0);
    umask_orig = SC1(__NR_umask, 022);
    SC1(__NR_umask, umask_orig);
    for (int k = 0; k < 16; k++) limits_ok[k] = getrlimit(k, &limits_orig[k]) == 0;
    SC4(__NR_rt_sigprocmask, SIG_SETMASK, 0, &mask_orig, 8);
    for (int s = 1; s <= 64; s++) {
        if (handled(s)) install_handler(s);
        SC4(__NR_rt_sigaction, s, 0, &actions_orig[s], 8);
    }
    affinity_len = SC3(__NR_sched_getaffinity, 0, sizeof affinity_orig, affinity_orig);
    my_pid = SC0(__NR_getpid);
    code_addr = (u64)(uintptr_t)&setup & ~3UL;
}

static void cleanup(void)
{
    pool_build();
    for (int fd = P_PIPE_R; fd < POOL_END; fd++) SC1(__NR_close, fd);
    char parent[2048];
    snprintf(parent, sizeof parent, "%s", abs_dir);
    char *slash = strrchr(parent, '/');
    if (slash) *slash = 0;
    if (chdir(parent) == 0) nftw(abs_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void out(const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        long w = SC3(__NR_write, 1, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: fuzz_syscalls SEED CALLS [v][Q]\n"); return 64; }
    u64 seed = strtoull(argv[1], 0, 0);
    u64 calls = strtoull(argv[2], 0, 0);
    if (argc > 3) {
        verbose = strchr(argv[3], 'v') != 0;
        qemu_safe = strchr(argv[3], 'Q') != 0;
    }
    rng = seed * 0x2545F4914F6CDD1DULL + 1;
    init_spec();
    setup();

    static volatile u64 i;
    char line[256];
    for (i = 0; i < calls; i++) {
        long nr = pick_number();
        u64 a[6] = { 0 };
        nc = 0;
        refill();
        const char *sp = (u64)nr < 512 ? spec[nr] : "iiiiii";
        if (sp[0] == 'c') custom(nr, a);
        else {
            for (int k = 0; sp[k] && k < 6; k++) {
                if (sp[k] == 'a') { layout_mix(&a[k], &a[k + 1]); k++; continue; }
                a[k] = gen(sp[k]);
            }
        }
        if (verbose) {
            snprintf(line, sizeof line, "%lu %ld %lx %lx %lx %lx %lx %lx", (unsigned long)i, nr, (unsigned long)a[0],
                     (unsigned long)a[1], (unsigned long)a[2], (unsigned long)a[3], (unsigned long)a[4], (unsigned long)a[5]);
            out(line);
#ifdef FUZZ_DEBUG_MSG
            if (nr == 211 || nr == 212 || nr == 243 || nr == 269) {
                u64 *m = (u64 *)MSGHDRS;
                snprintf(line, sizeof line, " [%lx %lx %lx %lx %lx %lx %lx]", m[0], m[1], m[2], m[3], m[4], m[5], m[6]);
                out(line);
            }
#endif
        }
        long r;
        if (sigsetjmp(loop_env, 1) == 0) {
            in_call = 1;
            r = SC(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
            in_call = 0;
        } else {
            in_call = 0;
            r = -10000; // a synchronous signal the call raised (a sigqueue of SIGSEGV with a kernel si_code)
        }
        if (verbose) {
            snprintf(line, sizeof line, " = %ld%s\n", r, nc ? " nc" : "");
            out(line);
        }
        after(nr, a, r);
        if (!canaries_intact()) {
            snprintf(line, sizeof line, "fuzz_syscalls: CANARY changed by call %lu (nr %ld)\n", (unsigned long)i, nr);
            out(line);
            return 3;
        }
        if ((i & 255) == 255) {
            struct stat st;
            if (fstat(P_FILE, &st) == 0 && st.st_blocks > 16384) SC2(__NR_ftruncate, P_FILE, 0);
            if (fstat(P_MEMFD, &st) == 0 && st.st_blocks > 16384) SC2(__NR_ftruncate, P_MEMFD, 0);
        }
    }
    cleanup();
    snprintf(line, sizeof line, "fuzz_syscalls: seed %lu, %lu calls, %lu faults, done\n", (unsigned long)seed,
             (unsigned long)calls, (unsigned long)faults);
    out(line);
    return 0;
}
