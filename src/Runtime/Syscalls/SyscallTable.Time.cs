using Dqemu.Runtime.Memory;
using static Dqemu.Runtime.Syscalls.Errno;
using static Dqemu.Runtime.Syscalls.Sys;
using Nr = Dqemu.Runtime.Host.HostSyscall.Nr;

namespace Dqemu.Runtime.Syscalls;

/// <summary>
/// Clocks and sleeps: clock ids, struct timespec, timeval, timezone and tms are the same on both, so the host
/// answers directly into guest memory. All Local: a clock is read, and a sleep waits, on the calling node.
/// </summary>
public static unsafe partial class SyscallTable
{
    static partial void AddTime(SyscallEntry?[] t)
    {
        const SyscallSite L = SyscallSite.Local;
        t.Add(101, "nanosleep", L, Nanosleep);
        t.Add(113, "clock_gettime", L, c => OkOut(c, c.A1, 16) ?? Call(Nr.ClockGettime, (int)c.A0, H(c, c.A1)));
        t.Add(114, "clock_getres", L, c => OkOrNull(c, c.A1, 16, GuestProt.Write) ? Call(Nr.ClockGetres, (int)c.A0, HOrNull(c, c.A1)) : -EFAULT);
        t.Add(115, "clock_nanosleep", L, ClockNanosleep);
        t.Add(153, "times", L, c => OkOrNull(c, c.A0, 32, GuestProt.Write) ? Call(Nr.Times, HOrNull(c, c.A0)) : -EFAULT);
        t.Add(169, "gettimeofday", L, c => OkOrNull(c, c.A0, 16, GuestProt.Write) && OkOrNull(c, c.A1, 8, GuestProt.Write)
            ? Call(Nr.Gettimeofday, HOrNull(c, c.A0), HOrNull(c, c.A1)) : -EFAULT);
    }

    private static long Nanosleep(SyscallContext c)
    {
        // a host signal that is not the guest's (none is delivered to it yet) must not cut the sleep short:
        // sleep again for what remains. The remaining time is written only when the guest's signal cuts it short
        // (Linux looks at that pointer only then).
        if (!Load(c, c.A0, out Timespec req)) return -EFAULT;
        Timespec rem = default;
        while (true)
        {
            long r = Call(Nr.Nanosleep, (long)&req, (long)&rem);
            if (r != -EINTR || GuestSignals.HasDeliverable(c.Thread))
            {
                if (r == -EINTR && c.A1 != 0 && !Store(c, c.A1, rem)) return -EFAULT;
                return r;
            }
            req = rem;
        }
    }

    private static long ClockNanosleep(SyscallContext c)
    {
        const int TimerAbstime = 1;
        if (!Load(c, c.A2, out Timespec req)) return -EFAULT; // the remaining time: as nanosleep
        bool abs = ((int)c.A1 & TimerAbstime) != 0;
        Timespec rem = default;
        while (true)
        {
            long r = Call(Nr.ClockNanosleep, (int)c.A0, (int)c.A1, (long)&req, abs ? 0 : (long)&rem);
            if (r != -EINTR || GuestSignals.HasDeliverable(c.Thread))
            {
                if (r == -EINTR && !abs && c.A3 != 0 && !Store(c, c.A3, rem)) return -EFAULT;
                return r;
            }
            if (!abs) req = rem;
        }
    }

    private struct Timespec
    {
        public long Sec;
        public long Nsec;
    }
}
