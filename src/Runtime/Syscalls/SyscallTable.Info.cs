using Dqemu.Runtime.Memory;
using static Dqemu.Runtime.Syscalls.Errno;
using static Dqemu.Runtime.Syscalls.Sys;
using Nr = Dqemu.Runtime.Host.HostSyscall.Nr;

namespace Dqemu.Runtime.Syscalls;

/// <summary>System information and scheduling: answered on the calling node (Local).</summary>
public static unsafe partial class SyscallTable
{
    private const int UtsLen = 65;

    static partial void AddInfo(SyscallEntry?[] t)
    {
        const SyscallSite L = SyscallSite.Local;
        t.Add(122, "sched_setaffinity", L, c => OkIn(c, c.A2, c.A1) ?? Call(Nr.SchedSetaffinity, (int)c.A0, (long)c.A1, H(c, c.A2)));
        t.Add(123, "sched_getaffinity", L, SchedGetaffinity);
        t.Add(124, "sched_yield", L, c => Call(Nr.SchedYield));
        // scheduling parameters of host threads (guest threads are host threads); struct sched_param is one int
        t.Add(118, "sched_setparam", L, c => Call(142, (int)c.A0, HostArg(c, c.A1, 4, GuestProt.Read))); // NULL: EINVAL, as Linux
        t.Add(119, "sched_setscheduler", L, c => Call(144, (int)c.A0, (int)c.A1, HostArg(c, c.A2, 4, GuestProt.Read)));
        t.Add(120, "sched_getscheduler", L, c => Call(145, (int)c.A0));
        t.Add(121, "sched_getparam", L, c => Call(143, (int)c.A0, HostArg(c, c.A1, 4, GuestProt.Write)));
        t.Add(125, "sched_get_priority_max", L, c => Call(146, (int)c.A0));
        t.Add(126, "sched_get_priority_min", L, c => Call(147, (int)c.A0));
        t.Add(127, "sched_rr_get_interval", L, c => OkOut(c, c.A1, 16) ?? Call(148, (int)c.A0, H(c, c.A1)));
        t.Add(160, "uname", L, Uname);
        t.Add(168, "getcpu", L, c => OkOrNull(c, c.A0, 4, GuestProt.Write) && OkOrNull(c, c.A1, 4, GuestProt.Write)
            ? Call(Nr.Getcpu, HOrNull(c, c.A0), HOrNull(c, c.A1), 0) : -EFAULT);
        t.Add(179, "sysinfo", L, c => OkOut(c, c.A0, 112) ?? Call(Nr.Sysinfo, H(c, c.A0)));
        t.Add(278, "getrandom", L, Getrandom);
    }

    /// <summary>uname: the host's answer (struct utsname is the same) with machine "aarch64".</summary>
    private static long Uname(SyscallContext c)
    {
        if (!Ok(c, c.A0, 6 * UtsLen, GuestProt.Write)) return -EFAULT;
        long r = Call(Nr.Uname, H(c, c.A0));
        if (r < 0) return r;
        Span<byte> machine = stackalloc byte[UtsLen];
        machine.Clear();
        "aarch64"u8.CopyTo(machine);
        return CopyOut(c, c.A0 + 4 * UtsLen, machine) ? 0 : -EFAULT;
    }

    private static long SchedGetaffinity(SyscallContext c)
    {
        // the kernel fills min(len, its cpumask size) bytes and returns that count
        ulong len = Math.Min(c.A1, 1UL << 16);
        if (len == 0 || (len & 7) != 0) return -EINVAL;
        if (!Ok(c, c.A2, len, GuestProt.Write)) return -EFAULT;
        return Call(Nr.SchedGetaffinity, (int)c.A0, (long)len, H(c, c.A2));
    }

    private static long Getrandom(SyscallContext c)
    {
        // Linux clamps the count to INT_MAX before it checks the range
        var (buf, n) = HostBuffer(c, c.A0, Math.Min(c.A1, (ulong)int.MaxValue), GuestProt.Write);
        return Call(Nr.Getrandom, buf, n, (int)c.A2);
    }
}
