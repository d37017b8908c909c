using Dqemu.JitX64.Host;
using Dqemu.JitX64.Translation;

namespace Dqemu.Runtime.Host;

/// <summary>Raw x86-64 Linux system calls: the result is the kernel's, -errno on failure.</summary>
public static unsafe class HostSyscall
{
    private static delegate* unmanaged<long, long, long, long, long, long, long, long> _thunk;

    public static void Initialize(CodeCache cache)
    {
        if (_thunk == null) _thunk = (delegate* unmanaged<long, long, long, long, long, long, long, long>)NativeThunks.CreateSyscall(cache);
        if (_parking == null) _parking = (delegate* unmanaged<long, long, long, long, int*, int*, long>)NativeThunks.CreateParkingCall(cache);
    }

    private static delegate* unmanaged<long, long, long, long, int*, int*, long> _parking;

    /// <summary>A system call a guest's fork can wait out (<see cref="NativeThunks.CreateParkingCall"/>; used through
    /// <see cref="Threading.ForkGate.Call"/>).</summary>
    public static long Parking(long nr, long a0, long a1, long a2, int* gate, int* inside) => _parking(nr, a0, a1, a2, gate, inside);

    public static long Call(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0)
        => _thunk(nr, a0, a1, a2, a3, a4, a5);

    public static long Call(long nr, ulong a0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0)
        => _thunk(nr, (long)a0, (long)a1, (long)a2, (long)a3, (long)a4, (long)a5);

    /// <summary>x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl).</summary>
    public static class Nr
    {
        public const long Read = 0, Write = 1, Open = 2, Close = 3, Stat = 4, Fstat = 5, Lstat = 6, Poll = 7, Lseek = 8,
            Mmap = 9, Mprotect = 10, Munmap = 11, Brk = 12, RtSigaction = 13, RtSigprocmask = 14, Ioctl = 16,
            Pread64 = 17, Pwrite64 = 18, Readv = 19, Writev = 20, Access = 21, Pipe = 22, SchedYield = 24, Mremap = 25,
            Msync = 26, Madvise = 28, Dup = 32, Dup2 = 33, Nanosleep = 35, Getpid = 39, Sendfile = 40, Socket = 41,
            Connect = 42, Accept = 43, Sendto = 44, Recvfrom = 45, Sendmsg = 46, Recvmsg = 47, Shutdown = 48, Bind = 49,
            Listen = 50, Getsockname = 51, Getpeername = 52, Socketpair = 53, Setsockopt = 54, Getsockopt = 55,
            Clone = 56, Exit = 60, Wait4 = 61, Kill = 62, Uname = 63, Fcntl = 72, Flock = 73, Fsync = 74, Fdatasync = 75,
            Truncate = 76, Ftruncate = 77, Getcwd = 79, Chdir = 80, Fchdir = 81, Fchmod = 91, Fchown = 93, Umask = 95,
            Gettimeofday = 96, Getrlimit = 97, Getrusage = 98, Sysinfo = 99, Times = 100, Getuid = 102, Getgid = 104,
            Setuid = 105, Setgid = 106, Geteuid = 107, Getegid = 108, Setpgid = 109, Getppid = 110, Getpgrp = 111,
            Setsid = 112, Getgroups = 115, Getpgid = 121, Getsid = 124, Sigaltstack = 131, Statfs = 137, Fstatfs = 138,
            Getpriority = 140, Setpriority = 141, Prctl = 157, Gettid = 186, Tkill = 200, Futex = 202,
            SchedSetaffinity = 203, SchedGetaffinity = 204, Getdents64 = 217, SetTidAddress = 218, ClockSettime = 227,
            ClockGettime = 228, ClockGetres = 229, ClockNanosleep = 230, ExitGroup = 231, EpollWait = 232, EpollCtl = 233,
            Tgkill = 234, Utimes = 235, Openat = 257, Mkdirat = 258, Mknodat = 259, Fchownat = 260, Newfstatat = 262,
            Unlinkat = 263, Renameat = 264, Linkat = 265, Symlinkat = 266, Readlinkat = 267, Fchmodat = 268,
            Faccessat = 269, Pselect6 = 270, Ppoll = 271, SetRobustList = 273, GetRobustList = 274, Splice = 275,
            Tee = 276, SyncFileRange = 277, Utimensat = 280, EpollPwait = 281, Timerfd = 283, Eventfd = 284,
            Fallocate = 285, TimerfdSettime = 286, TimerfdGettime = 287, Accept4 = 288, Eventfd2 = 290, Recvmmsg = 299, Sendmmsg = 307,
            EpollCreate1 = 291, Dup3 = 292, Pipe2 = 293, Preadv = 295, Pwritev = 296, Prlimit64 = 302, Syncfs = 306,
            Getcpu = 309, Renameat2 = 316, Getrandom = 318, MemfdCreate = 319, Statx = 332, Rseq = 334,
            Faccessat2 = 439, Clone3 = 435, CloseRange = 436;
    }
}
