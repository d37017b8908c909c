using Dqemu.Runtime.Memory;
using static Dqemu.Runtime.Syscalls.Errno;
using static Dqemu.Runtime.Syscalls.Sys;

namespace Dqemu.Runtime.Syscalls;

/// <summary>
/// Calls the host answers for the guest as they are: their structures (struct timex, the capability header and data,
/// struct sched_attr, a timespec) and flags are the same on both, ids and fds are the host's, so the only work is the
/// guest pointers, passed by <see cref="HostArg"/> so the host faults (EFAULT) where Linux would and checks what it
/// checks first in Linux's order. Found missing by the syscall sweep (tests/guests/syscall_sweep.c), implemented by
/// qemu-aarch64 too, and acting on the process as the guest's own calls would (chroot, unshare and setns act on the
/// calling host thread or the emulator's process, as under qemu).
/// </summary>
public static unsafe partial class SyscallTable
{
    private const long X64Syslog = 103, X64Capget = 125, X64Capset = 126, X64Personality = 135, X64PivotRoot = 155,
        X64Adjtimex = 159, X64Chroot = 161, X64ClockSettime = 227, X64IoprioSet = 251, X64IoprioGet = 252,
        X64Unshare = 272, X64ClockAdjtime = 305, X64Setns = 308, X64Kcmp = 312, X64SchedSetattr = 314,
        X64SchedGetattr = 315, X64Membarrier = 324, X64PidfdOpen = 434, X64Vmsplice = 278, X64PidfdGetfd = 438,
        X64NameToHandleAt = 303, X64OpenByHandleAt = 304;
    private const ulong TimexSize = 208, CapHeaderSize = 8, CapDataSize = 24, SchedAttrSize = 56;

    static partial void AddPassThrough(SyscallEntry?[] t)
    {
        const SyscallSite L = SyscallSite.Local, N = SyscallSite.Node0;
        var rw = GuestProt.Read | GuestProt.Write;
        t.Add(30, "ioprio_set", L, c => Call(X64IoprioSet, (int)c.A0, (int)c.A1, (int)c.A2));
        t.Add(31, "ioprio_get", L, c => Call(X64IoprioGet, (int)c.A0, (int)c.A1));
        t.Add(41, "pivot_root", N, c => WithPaths(c, c.A0, c.A1, (a, b) => Call(X64PivotRoot, a, b)));
        t.Add(51, "chroot", N, c => WithPath(c, c.A0, false, p => Call(X64Chroot, p)));
        t.Add(90, "capget", L, c => Call(X64Capget, HostArg(c, c.A0, CapHeaderSize, rw), HostArg(c, c.A1, CapDataSize, GuestProt.Write)));
        t.Add(91, "capset", L, c => Call(X64Capset, HostArg(c, c.A0, CapHeaderSize, rw), HostArg(c, c.A1, CapDataSize, GuestProt.Read)));
        t.Add(75, "vmsplice", N, Vmsplice);
        t.Add(92, "personality", N, c => Call(X64Personality, (uint)c.A0));
        t.Add(97, "unshare", L, c => Call(X64Unshare, (long)c.A0));
        t.Add(112, "clock_settime", L, c => Call(X64ClockSettime, (int)c.A0, HostArg(c, c.A1, 16, GuestProt.Read)));
        t.Add(116, "syslog", L, c => Call(X64Syslog, (int)c.A0, HostArg(c, c.A1, (ulong)Math.Max(0, (int)c.A2), GuestProt.Write), (int)c.A2));
        t.Add(171, "adjtimex", L, c => Call(X64Adjtimex, HostArg(c, c.A0, TimexSize, rw)));
        t.Add(266, "clock_adjtime", L, c => Call(X64ClockAdjtime, (int)c.A0, HostArg(c, c.A1, TimexSize, rw)));
        t.Add(268, "setns", L, c => Call(X64Setns, (int)c.A0, (int)c.A1));
        t.Add(272, "kcmp", L, c => Call(X64Kcmp, (int)c.A0, (int)c.A1, (int)c.A2, (long)c.A3, (long)c.A4));
        t.Add(274, "sched_setattr", L, c => Call(X64SchedSetattr, (int)c.A0, HostArg(c, c.A1, SchedAttrSize, GuestProt.Read), (uint)c.A2));
        t.Add(275, "sched_getattr", L, c => Call(X64SchedGetattr, (int)c.A0, HostArg(c, c.A1, Math.Min(c.A2, 4096), GuestProt.Write), (uint)c.A2, (uint)c.A3));
        t.Add(283, "membarrier", L, c => Call(X64Membarrier, (int)c.A0, (uint)c.A1, (int)c.A2));
        t.Add(264, "name_to_handle_at", N, NameToHandleAt);
        t.Add(265, "open_by_handle_at", N, c => Call(X64OpenByHandleAt, (int)c.A0, HostArg(c, c.A1, FileHandleSize(c, c.A1), GuestProt.Read),
            GuestStructs.OpenFlagsToHost((int)c.A2)));
        t.Add(434, "pidfd_open", N, c => Call(X64PidfdOpen, (int)c.A0, (uint)c.A1));
        t.Add(438, "pidfd_getfd", N, c => Call(X64PidfdGetfd, (int)c.A0, (int)c.A1, (uint)c.A2));
    }

    /// <summary>
    /// struct file_handle's size at <paramref name="addr"/>: {u32 handle_bytes; s32 handle_type; u8 f_handle[]}, the same
    /// on both; the kernel reads handle_bytes first and writes or reads at most MAX_HANDLE_SZ (128) bytes after the
    /// header. 8 when the word cannot be read (the host then faults on the header, EFAULT, as Linux does).
    /// </summary>
    private static ulong FileHandleSize(SyscallContext c, ulong addr)
        => c.Process.Space.TryRead(addr, out uint bytes) ? 8 + Math.Min(bytes, 128u) : 8;

    /// <summary>name_to_handle_at(dirfd, path, handle, mount_id, flags): the path as openat's (the -L prefix for an
    /// absolute one; AT_EMPTY_PATH names dirfd itself), the handle and mount id written by the host.</summary>
    private static long NameToHandleAt(SyscallContext c)
    {
        const long AtEmptyPath = 0x1000;
        return WithPath(c, c.A1, true, p => Call(X64NameToHandleAt, (int)c.A0, p,
            HostArg(c, c.A2, FileHandleSize(c, c.A2), GuestProt.Read | GuestProt.Write), HostArg(c, c.A3, 4, GuestProt.Write), (int)c.A4),
            emptyOk: ((long)c.A4 & AtEmptyPath) != 0);
    }

    /// <summary>
    /// vmsplice: the guest's iovecs translated, so the pipe refers to the guest's own pages as Linux's would refer to the
    /// process's (a later store into them shows in what the pipe still holds, as natively). The pipe end says the
    /// direction: a write end reads the buffers, a read end fills them.
    /// </summary>
    private static long Vmsplice(SyscallContext c)
    {
        const int FGetfl = 3, OAccmode = 3, ORdonly = 0;
        long mode = Call(Host.HostSyscall.Nr.Fcntl, (int)c.A0, FGetfl);
        if (mode < 0) return mode;
        var need = (mode & OAccmode) == ORdonly ? GuestProt.Write : GuestProt.Read;
        long* iov = stackalloc long[2 * IovMax];
        long n = TranslateIov(c, c.A1, c.A2, need, new Span<long>(iov, 2 * IovMax));
        if (n < 0) return n;
        return Call(X64Vmsplice, (int)c.A0, (long)iov, n, (uint)c.A3);
    }

    /// <summary>
    /// A guest pointer argument the host kernel copies itself: NULL stays NULL (the host then checks it as Linux does:
    /// EINVAL for a required one, EFAULT when copied), anything else is <see cref="Sys.HostBuffer"/>'s pointer, so a
    /// range the guest cannot access faults in the host at the point Linux would, after the checks Linux makes first.
    /// </summary>
    internal static long HostArg(SyscallContext c, ulong addr, ulong len, GuestProt prot)
        => addr == 0 ? 0 : HostBuffer(c, addr, len, prot).Ptr;
}
