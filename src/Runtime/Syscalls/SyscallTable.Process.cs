using Dqemu.Runtime.Memory;
using static Dqemu.Runtime.Syscalls.Errno;
using static Dqemu.Runtime.Syscalls.Sys;
using Nr = Dqemu.Runtime.Host.HostSyscall.Nr;

namespace Dqemu.Runtime.Syscalls;

/// <summary>
/// Process and thread identity, exit, limits, groups and sessions. The guest is the host process: its pid,
/// credentials and sessions are the emulator's. Per-thread records (set_tid_address, robust list, rseq,
/// thread name) are Local; whatever changes the process (exit_group, limits, sessions, wait) runs on node 0.
/// </summary>
public static unsafe partial class SyscallTable
{
    private const int RlimitData = 2, RlimitStack = 3, RlimitAs = 9, RlimNlimits = 16;

    static partial void AddProcess(SyscallEntry?[] t)
    {
        const SyscallSite L = SyscallSite.Local, N = SyscallSite.Node0;
        t.Add(93, "exit", L, ExitThread);
        t.Add(94, "exit_group", N, ExitGroup);
        t.Add(95, "waitid", N, Waitid);
        t.Add(221, "execve", L, c => Threading.GuestExec.Execve(c, c.A0, c.A1, c.A2));
        t.Add(96, "set_tid_address", L, c => { c.Thread.ClearChildTid = c.A0; return Tid(c); });
        t.Add(99, "set_robust_list", L, SetRobustList);
        t.Add(100, "get_robust_list", L, GetRobustList);
        t.Add(140, "setpriority", N, c => Call(Nr.Setpriority, (int)c.A0, (int)c.A1, (int)c.A2));
        t.Add(141, "getpriority", N, c => Call(Nr.Getpriority, (int)c.A0, (int)c.A1));
        t.Add(154, "setpgid", N, c => Call(Nr.Setpgid, (int)c.A0, (int)c.A1));
        t.Add(155, "getpgid", N, c => Call(Nr.Getpgid, (int)c.A0));
        t.Add(156, "getsid", N, c => Call(Nr.Getsid, (int)c.A0));
        t.Add(157, "setsid", N, c => Call(Nr.Setsid));
        t.Add(158, "getgroups", L, Getgroups);
        // getrlimit and setrlimit: prlimit64 on the caller with the one pointer each has, which may not be NULL
        t.Add(163, "getrlimit", N, c => Prlimit(c, 0, (uint)c.A0, null, c.A1));
        t.Add(164, "setrlimit", N, c => Prlimit(c, 0, (uint)c.A0, c.A1, null));
        t.Add(165, "getrusage", L, c => OkOut(c, c.A1, 144) ?? Call(Nr.Getrusage, (int)c.A0, H(c, c.A1)));
        t.Add(167, "prctl", L, Prctl);
        t.Add(172, "getpid", L, c => Threading.GuestProcess.Pid);
        t.Add(173, "getppid", L, c => Call(Nr.Getppid));
        t.Add(174, "getuid", L, c => Call(Nr.Getuid));
        t.Add(175, "geteuid", L, c => Call(Nr.Geteuid));
        t.Add(176, "getgid", L, c => Call(Nr.Getgid));
        t.Add(177, "getegid", L, c => Call(Nr.Getegid));
        t.Add(178, "gettid", L, Tid);
        t.Add(148, "getresuid", L, c => GetRes(c, X64Getresuid));
        t.Add(150, "getresgid", L, c => GetRes(c, X64Getresgid));
        t.Add(260, "wait4", N, Wait4);
        t.Add(261, "prlimit64", N, c => Prlimit(c, (int)c.A0, (uint)c.A1, c.A2 == 0 ? null : c.A2, c.A3 == 0 ? null : c.A3));
        t.Add(293, "rseq", L, c => -ENOSYS); // as qemu: glibc then manages without
        // credentials: at the syscall level they belong to the calling thread (glibc makes every thread
        // repeat the call), and guest threads are host threads, so they pass through on the caller
        t.Add(143, "setregid", L, c => Call(114, (int)c.A0, (int)c.A1));
        t.Add(144, "setgid", L, c => Call(Nr.Setgid, (int)c.A0));
        t.Add(145, "setreuid", L, c => Call(113, (int)c.A0, (int)c.A1));
        t.Add(146, "setuid", L, c => Call(Nr.Setuid, (int)c.A0));
        t.Add(147, "setresuid", L, c => Call(117, (int)c.A0, (int)c.A1, (int)c.A2));
        t.Add(149, "setresgid", L, c => Call(119, (int)c.A0, (int)c.A1, (int)c.A2));
        t.Add(151, "setfsuid", L, c => Call(122, (int)c.A0));
        t.Add(152, "setfsgid", L, c => Call(123, (int)c.A0));
        t.Add(159, "setgroups", L, c => (long)c.A0 > 65536 ? -EINVAL : OkIn(c, c.A1, c.A0 * 4) ?? Call(116, (int)c.A0, HOrNull(c, c.A1)));
    }

    /// <summary>exit: this thread ends; the last thread to end gives the process its status.</summary>
    private static long ExitThread(SyscallContext c)
    {
        c.Thread.ExitCode = (int)c.A0 & 0xff;
        c.Thread.Exited = true;
        return 0;
    }

    /// <summary>exit_group: the whole process ends with the status (every thread stops).</summary>
    private static long ExitGroup(SyscallContext c)
    {
        c.Process.Exit((int)c.A0);
        c.Thread.ExitCode = (int)c.A0 & 0xff;
        c.Thread.Exited = true;
        return 0;
    }

    /// <summary>The guest tid: the thread's, or the pid for a main thread that has none recorded.</summary>
    private static long Tid(SyscallContext c) => c.Thread.Tid != 0 ? c.Thread.Tid : Threading.GuestProcess.Pid;

    private static long SetRobustList(SyscallContext c)
    {
        if (c.A1 != 24) return -EINVAL; // sizeof(struct robust_list_head)
        var x = GuestSignals.Of(c.Thread);
        x.RobustHead = c.A0;
        x.RobustLen = c.A1;
        return 0;
    }

    private static long GetRobustList(SyscallContext c)
    {
        if (c.A0 != 0 && (long)c.A0 != Tid(c)) return -ESRCH;
        var x = GuestSignals.Of(c.Thread);
        if (!Store(c, c.A1, x.RobustHead) || !Store(c, c.A2, x.RobustLen == 0 ? 24UL : x.RobustLen)) return -EFAULT;
        return 0;
    }

    private static long Getgroups(SyscallContext c)
    {
        int size = (int)c.A0;
        if (size < 0) return -EINVAL;
        if (size == 0) return Call(Nr.Getgroups, 0, 0);
        if (!Ok(c, c.A1, (ulong)size * 4, GuestProt.Write)) return -EFAULT;
        return Call(Nr.Getgroups, size, H(c, c.A1));
    }

    private static long GetRes(SyscallContext c, long nr)
    {
        if (!Ok(c, c.A0, 4, GuestProt.Write) || !Ok(c, c.A1, 4, GuestProt.Write) || !Ok(c, c.A2, 4, GuestProt.Write)) return -EFAULT;
        return Call(nr, H(c, c.A0), H(c, c.A1), H(c, c.A2));
    }

    /// <summary>
    /// prlimit64 (struct rlimit64, and arm64's struct rlimit, are the same on both), with the limits passed through
    /// host copies so the answer comes in Linux's order: the new limit copied in (EFAULT), the process looked up
    /// (ESRCH), the resource and the limit checked (EINVAL), the old limit copied out (EFAULT). As qemu does, new
    /// RLIMIT_AS/DATA/STACK values for the guest itself are accepted but not applied: they would limit the emulator
    /// (its reservation alone exceeds any address-space limit a guest sets), not the guest.
    /// </summary>
    private static long Prlimit(SyscallContext c, int pid, uint resource, ulong? newLim, ulong? oldLim)
    {
        ulong* lim = stackalloc ulong[2], old = stackalloc ulong[2];
        if (newLim is ulong np && !CopyIn(c, np, new Span<byte>(lim, 16))) return -EFAULT;
        bool self = pid == 0 || pid == Threading.GuestProcess.Pid;
        long r;
        if (self && newLim != null && resource is RlimitAs or RlimitData or RlimitStack)
        {
            if (lim[0] > lim[1]) return -EINVAL;
            r = oldLim != null ? Call(Nr.Prlimit64, 0, resource, 0, (long)old) : 0;
        }
        else r = Call(Nr.Prlimit64, pid, resource, newLim != null ? (long)lim : 0, oldLim != null ? (long)old : 0);
        if (r < 0) return r;
        if (oldLim is ulong op && !CopyOut(c, op, new ReadOnlySpan<byte>(old, 16))) return -EFAULT;
        return r;
    }

    private static long Prctl(SyscallContext c)
    {
        const int PrSetPdeathsig = 1, PrGetPdeathsig = 2, PrGetDumpable = 3, PrSetDumpable = 4, PrSetName = 15,
            PrGetName = 16, PrGetTimerslack = 30, PrSetTimerslack = 29, PrCapbsetRead = 23, PrSetChildSubreaper = 36,
            PrGetChildSubreaper = 37, PrSetNoNewPrivs = 38, PrGetNoNewPrivs = 39, PrGetTaggedAddrCtrl = 56;
        int option = (int)c.A0;
        switch (option)
        {
            case PrSetName:
                {
                    // up to 15 bytes, NUL-terminated or not (the kernel's strncpy_from_user)
                    ulong n = Prefix(c, c.A1, 15, GuestProt.Read);
                    Span<byte> src = stackalloc byte[(int)n];
                    if (!CopyIn(c, c.A1, src)) return -EFAULT;
                    int z = src.IndexOf((byte)0);
                    if (z < 0 && n < 15) return -EFAULT;
                    var name = GuestSignals.Of(c.Thread).Name;
                    Array.Clear(name);
                    src[..(z < 0 ? (int)n : z)].CopyTo(name);
                    return 0;
                }
            case PrGetName:
                return CopyOut(c, c.A1, GuestSignals.Of(c.Thread).Name) ? 0 : -EFAULT;
            case PrGetPdeathsig:
            case PrGetChildSubreaper:
                return Ok(c, c.A1, 4, GuestProt.Write) ? Call(Nr.Prctl, option, H(c, c.A1)) : -EFAULT;
            case PrSetPdeathsig: case PrGetDumpable: case PrSetDumpable: case PrGetTimerslack: case PrSetTimerslack:
            case PrCapbsetRead: case PrSetChildSubreaper: case PrSetNoNewPrivs: case PrGetNoNewPrivs:
                return Call(Nr.Prctl, option, (long)c.A1, (long)c.A2, (long)c.A3, (long)c.A4);
            case PrGetTaggedAddrCtrl:
                return 0; // tagged addresses are not enabled
            default:
                // seccomp, PR_SET_MM, SVE/PAC/MTE controls and the rest would act on the emulator or need
                // features the guest CPU does not advertise
                return -EINVAL;
        }
    }

    /// <summary>wait4(pid, status, options, rusage): the host's; a reaped child's SIGCHLD is pending when it returns
    /// (HostSignalForwarder.ChildWaited).</summary>
    private static long Wait4(SyscallContext c)
    {
        if (!OkOrNull(c, c.A1, 4, GuestProt.Write) || !OkOrNull(c, c.A3, 144, GuestProt.Write)) return -EFAULT;
        int status = 0;
        long r = Call(Nr.Wait4, (int)c.A0, (long)&status, (int)c.A2, HOrNull(c, c.A3));
        if (r > 0)
        {
            if (c.A1 != 0 && !c.Mem.TryWrite(c.A1, status)) return -EFAULT;
            Signals.HostSignalForwarder.ChildWaited(c.Process, c.Thread, (int)r, status);
        }
        return r;
    }

    /// <summary>waitid(idtype, id, info, options, rusage): the host's; an exited child's SIGCHLD as for wait4.</summary>
    private static long Waitid(SyscallContext c)
    {
        if (!OkOrNull(c, c.A2, 128, GuestProt.Write) || !OkOrNull(c, c.A4, 144, GuestProt.Write)) return -EFAULT;
        long r = Call(X64Waitid, (int)c.A0, (int)c.A1, HOrNull(c, c.A2), (int)c.A3, HOrNull(c, c.A4));
        const int WNowait = 0x01000000, CldExited = 1, CldKilled = 2, CldDumped = 3;
        if (r == 0 && c.A2 != 0 && ((int)c.A3 & WNowait) == 0 && c.Mem.TryRead(c.A2 + 8, out int code)
            && code is CldExited or CldKilled or CldDumped && c.Mem.TryRead(c.A2 + 16, out int pid) && c.Mem.TryRead(c.A2 + 24, out int st))
            Signals.HostSignalForwarder.ChildWaited(c.Process, c.Thread, pid, code == CldExited ? (st & 0xff) << 8 : st | (code == CldDumped ? 0x80 : 0));
        return r;
    }
}
