using System.Text;
using Dqemu.Runtime.Memory;
using static Dqemu.Runtime.Syscalls.Errno;
using static Dqemu.Runtime.Syscalls.Sys;
using Nr = Dqemu.Runtime.Host.HostSyscall.Nr;

namespace Dqemu.Runtime.Syscalls;

/// <summary>
/// Files, descriptors, directories, polling and sockets. Guest fds are host fds (as in qemu), so most calls pass
/// straight through with guest buffers handed to the kernel as host pointers (Base + addr) after a range check;
/// only struct stat, struct epoll_event and four open(2) flag bits differ between AArch64 and x86-64.
/// All run on node 0: the fd table and the cwd are process-wide.
/// </summary>
public static unsafe partial class SyscallTable
{
    private const int PathMax = 4096, IovMax = 1024;
    private const long AtFdcwd = -100, AtEmptyPath = 0x1000, MsgNosignal = 0x4000;

    static partial void AddFile(SyscallEntry?[] t)
    {
        const SyscallSite N = SyscallSite.Node0;
        t.Add(17, "getcwd", N, Getcwd);
        t.Add(19, "eventfd2", N, c => Call(Nr.Eventfd2, (long)(uint)c.A0, (int)c.A1));
        t.Add(20, "epoll_create1", N, c => Call(Nr.EpollCreate1, (int)c.A0));
        t.Add(21, "epoll_ctl", N, EpollCtl);
        t.Add(22, "epoll_pwait", N, c => EpollWait(c, false));
        t.Add(23, "dup", N, c => Duplicated((int)c.A0, Call(Nr.Dup, (int)c.A0)));
        t.Add(24, "dup3", N, Dup3);
        t.Add(25, "fcntl", N, Fcntl);
        t.Add(29, "ioctl", N, Ioctl);
        t.Add(32, "flock", N, c => Call(Nr.Flock, (int)c.A0, (int)c.A1));
        t.Add(33, "mknodat", N, c => WithPath(c, c.A1, false, p => Call(Nr.Mknodat, (int)c.A0, p, (int)c.A2, (long)c.A3)));
        t.Add(34, "mkdirat", N, c => WithPath(c, c.A1, false, p => Call(Nr.Mkdirat, (int)c.A0, p, (int)c.A2)));
        t.Add(35, "unlinkat", N, c => WithPath(c, c.A1, false, p => Call(Nr.Unlinkat, (int)c.A0, p, (int)c.A2)));
        t.Add(36, "symlinkat", N, Symlinkat);
        t.Add(37, "linkat", N, c => WithPaths(c, c.A1, c.A3, (a, b) => Call(Nr.Linkat, (int)c.A0, a, (int)c.A2, b, (int)c.A4)));
        t.Add(38, "renameat", N, c => WithPaths(c, c.A1, c.A3, (a, b) => Call(Nr.Renameat2, (int)c.A0, a, (int)c.A2, b, 0)));
        t.Add(43, "statfs", N, c => OkOut(c, c.A1, 120) ?? WithPath(c, c.A0, true, p => Call(Nr.Statfs, p, H(c, c.A1))));
        t.Add(44, "fstatfs", N, c => OkOut(c, c.A1, 120) ?? Call(Nr.Fstatfs, (int)c.A0, H(c, c.A1)));
        t.Add(45, "truncate", N, c => WithPath(c, c.A0, false, p => Call(Nr.Truncate, p, (long)c.A1)));
        t.Add(46, "ftruncate", N, c => Call(Nr.Ftruncate, (int)c.A0, (long)c.A1));
        t.Add(47, "fallocate", N, c => Call(Nr.Fallocate, (int)c.A0, (int)c.A1, (long)c.A2, (long)c.A3));
        t.Add(48, "faccessat", N, c => WithPath(c, c.A1, true, p => Call(Nr.Faccessat, (int)c.A0, p, (int)c.A2)));
        t.Add(49, "chdir", N, c => WithPath(c, c.A0, false, p => Call(Nr.Chdir, p)));
        t.Add(50, "fchdir", N, c => Call(Nr.Fchdir, (int)c.A0));
        t.Add(52, "fchmod", N, c => Call(Nr.Fchmod, (int)c.A0, (int)c.A1));
        t.Add(53, "fchmodat", N, c => WithPath(c, c.A1, false, p => Call(Nr.Fchmodat, (int)c.A0, p, (int)c.A2)));
        t.Add(54, "fchownat", N, c => WithPath(c, c.A1, false, p => Call(Nr.Fchownat, (int)c.A0, p, (int)c.A2, (int)c.A3, (int)c.A4), emptyOk: true));
        t.Add(55, "fchown", N, c => Call(Nr.Fchown, (int)c.A0, (int)c.A1, (int)c.A2));
        t.Add(56, "openat", N, Openat);
        t.Add(57, "close", N, Close);
        t.Add(59, "pipe2", N, c => OkOut(c, c.A0, 8) ?? Call(Nr.Pipe2, H(c, c.A0), GuestStructs.OpenFlagsToHost((int)c.A1)));
        t.Add(61, "getdents64", N, Getdents64);
        t.Add(62, "lseek", N, c => Call(Nr.Lseek, (int)c.A0, (long)c.A1, (int)c.A2));
        t.Add(63, "read", N, c => Signals.SignalFds.Owns((int)c.A0) ? SignalfdRead(c) : ReadLike(c, Nr.Read, false));
        t.Add(64, "write", N, c => Signals.SignalFds.Owns((int)c.A0) ? -EINVAL : WriteLike(c, Nr.Write, false)); // a signalfd has no write
        t.Add(65, "readv", N, c => Signals.SignalFds.Owns((int)c.A0) ? SignalfdReadv(c) : VectorIo(c, Nr.Readv, GuestProt.Write, false));
        t.Add(66, "writev", N, c => VectorIo(c, Nr.Writev, GuestProt.Read, false));
        t.Add(67, "pread64", N, c => ReadLike(c, Nr.Pread64, true));
        t.Add(68, "pwrite64", N, c => WriteLike(c, Nr.Pwrite64, true));
        t.Add(69, "preadv", N, c => VectorIo(c, Nr.Preadv, GuestProt.Write, true));
        t.Add(70, "pwritev", N, c => VectorIo(c, Nr.Pwritev, GuestProt.Read, true));
        t.Add(71, "sendfile", N, c => OkInOut(c, c.A2, 8) ?? Piped(c, Call(Nr.Sendfile, (int)c.A0, (int)c.A1, HOrNull(c, c.A2), (long)c.A3)));
        t.Add(72, "pselect6", N, Pselect6);
        t.Add(73, "ppoll", N, Ppoll);
        t.Add(78, "readlinkat", N, Readlinkat);
        t.Add(79, "newfstatat", N, Newfstatat);
        t.Add(80, "fstat", N, Fstat);
        t.Add(81, "sync", N, c => Call(X64Sync));
        t.Add(82, "fsync", N, c => Call(Nr.Fsync, (int)c.A0));
        t.Add(83, "fdatasync", N, c => Call(Nr.Fdatasync, (int)c.A0));
        t.Add(84, "sync_file_range", N, c => Call(Nr.SyncFileRange, (int)c.A0, (long)c.A1, (long)c.A2, (int)c.A3));
        t.Add(88, "utimensat", N, Utimensat);
        t.Add(166, "umask", N, c => Call(Nr.Umask, (int)c.A0));
        t.Add(213, "readahead", N, c => Call(X64Readahead, (int)c.A0, (long)c.A1, (long)c.A2));
        t.Add(223, "fadvise64", N, c => Call(X64Fadvise64, (int)c.A0, (long)c.A1, (long)c.A2, (int)c.A3));
        t.Add(267, "syncfs", N, c => Call(X64Syncfs, (int)c.A0));
        t.Add(276, "renameat2", N, c => WithPaths(c, c.A1, c.A3, (a, b) => Call(Nr.Renameat2, (int)c.A0, a, (int)c.A2, b, (int)c.A4)));
        t.Add(279, "memfd_create", N, c => WithPath(c, c.A0, false, p => Call(Nr.MemfdCreate, p, (int)c.A1)));
        t.Add(285, "copy_file_range", N, c => OkInOut(c, c.A1, 8) ?? OkInOut(c, c.A3, 8) ??
            Call(X64CopyFileRange, (int)c.A0, HOrNull(c, c.A1), (int)c.A2, HOrNull(c, c.A3), (long)c.A4, (int)c.A5));
        t.Add(286, "preadv2", N, c => VectorIo(c, X64Preadv2, GuestProt.Write, true, flags: true));
        t.Add(287, "pwritev2", N, c => VectorIo(c, X64Pwritev2, GuestProt.Read, true, flags: true));
        t.Add(291, "statx", N, Statx);
        t.Add(436, "close_range", N, CloseRange);
        t.Add(439, "faccessat2", N, c => WithPath(c, c.A1, true, p => Call(Nr.Faccessat2, (int)c.A0, p, (int)c.A2, (int)c.A3), emptyOk: true));
        t.Add(441, "epoll_pwait2", N, c => EpollWait(c, true));
        t.Add(452, "fchmodat2", N, c => WithPath(c, c.A1, false, p => Call(X64Fchmodat2, (int)c.A0, p, (int)c.A2, (int)c.A3), emptyOk: true));
        AddSockets(t);
        AddFileExtras(t);
    }

    /// <summary>Extended attributes, inotify, timerfd, splice and tee: same structs and flags on both.</summary>
    private static void AddFileExtras(SyscallEntry?[] t)
    {
        const SyscallSite N = SyscallSite.Node0;
        // setxattr(path, name, value, size, flags) / getxattr(path, name, value, size) / listxattr(path, list, size)
        t.Add(5, "setxattr", N, c => XattrSet(c, 188, true));
        t.Add(6, "lsetxattr", N, c => XattrSet(c, 189, true));
        t.Add(7, "fsetxattr", N, c => XattrSet(c, 190, false));
        t.Add(8, "getxattr", N, c => XattrGet(c, 191, true));
        t.Add(9, "lgetxattr", N, c => XattrGet(c, 192, true));
        t.Add(10, "fgetxattr", N, c => XattrGet(c, 193, false));
        t.Add(11, "listxattr", N, c => XattrList(c, 194, true));
        t.Add(12, "llistxattr", N, c => XattrList(c, 195, true));
        t.Add(13, "flistxattr", N, c => XattrList(c, 196, false));
        t.Add(14, "removexattr", N, c => WithPaths(c, c.A0, c.A1, (p, n) => Call(197, p, n)));
        t.Add(15, "lremovexattr", N, c => WithPaths(c, c.A0, c.A1, (p, n) => Call(198, p, n)));
        t.Add(16, "fremovexattr", N, c => WithPath(c, c.A1, false, n => Call(199, (int)c.A0, n)));
        t.Add(26, "inotify_init1", N, c => Call(294, (int)c.A0));
        t.Add(27, "inotify_add_watch", N, c => WithPath(c, c.A1, false, p => Call(254, (int)c.A0, p, (int)c.A2)));
        t.Add(28, "inotify_rm_watch", N, c => Call(255, (int)c.A0, (int)c.A1));
        t.Add(76, "splice", N, c => OkInOut(c, c.A1, 8) ?? OkInOut(c, c.A3, 8) ??
            Piped(c, Call(Nr.Splice, (int)c.A0, HOrNull(c, c.A1), (int)c.A2, HOrNull(c, c.A3), (long)c.A4, (int)c.A5)));
        t.Add(77, "tee", N, c => Piped(c, Call(Nr.Tee, (int)c.A0, (int)c.A1, (long)c.A2, (int)c.A3)));
        t.Add(85, "timerfd_create", N, c => Call(Nr.Timerfd, (int)c.A0, (int)c.A1));
        t.Add(86, "timerfd_settime", N, c => OkIn(c, c.A2, 32) ?? (OkOrNull(c, c.A3, 32, GuestProt.Write)
            ? Call(Nr.TimerfdSettime, (int)c.A0, (int)c.A1, H(c, c.A2), HOrNull(c, c.A3)) : -EFAULT));
        t.Add(87, "timerfd_gettime", N, c => Call(Nr.TimerfdGettime, (int)c.A0, HostArg(c, c.A1, 32, GuestProt.Write)));
    }

    /// <summary>The path (or fd) argument of an xattr call, as a host pointer or the fd itself.</summary>
    private static long WithTarget(SyscallContext c, bool byPath, Func<long, long> call)
        => byPath ? WithPath(c, c.A0, true, call) : call((int)c.A0);

    // xattr values and lists go through host buffers, so the answers come in Linux's order (the value is copied in
    // before the path is looked up; a result is copied out, EFAULT, only once there is one)
    private const int XattrSizeMax = 65536, XattrListMax = 65536, XattrNameMax = 255;

    /// <summary>An xattr name: ERANGE when empty or longer than XATTR_NAME_MAX, as Linux's import_xattr_name.</summary>
    private static long XattrName(SyscallContext c, ulong addr, out byte[] name)
    {
        long r = ReadString(c, addr, XattrNameMax + 1, out name);
        if (r == -ENAMETOOLONG || (r == 0 && name.Length == 1)) return -ERANGE;
        return r;
    }

    /// <summary>setxattr(target, name, value, size, flags): flags, name, size, value, then the target.</summary>
    private static long XattrSet(SyscallContext c, long nr, bool byPath)
    {
        const int XattrCreate = 1, XattrReplace = 2;
        int flags = (int)c.A4;
        if ((flags & ~(XattrCreate | XattrReplace)) != 0) return -EINVAL;
        long r = XattrName(c, c.A1, out var name);
        if (r < 0) return r;
        if (c.A3 > XattrSizeMax) return -E2BIG;
        var value = new byte[c.A3];
        if (!CopyIn(c, c.A2, value)) return -EFAULT;
        fixed (byte* n = name)
        fixed (byte* v = value)
        {
            long np = (long)n, vp = (long)v, size = value.Length;
            return WithTarget(c, byPath, p => Call(nr, p, np, vp, size, flags));
        }
    }

    /// <summary>getxattr(target, name, value, size): name, target, then the value copied out.</summary>
    private static long XattrGet(SyscallContext c, long nr, bool byPath)
    {
        long r = XattrName(c, c.A1, out var name);
        if (r < 0) return r;
        var value = new byte[Math.Min(c.A3, XattrSizeMax)]; // Linux clamps the size the same way
        fixed (byte* n = name)
        fixed (byte* v = value)
        {
            long np = (long)n, vp = (long)v, size = value.Length;
            r = WithTarget(c, byPath, p => Call(nr, p, np, vp, size));
        }
        if (r > 0 && value.Length > 0 && !CopyOut(c, c.A2, value.AsSpan(0, (int)r))) return -EFAULT;
        return r;
    }

    /// <summary>listxattr(target, list, size): target, then the list copied out.</summary>
    private static long XattrList(SyscallContext c, long nr, bool byPath)
    {
        var list = new byte[Math.Min(c.A2, XattrListMax)];
        long r;
        fixed (byte* l = list)
        {
            long lp = (long)l, size = list.Length;
            r = WithTarget(c, byPath, p => Call(nr, p, lp, size));
        }
        if (r > 0 && list.Length > 0 && !CopyOut(c, c.A1, list.AsSpan(0, (int)r))) return -EFAULT;
        return r;
    }

    // ---- argument helpers ----

    /// <summary>null when the (non-NULL) out pointer is writable for len bytes, else -EFAULT.</summary>
    private static long? OkOut(SyscallContext c, ulong addr, ulong len) => Ok(c, addr, len, GuestProt.Write) ? null : -EFAULT;

    private static long? OkIn(SyscallContext c, ulong addr, ulong len) => Ok(c, addr, len, GuestProt.Read) ? null : -EFAULT;

    /// <summary>A NULL or read-write pointer (value-result arguments like sendfile's offset).</summary>
    private static long? OkInOut(SyscallContext c, ulong addr, ulong len)
        => OkOrNull(c, addr, len, GuestProt.Read | GuestProt.Write) ? null : -EFAULT;

    /// <summary>
    /// Reads the guest path at <paramref name="addr"/> and runs <paramref name="call"/> with a host pointer to it
    /// (resolved against the sysroot when <paramref name="lookup"/>). With <paramref name="emptyOk"/> a NULL path
    /// is passed on as NULL (the *at calls accept it with AT_EMPTY_PATH).
    /// </summary>
    private static long WithPath(SyscallContext c, ulong addr, bool lookup, Func<long, long> call, bool emptyOk = false)
    {
        if (addr == 0 && emptyOk) return call(0);
        long r = ReadString(c, addr, PathMax, out var raw);
        if (r < 0) return r;
        var host = lookup ? GuestPath.Resolve(c.Process.Sysroot, raw) : raw;
        fixed (byte* p = host) return call((long)p);
    }

    private static long WithPaths(SyscallContext c, ulong a, ulong b, Func<long, long, long> call)
    {
        long r = ReadString(c, a, PathMax, out var pa);
        if (r < 0) return r;
        r = ReadString(c, b, PathMax, out var pb);
        if (r < 0) return r;
        fixed (byte* p1 = pa)
        fixed (byte* p2 = pb)
            return call((long)p1, (long)p2);
    }

    /// <summary>A write that failed with EPIPE also raises SIGPIPE at the caller, as the kernel does.</summary>
    private static long Piped(SyscallContext c, long r)
    {
        if (r == -EPIPE) GuestSignals.SendToThread(c.Process, c.Thread, GuestSignals.SIGPIPE);
        return r;
    }

    // ---- read/write ----

    private static long ReadLike(SyscallContext c, long nr, bool positional)
    {
        var (buf, n) = HostBuffer(c, c.A1, c.A2, GuestProt.Write);
        return Call(nr, (int)c.A0, buf, n, positional ? (long)c.A3 : 0);
    }

    private static long WriteLike(SyscallContext c, long nr, bool positional)
    {
        var (buf, n) = HostBuffer(c, c.A1, c.A2, GuestProt.Read);
        return Piped(c, Call(nr, (int)c.A0, buf, n, positional ? (long)c.A3 : 0));
    }

    /// <summary>
    /// Translates a guest iovec array into host iovecs in <paramref name="host"/> (pairs of base, len), each through
    /// <see cref="Sys.HostBuffer"/>, so the kernel stops at the first fault as Linux does; the list ends after a
    /// buffer that faults at once. Returns the host iovec count or -errno.
    /// </summary>
    internal static long TranslateIov(SyscallContext c, ulong iov, ulong count, GuestProt need, Span<long> host)
    {
        if (count > IovMax) return -EINVAL;
        if (count == 0) return 0;
        Span<ulong> g = stackalloc ulong[2 * (int)count];
        long total = LoadIov(c, iov, g);
        if (total < 0) return total;
        int n = 0;
        for (int i = 0; i < (int)count; i++)
        {
            ulong b = g[2 * i], l = g[2 * i + 1];
            if (l == 0) continue;
            var (p, len) = HostBuffer(c, b, l, need);
            host[2 * n] = p;
            host[2 * n + 1] = len;
            n++;
            if (p != (long)(c.Mem.Base + b)) break;
        }
        return n;
    }

    /// <summary>
    /// The guest's iovec array at <paramref name="iov"/> into <paramref name="g"/> (pairs of guest base and length, as
    /// many as it holds): their total length, or -EFAULT when the array cannot be read, -EINVAL for a length that is
    /// negative as a ssize_t or a total past SSIZE_MAX, as Linux checks them.
    /// </summary>
    internal static long LoadIov(SyscallContext c, ulong iov, Span<ulong> g)
    {
        if (!CopyIn(c, iov, System.Runtime.InteropServices.MemoryMarshal.AsBytes(g))) return -EFAULT;
        ulong total = 0;
        for (int i = 0; i + 1 < g.Length; i += 2)
            if ((long)g[i + 1] < 0 || (total += g[i + 1]) > long.MaxValue) return -EINVAL;
        return (long)total;
    }

    private static long VectorIo(SyscallContext c, long nr, GuestProt need, bool positional, bool flags = false)
    {
        Span<long> iov = stackalloc long[2 * IovMax];
        long n = TranslateIov(c, c.A1, c.A2, need, iov);
        if (n < 0) return n;
        fixed (long* p = iov)
        {
            long r = Call(nr, (int)c.A0, (long)p, n, positional ? (long)c.A3 : 0, positional ? (long)c.A4 : 0,
                flags ? (int)c.A5 : 0);
            return need == GuestProt.Read ? Piped(c, r) : r;
        }
    }

    // ---- open, stat, directories ----

    private static long Openat(SyscallContext c)
    {
        long r = ReadString(c, c.A1, PathMax, out var raw);
        if (r < 0) return r;
        int flags = GuestStructs.OpenFlagsToHost((int)c.A2);
        switch (GuestPath.Classify(raw, Threading.GuestProcess.Pid, out int tid))
        {
            case GuestPath.Special.Exe:
                raw = GuestPath.ToBytes(c.Process.ExePath);
                break;
            case GuestPath.Special.Maps:
                return SyntheticFile(Encoding.UTF8.GetBytes(ProcFiles.Maps(c.Mem)), flags);
            case GuestPath.Special.Cmdline:
                return SyntheticFile(c.Process.Cmdline, flags);
            case GuestPath.Special.Auxv:
                return SyntheticFile(c.Process.Auxv, flags);
            case GuestPath.Special.Smaps:
                return SyntheticFile(Encoding.UTF8.GetBytes(ProcFiles.Smaps(c.Mem)), flags);
            case GuestPath.Special.Cpuinfo:
                return SyntheticFile(ProcFiles.Cpuinfo(), flags);
            case GuestPath.Special.Stat when ProcFiles.Stat(c.Process, null) is { } stat:
                return SyntheticFile(stat, flags);
            case GuestPath.Special.Status when ProcFiles.Status(c.Process, c.Thread) is { } status:
                return SyntheticFile(status, flags);
            case GuestPath.Special.TaskStat:
                // a thread of the guest's (not one of the emulator's own, which the host's task directory also lists)
                if (!c.Process.Threads.TryGetValue(tid == 0 ? c.Thread.Tid : tid, out var thread)) return -ENOENT;
                return ProcFiles.Stat(c.Process, thread) is { } taskStat ? SyntheticFile(taskStat, flags) : -ENOENT;
            case GuestPath.Special.Statm:
                return SyntheticFile(ProcFiles.Statm(c.Process), flags);
            // comm read: the guest's thread names (opened for writing, the host's file, as before)
            case GuestPath.Special.Comm when (flags & 3) == 0:
                return SyntheticFile(Encoding.UTF8.GetBytes(ProcFiles.Comm(c.Process, null) + "\n"), flags);
            case GuestPath.Special.TaskComm when (flags & 3) == 0:
                if (!c.Process.Threads.TryGetValue(tid == 0 ? c.Thread.Tid : tid, out thread)) return -ENOENT;
                return SyntheticFile(Encoding.UTF8.GetBytes(ProcFiles.Comm(c.Process, thread) + "\n"), flags);
            default:
                raw = GuestPath.Resolve(c.Process.Sysroot, raw);
                break;
        }
        fixed (byte* p = raw) return Call(Nr.Openat, (int)c.A0, (long)p, flags, (int)c.A3);
    }

    /// <summary>An fd reading <paramref name="content"/>: a memfd filled and rewound.</summary>
    private static long SyntheticFile(byte[] content, int hostFlags)
    {
        const int MfdCloexec = 1;
        long fd;
        fixed (byte* name = "dqemu-proc\0"u8)
            fd = Call(Nr.MemfdCreate, (long)name, (hostFlags & 0x80000) != 0 ? MfdCloexec : 0);
        if (fd < 0) return fd;
        fixed (byte* d = content)
        {
            long done = 0;
            while (done < content.Length)
            {
                long w = Call(Nr.Write, fd, (long)(d + done), content.Length - done);
                if (w <= 0) { Call(Nr.Close, fd); return w < 0 ? w : -EIO; }
                done += w;
            }
        }
        Call(Nr.Lseek, fd, 0, 0);
        return fd;
    }

    private static long StatOut(SyscallContext c, ulong buf, long r, in HostStat st)
    {
        if (r < 0) return r;
        if (!Store(c, buf, GuestStructs.ToGuest(st))) return -EFAULT;
        return 0;
    }

    private static long Fstat(SyscallContext c)
    {
        if (!Ok(c, c.A1, (ulong)sizeof(GuestStat), GuestProt.Write)) return -EFAULT;
        HostStat st;
        long r = Call(Nr.Fstat, (int)c.A0, (long)&st);
        return StatOut(c, c.A1, r, st);
    }

    private static long Newfstatat(SyscallContext c)
    {
        if (!Ok(c, c.A2, (ulong)sizeof(GuestStat), GuestProt.Write)) return -EFAULT;
        HostStat st;
        long r;
        if (c.A1 == 0 && (c.A3 & AtEmptyPath) != 0)
            r = Call(Nr.Newfstatat, (int)c.A0, 0, (long)&st, (int)c.A3);
        else
        {
            r = ReadString(c, c.A1, PathMax, out var raw);
            if (r < 0) return r;
            raw = GuestPath.Classify(raw, Threading.GuestProcess.Pid) == GuestPath.Special.Exe
                ? GuestPath.ToBytes(c.Process.ExePath)
                : GuestPath.Resolve(c.Process.Sysroot, raw);
            fixed (byte* p = raw) r = Call(Nr.Newfstatat, (int)c.A0, (long)p, (long)&st, (int)c.A3);
        }
        return StatOut(c, c.A2, r, st);
    }

    private static long Statx(SyscallContext c)
    {
        // statx(dirfd, path, flags, mask, buf): struct statx is the same on both architectures
        if (!Ok(c, c.A4, 256, GuestProt.Write)) return -EFAULT;
        if (c.A1 == 0) return Call(Nr.Statx, (int)c.A0, 0, (int)c.A2, (int)c.A3, H(c, c.A4));
        long r = ReadString(c, c.A1, PathMax, out var raw);
        if (r < 0) return r;
        raw = GuestPath.Classify(raw, Threading.GuestProcess.Pid) == GuestPath.Special.Exe
            ? GuestPath.ToBytes(c.Process.ExePath)
            : GuestPath.Resolve(c.Process.Sysroot, raw);
        fixed (byte* p = raw) return Call(Nr.Statx, (int)c.A0, (long)p, (int)c.A2, (int)c.A3, H(c, c.A4));
    }

    private static long Readlinkat(SyscallContext c)
    {
        int size = (int)c.A3; // an int, as the kernel takes it
        if (size <= 0) return -EINVAL;
        long r = ReadString(c, c.A1, PathMax, out var raw);
        if (r < 0) return r;
        byte[] result;
        if (GuestPath.Classify(raw, Threading.GuestProcess.Pid) == GuestPath.Special.Exe)
        {
            result = Encoding.UTF8.GetBytes(c.Process.ExePath);
            r = Math.Min(result.Length, size);
        }
        else
        {
            raw = GuestPath.Resolve(c.Process.Sysroot, raw);
            result = new byte[Math.Min(size, PathMax)];
            fixed (byte* p = raw)
            fixed (byte* o = result)
                r = Call(Nr.Readlinkat, (int)c.A0, (long)p, (long)o, result.Length);
            if (r < 0) return r;
        }
        return CopyOut(c, c.A2, result.AsSpan(0, (int)r)) ? r : -EFAULT;
    }

    private static long Getdents64(SyscallContext c)
    {
        var (buf, n) = HostBuffer(c, c.A1, (uint)c.A2, GuestProt.Write); // count is an unsigned int
        return Call(Nr.Getdents64, (int)c.A0, buf, n);
    }

    private static long Getcwd(SyscallContext c)
    {
        var buf = stackalloc byte[PathMax];
        long r = Call(Nr.Getcwd, (long)buf, PathMax);
        if (r < 0) return r;
        if ((ulong)r > c.A1) return -ERANGE;
        return CopyOut(c, c.A0, new ReadOnlySpan<byte>(buf, (int)r)) ? r : -EFAULT;
    }

    private static long Symlinkat(SyscallContext c)
    {
        // symlinkat(target, newdirfd, linkpath): the target is stored as given
        long r = ReadString(c, c.A0, PathMax, out var target);
        if (r < 0) return r;
        r = ReadString(c, c.A2, PathMax, out var link);
        if (r < 0) return r;
        fixed (byte* a = target)
        fixed (byte* b = link)
            return Call(Nr.Symlinkat, (long)a, (int)c.A1, (long)b);
    }

    private static long Utimensat(SyscallContext c)
    {
        // utimensat(dirfd, path or NULL, times[2] or NULL, flags)
        if (!OkOrNull(c, c.A2, 32, GuestProt.Read)) return -EFAULT;
        if (c.A1 == 0) return Call(Nr.Utimensat, (int)c.A0, 0, HOrNull(c, c.A2), (int)c.A3);
        return WithPath(c, c.A1, false, p => Call(Nr.Utimensat, (int)c.A0, p, HOrNull(c, c.A2), (int)c.A3));
    }

    // ---- descriptors ----

    private static long Dup3(SyscallContext c)
    {
        const int OCloexec = 0x80000;
        if (((int)c.A2 & ~OCloexec) != 0) return -EINVAL;
        if (EmulatorFds.Owns((int)c.A1)) return -EBUSY; // the emulator's own fd stays
        return Duplicated((int)c.A0, Call(Nr.Dup3, (int)c.A0, (int)c.A1, (int)c.A2));
    }

    private static long Close(SyscallContext c)
    {
        int fd = (int)c.A0;
        if (EmulatorFds.Owns(fd)) return -EBADF;
        long r = Call(Nr.Close, fd);
        if (r == 0 || r == -EINTR) Signals.SignalFds.Closed(fd); // Linux has let go of the fd even when close says EINTR
        return r;
    }

    /// <summary>A dup of <paramref name="from"/> became fd <paramref name="result"/>: a signalfd's copy is one too.</summary>
    private static long Duplicated(int from, long result)
    {
        if (result >= 0) Signals.SignalFds.Duplicated(from, (int)result);
        return result;
    }

    /// <summary>close_range(first, last, flags), stepping around the emulator's own fds.</summary>
    private static long CloseRange(SyscallContext c)
    {
        uint first = (uint)c.A0, last = (uint)c.A1;
        int flags = (int)c.A2;
        if (first > last) return -EINVAL;
        const int CloseRangeCloexec = 4;
        if ((flags & ~6) == 0 && (flags & CloseRangeCloexec) == 0) Signals.SignalFds.ClosedRange(first, last); // 6: UNSHARE, CLOEXEC
        foreach (int fd in EmulatorFds.All.Where(f => (uint)f >= first && (uint)f <= last).OrderBy(f => f))
        {
            if ((uint)fd > first)
            {
                long r = Call(Nr.CloseRange, first, fd - 1, flags);
                if (r < 0) return r;
            }
            first = (uint)fd + 1;
            if (first == 0) return 0;
        }
        return first > last ? 0 : Call(Nr.CloseRange, first, last, flags);
    }

    private static long Fcntl(SyscallContext c)
    {
        int fd = (int)c.A0, cmd = (int)c.A1;
        ulong arg = c.A2;
        switch (cmd)
        {
            case 3: // F_GETFL
                {
                    long r = Call(Nr.Fcntl, fd, cmd);
                    return r < 0 ? r : GuestStructs.OpenFlagsToGuest((int)r);
                }
            case 4: // F_SETFL
                return Call(Nr.Fcntl, fd, cmd, GuestStructs.OpenFlagsToHost((int)arg));
            case 0: case 1030: // F_DUPFD, F_DUPFD_CLOEXEC
                return Duplicated(fd, Call(Nr.Fcntl, fd, cmd, (long)arg));
            case 1: case 2: case 8: case 9: case 10: case 11: // DUPFD GETFD SETFD SETOWN GETOWN SETSIG GETSIG
            case 1024: case 1025: case 1026: case 1031: case 1032: case 1033: case 1034:
                return Call(Nr.Fcntl, fd, cmd, (long)arg);
            case 5: case 36: // F_GETLK, F_OFD_GETLK: struct flock is the same on both
                return Ok(c, arg, 32, GuestProt.Read | GuestProt.Write) ? Call(Nr.Fcntl, fd, cmd, H(c, arg)) : -EFAULT;
            case 6: case 7: case 37: case 38:
                return Ok(c, arg, 32, GuestProt.Read) ? Call(Nr.Fcntl, fd, cmd, H(c, arg)) : -EFAULT;
            case 15: // F_SETOWN_EX
                return Ok(c, arg, 8, GuestProt.Read) ? Call(Nr.Fcntl, fd, cmd, H(c, arg)) : -EFAULT;
            case 16: // F_GETOWN_EX
                return Ok(c, arg, 8, GuestProt.Write) ? Call(Nr.Fcntl, fd, cmd, H(c, arg)) : -EFAULT;
            case 1035: case 1037: // F_GET_RW_HINT, F_GET_FILE_RW_HINT
                return Ok(c, arg, 8, GuestProt.Write) ? Call(Nr.Fcntl, fd, cmd, H(c, arg)) : -EFAULT;
            case 1036: case 1038:
                return Ok(c, arg, 8, GuestProt.Read) ? Call(Nr.Fcntl, fd, cmd, H(c, arg)) : -EFAULT;
            default:
                return -EINVAL;
        }
    }

    /// <summary>
    /// ioctl: request numbers and argument layouts of the terminal, FIO* and a few block/file requests are the
    /// same on AArch64 and x86-64, so known ones pass through; an unknown request is refused with ENOTTY
    /// (as qemu does) because its argument cannot be safely translated.
    /// </summary>
    private static long Ioctl(SyscallContext c)
    {
        int fd = (int)c.A0;
        uint cmd = (uint)c.A1;
        ulong arg = c.A2;
        long Ptr(ulong len, GuestProt need) => Ok(c, arg, len, need) ? Call(Nr.Ioctl, fd, cmd, H(c, arg)) : -EFAULT;
        switch (cmd)
        {
            case 0x5401: return Ptr(36, GuestProt.Write);                       // TCGETS
            case 0x5402: case 0x5403: case 0x5404: return Ptr(36, GuestProt.Read); // TCSETS, TCSETSW, TCSETSF
            case 0x802C542A: return Ptr(44, GuestProt.Write);                   // TCGETS2
            case 0x402C542B: case 0x402C542C: case 0x402C542D: return Ptr(44, GuestProt.Read); // TCSETS2/W2/F2
            case 0x5413: return Ptr(8, GuestProt.Write);                        // TIOCGWINSZ
            case 0x5414: return Ptr(8, GuestProt.Read);                         // TIOCSWINSZ
            case 0x541B: case 0x5411: case 0x540F: case 0x5429: case 0x5424:    // FIONREAD TIOCOUTQ TIOCGPGRP TIOCGSID TIOCGETD
            case 0x80045430: case 0x5415: case 0x80045440: case 0x80045438:     // TIOCGPTN TIOCMGET TIOCGEXCL TIOCGPKT
            case 0x1268:                                                        // BLKSSZGET
                return Ptr(4, GuestProt.Write);
            case 0x5410: case 0x5421: case 0x5452: case 0x40045431: case 0x5423: // TIOCSPGRP FIONBIO FIOASYNC TIOCSPTLCK TIOCSETD
            case 0x5418: case 0x5416: case 0x5417: case 0x5420:                 // TIOCMSET TIOCMBIS TIOCMBIC TIOCPKT
            case 0x40086602:                                                    // FS_IOC_SETFLAGS
                return Ptr(4, GuestProt.Read);
            case 0x5412: return Ptr(1, GuestProt.Read);                         // TIOCSTI
            case 0x5460: case 0x80081272: case 0x80086601:                      // FIOQSIZE BLKGETSIZE64 FS_IOC_GETFLAGS
                return Ptr(8, GuestProt.Write);
            case 0x2: return Ptr(4, GuestProt.Write);                           // FIGETBSZ
            case 0x1: return Ptr(4, GuestProt.Read | GuestProt.Write);          // FIBMAP
            case 0x5451: case 0x5450: case 0x540C: case 0x540D: case 0x5422:    // FIOCLEX FIONCLEX TIOCEXCL TIOCNXCL TIOCNOTTY
            case 0x5409: case 0x540A: case 0x540B: case 0x5425: case 0x540E:    // TCSBRK TCXONC TCFLSH TCSBRKP TIOCSCTTY
            case 0x40049409: case 0x5441:                                       // FICLONE TIOCGPTPEER
                return Call(Nr.Ioctl, fd, cmd, (long)arg);
            default:
                return -ENOTTY;
        }
    }

    // ---- polling ----

    // The waits that take a signal mask (ppoll, pselect6, epoll_pwait/pwait2): the guest's mask is not a host mask
    // (guest signals are emulated), so none goes to the host: it becomes the guest thread's for the wait (MaskedWait).
    // The arguments are checked as Linux checks them and in its order: the timeout (EFAULT, EINVAL), the mask (EINVAL
    // for a size other than 8, EFAULT), then the call's own.
    // A timeout the host writes the time left back to may be read-only: Linux then leaves it, as the host does.

    /// <summary>A timeout pointer: null when NULL or a valid timespec, else -EFAULT or -EINVAL.</summary>
    private static long? TimeoutArg(SyscallContext c, ulong tmo)
    {
        if (tmo == 0) return null;
        if (!Load(c, tmo, out Timespec ts)) return -EFAULT;
        return ts.Sec < 0 || (ulong)ts.Nsec >= 1_000_000_000 ? -EINVAL : null;
    }

    /// <summary>A sigmask and its size: null when NULL or readable with size 8, else -EINVAL or -EFAULT.</summary>
    private static long? SigmaskArg(SyscallContext c, ulong set, ulong size)
    {
        if (set == 0) return null;
        if (size != 8) return -EINVAL;
        return Load(c, set, out ulong _) ? null : -EFAULT;
    }

    private static long Ppoll(SyscallContext c)
    {
        // ppoll(fds, nfds, tmo, sigmask, sigsetsize): struct pollfd and timespec are the same on both
        if ((TimeoutArg(c, c.A2) ?? SigmaskArg(c, c.A3, c.A4)) is long bad) return bad;
        ulong nfds = c.A1;
        if (nfds > 1 << 20) return -EINVAL;
        long fds = HostBuffer(c, c.A0, nfds * 8, GuestProt.Read | GuestProt.Write).Ptr, tmo = HOrNull(c, c.A2);
        return MaskedWait(c, c.A3, () => Call(Nr.Ppoll, fds, (long)nfds, tmo, 0, 8));
    }

    private static long Pselect6(SyscallContext c)
    {
        // pselect6(n, in, out, ex, tmo, sigdata): fd_set and timespec are the same on both; sigdata is { sigset*, size }
        Span<ulong> pack = stackalloc ulong[2];
        if (c.A5 != 0 && !CopyIn(c, c.A5, System.Runtime.InteropServices.MemoryMarshal.AsBytes(pack))) return -EFAULT;
        if ((TimeoutArg(c, c.A4) ?? SigmaskArg(c, pack[0], pack[1])) is long bad) return bad;
        long n = (long)c.A0;
        if (n < 0 || n > 1 << 20) return -EINVAL;
        ulong setBytes = (ulong)((n + 63) / 64 * 8);
        var rw = GuestProt.Read | GuestProt.Write;
        long Set(ulong addr) => addr == 0 ? 0 : HostBuffer(c, addr, setBytes, rw).Ptr;
        long a = Set(c.A1), b = Set(c.A2), e = Set(c.A3), t = HOrNull(c, c.A4);
        return MaskedWait(c, pack[0], () => Call(Nr.Pselect6, n, a, b, e, t, 0));
    }

    private static long EpollCtl(SyscallContext c)
    {
        const int EpollCtlDel = 2;
        if (c.A3 == 0 && (int)c.A1 == EpollCtlDel) return Call(Nr.EpollCtl, (int)c.A0, (int)c.A1, (int)c.A2, 0);
        if (!Load<GuestEpollEvent>(c, c.A3, out var g)) return -EFAULT;
        var h = GuestStructs.ToHost(g);
        return Call(Nr.EpollCtl, (int)c.A0, (int)c.A1, (int)c.A2, (long)&h);
    }

    private static long EpollWait(SyscallContext c, bool timespec)
    {
        // epoll_pwait(epfd, events, maxevents, timeout ms, sigmask, sigsetsize) /
        // epoll_pwait2(epfd, events, maxevents, timespec*, sigmask, sigsetsize)
        if (((timespec ? TimeoutArg(c, c.A3) : null) ?? SigmaskArg(c, c.A4, c.A5)) is long bad) return bad;
        int max = (int)c.A2;
        if (max <= 0 || max > int.MaxValue / 16) return -EINVAL;
        if (!Ok(c, c.A1, (ulong)max * 16, GuestProt.Write)) return -EFAULT;
        var host = new HostEpollEvent[Math.Min(max, 4096)];
        long r;
        fixed (HostEpollEvent* p = host)
        {
            long ev = (long)p, epfd = (int)c.A0, n = host.Length, tmo = timespec ? HOrNull(c, c.A3) : (int)c.A3;
            r = MaskedWait(c, c.A4, () => Call(timespec ? 441 : Nr.EpollPwait, epfd, ev, n, tmo, 0, 8));
        }
        if (r <= 0) return r;
        var g = new GuestEpollEvent[r];
        for (int i = 0; i < r; i++) g[i] = GuestStructs.ToGuest(host[i]);
        return CopyOut(c, c.A1, System.Runtime.InteropServices.MemoryMarshal.AsBytes(g.AsSpan())) ? r : -EFAULT;
    }

    // ---- sockets: struct sockaddr, msghdr, cmsghdr and the option values are the same on both ----

    private static void AddSockets(SyscallEntry?[] t)
    {
        const SyscallSite N = SyscallSite.Node0;
        t.Add(198, "socket", N, c => Call(Nr.Socket, (int)c.A0, (int)c.A1, (int)c.A2));
        t.Add(199, "socketpair", N, c => Call(Nr.Socketpair, (int)c.A0, (int)c.A1, (int)c.A2, HostArg(c, c.A3, 8, GuestProt.Write)));
        t.Add(200, "bind", N, c => Call(Nr.Bind, (int)c.A0, SockIn(c, c.A1, (int)c.A2), (int)c.A2));
        t.Add(201, "listen", N, c => Call(Nr.Listen, (int)c.A0, (int)c.A1));
        t.Add(202, "accept", N, c => SockAddrOut(c, c.A1, c.A2, (a, l) => Call(Nr.Accept, (int)c.A0, a, l)));
        t.Add(203, "connect", N, c => Call(Nr.Connect, (int)c.A0, SockIn(c, c.A1, (int)c.A2), (int)c.A2));
        t.Add(204, "getsockname", N, c => SockAddrOut(c, c.A1, c.A2, (a, l) => Call(Nr.Getsockname, (int)c.A0, a, l)));
        t.Add(205, "getpeername", N, c => SockAddrOut(c, c.A1, c.A2, (a, l) => Call(Nr.Getpeername, (int)c.A0, a, l)));
        t.Add(206, "sendto", N, Sendto);
        t.Add(207, "recvfrom", N, Recvfrom);
        t.Add(208, "setsockopt", N, c => Call(Nr.Setsockopt, (int)c.A0, (int)c.A1, (int)c.A2, SockIn(c, c.A3, (int)c.A4), (int)c.A4));
        t.Add(209, "getsockopt", N, Getsockopt);
        t.Add(210, "shutdown", N, c => Call(Nr.Shutdown, (int)c.A0, (int)c.A1));
        t.Add(211, "sendmsg", N, c => Msg(c, send: true));
        t.Add(212, "recvmsg", N, c => Msg(c, send: false));
        t.Add(242, "accept4", N, c => SockAddrOut(c, c.A1, c.A2, (a, l) => Call(Nr.Accept4, (int)c.A0, a, l, (int)c.A3)));
        t.Add(243, "recvmmsg", N, c => Mmsg(c, send: false));
        t.Add(269, "sendmmsg", N, c => Mmsg(c, send: true));
    }

    /// <summary>An optional (sockaddr*, socklen_t*) value-result pair.</summary>
    private static long SockAddrOut(SyscallContext c, ulong addr, ulong lenPtr, Func<long, long, long> call)
    {
        if (addr == 0) return call(0, lenPtr == 0 ? 0 : (Ok(c, lenPtr, 4, GuestProt.Read | GuestProt.Write) ? H(c, lenPtr) : 0));
        if (!Ok(c, lenPtr, 4, GuestProt.Read | GuestProt.Write) || !Load(c, lenPtr, out int len)) return -EFAULT;
        if (len < 0) return -EINVAL;
        if (!Ok(c, addr, (ulong)len, GuestProt.Write)) return -EFAULT;
        return call(H(c, addr), H(c, lenPtr));
    }

    /// <summary>
    /// An address or option the host reads, with its int length (a negative one goes to the host as it is, which refuses
    /// it with EINVAL in Linux's order): through <see cref="Sys.HostBuffer"/>.
    /// </summary>
    private static long SockIn(SyscallContext c, ulong addr, int len) => HostBuffer(c, addr, len < 0 ? 0 : (ulong)len, GuestProt.Read).Ptr;

    private static long Sendto(SyscallContext c)
    {
        // Linux clamps the length to INT_MAX; a NULL destination is none, whatever its length
        var (buf, len) = HostBuffer(c, c.A1, Math.Min(c.A2, (ulong)int.MaxValue), GuestProt.Read);
        long dest = c.A4 == 0 ? 0 : SockIn(c, c.A4, (int)c.A5);
        long r = Call(Nr.Sendto, (int)c.A0, buf, len, (int)c.A3, dest, (int)c.A5);
        return ((long)c.A3 & MsgNosignal) != 0 ? r : Piped(c, r);
    }

    private static long Recvfrom(SyscallContext c)
    {
        if (!Ok(c, c.A1, c.A2, GuestProt.Write)) return -EFAULT;
        long buf = HOrNull(c, c.A1), len = (long)c.A2, flags = (int)c.A3;
        return SockAddrOut(c, c.A4, c.A5, (a, l) => Call(Nr.Recvfrom, (int)c.A0, buf, len, flags, a, l));
    }

    private static long Getsockopt(SyscallContext c)
    {
        if (!Ok(c, c.A4, 4, GuestProt.Read | GuestProt.Write) || !Load(c, c.A4, out int len)) return -EFAULT;
        if (len < 0) return -EINVAL;
        if (!OkOrNull(c, c.A3, (ulong)len, GuestProt.Write)) return -EFAULT;
        return Call(Nr.Getsockopt, (int)c.A0, (int)c.A1, (int)c.A2, HOrNull(c, c.A3), H(c, c.A4));
    }

    /// <summary>sendmsg/recvmsg: a host msghdr with the guest's name, iovecs and control buffer translated.</summary>
    private static long Msg(SyscallContext c, bool send)
    {
        var hm = stackalloc ulong[7];
        long* hiov = stackalloc long[2 * IovMax];
        long e = MsgIn(c, c.A1, send, hm, hiov, IovMax);
        if (e < 0) return e;
        long r = Call(send ? Nr.Sendmsg : Nr.Recvmsg, (int)c.A0, (long)hm, (int)c.A2);
        if (send) return ((long)c.A2 & MsgNosignal) != 0 ? r : Piped(c, r);
        return r >= 0 && !MsgOut(c, c.A1, hm) ? -EFAULT : r;
    }

    /// <summary>
    /// The guest's msghdr at <paramref name="addr"/> as a host one in <paramref name="hm"/> (7 words), its iovecs
    /// translated into <paramref name="hiov"/> (room for <paramref name="room"/> of them, at least the header's count
    /// when that is at most IovMax): 0, or -errno for a header, name, control buffer or
    /// iovec the guest cannot access as the call needs.
    /// </summary>
    private static long MsgIn(SyscallContext c, ulong addr, bool send, ulong* hm, long* hiov, int room)
    {
        var need = send ? GuestProt.Read : GuestProt.Write;
        if (!Ok(c, addr, 56, send ? GuestProt.Read : GuestProt.Read | GuestProt.Write)) return -EFAULT;
        Span<ulong> gm = stackalloc ulong[7];
        if (!CopyIn(c, addr, System.Runtime.InteropServices.MemoryMarshal.AsBytes(gm))) return -EFAULT;
        ulong name = gm[0], nameLen = (uint)gm[1], iov = gm[2], iovLen = gm[3], ctl = gm[4], ctlLen = gm[5];
        if (!OkOrNull(c, name, nameLen, need) || !OkOrNull(c, ctl, ctlLen, need)) return -EFAULT;
        if (iovLen > IovMax) return -EINVAL;
        if (iovLen > (ulong)room) return -EFAULT; // the header changed under the call
        long n = TranslateIov(c, iov, iovLen, need, new Span<long>(hiov, 2 * room));
        if (n < 0) return n;
        hm[0] = (ulong)HOrNull(c, name); hm[1] = nameLen;
        hm[2] = (ulong)hiov; hm[3] = (ulong)n;
        hm[4] = (ulong)HOrNull(c, ctl); hm[5] = ctlLen;
        hm[6] = gm[6] & 0xffffffff;
        return 0;
    }

    /// <summary>After a receive: msg_namelen (a u32 at 8), msg_controllen (at 40), msg_flags (an int at 48) go back.</summary>
    private static bool MsgOut(SyscallContext c, ulong addr, ulong* hm)
        => Store(c, addr + 8, (uint)hm[1]) && Store(c, addr + 40, hm[5]) && Store(c, addr + 48, (int)hm[6]);

    /// <summary>
    /// sendmmsg/recvmmsg: the vector's mmsghdrs (a msghdr and a u32 msg_len, 64 bytes on both architectures) translated
    /// as sendmsg's, then one host call, so that batching, MSG_WAITFORONE and recvmmsg's timeout are the kernel's own.
    /// As Linux, the vector is cut to UIO_MAXIOV entries, and an entry the guest cannot access ends it there: an error
    /// when it is the first, else the entries before it are sent or filled. Each done entry gets its msg_len.
    /// </summary>
    private static long Mmsg(SyscallContext c, bool send)
    {
        const int Entry = 64;
        int vlen = (int)Math.Min((uint)c.A2, (uint)IovMax);
        // recvmmsg's timeout: Linux reads it first and writes the time left only after a datagram came
        var rw = GuestProt.Read | GuestProt.Write;
        long timeout = send ? 0 : HostArg(c, c.A4, 16, Ok(c, c.A4, 16, rw) ? rw : GuestProt.Read);
        if (vlen == 0) return Call(send ? Nr.Sendmmsg : Nr.Recvmmsg, (int)c.A0, 0, 0, (int)c.A3, timeout);
        byte* vec = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)(vlen * Entry));
        var iovs = new List<nint>();
        try
        {
            int ready = 0;
            for (; ready < vlen; ready++)
            {
                ulong g = c.A1 + (ulong)(ready * Entry);
                int room = Load(c, g + 24, out ulong count) ? (int)Math.Clamp(count, 1UL, (ulong)IovMax) : 1;
                long* hiov = (long*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)(2 * room * sizeof(long)));
                iovs.Add((nint)hiov);
                long e = MsgIn(c, g, send, (ulong*)(vec + ready * Entry), hiov, room);
                if (e < 0)
                {
                    if (ready == 0) return e;
                    break;
                }
            }
            long r = Call(send ? Nr.Sendmmsg : Nr.Recvmmsg, (int)c.A0, (long)vec, ready, (int)c.A3, timeout);
            for (int i = 0; i < r; i++)
            {
                ulong g = c.A1 + (ulong)(i * Entry);
                var hm = (ulong*)(vec + i * Entry);
                if (!Store(c, g + 56, *(uint*)(vec + i * Entry + 56)) || (!send && !MsgOut(c, g, hm))) return i == 0 ? -EFAULT : i;
            }
            return send && ((long)c.A3 & MsgNosignal) == 0 ? Piped(c, r) : r;
        }
        finally
        {
            foreach (var p in iovs) System.Runtime.InteropServices.NativeMemory.Free((void*)p);
            System.Runtime.InteropServices.NativeMemory.Free(vec);
        }
    }
}
