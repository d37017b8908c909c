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
        t.Add(102, "getitimer", L, c => c.Process.Cluster != null ? -ENOSYS : OkOut(c, c.A1, 32) ?? Call(HostGetitimer, (int)c.A0, H(c, c.A1)));
        t.Add(103, "setitimer", L, Setitimer);
        t.Add(107, "timer_create", L, TimerCreate);
        t.Add(108, "timer_gettime", L, c => c.Process.Cluster != null ? -ENOSYS : Call(HostTimerGettime, (int)c.A0, HostArg(c, c.A1, 32, GuestProt.Write)));
        t.Add(109, "timer_getoverrun", L, c => c.Process.Cluster != null ? -ENOSYS : Call(HostTimerGetoverrun, (int)c.A0));
        t.Add(110, "timer_settime", L, c => c.Process.Cluster != null ? -ENOSYS
            : Call(HostTimerSettime, (int)c.A0, (int)c.A1, HostArg(c, c.A2, 32, GuestProt.Read), HostArg(c, c.A3, 32, GuestProt.Write)));
        t.Add(111, "timer_delete", L, TimerDelete);
        t.Add(169, "gettimeofday", L, c => OkOrNull(c, c.A0, 16, GuestProt.Write) && OkOrNull(c, c.A1, 8, GuestProt.Write)
            ? Call(Nr.Gettimeofday, HOrNull(c, c.A0), HOrNull(c, c.A1)) : -EFAULT);
    }

    // ---- interval timers and POSIX timers ----

    // struct itimerval, itimerspec and sigevent are the same on both architectures, and timer ids are the host's, so the
    // host kernel keeps the timers; their signals reach the guest through HostSignalForwarder, which is set up for a
    // timer's signal before the timer is armed. One node only: on a cluster the host signal would end up on whichever
    // node armed it, so these stay ENOSYS there.
    private const long HostGetitimer = 36, HostSetitimer = 38, HostTimerCreate = 222, HostTimerSettime = 223,
        HostTimerGettime = 224, HostTimerGetoverrun = 225, HostTimerDelete = 226;
    private const int SigevSignal = 0, SigevNone = 1, SigevThreadId = 4, SigAlrm = 14;

    /// <summary>setitimer(which, new, old): ITIMER_REAL, VIRTUAL and PROF signal SIGALRM, SIGVTALRM and SIGPROF.</summary>
    private static long Setitimer(SyscallContext c)
    {
        if (c.Process.Cluster != null) return -ENOSYS;
        int sig = (int)c.A0 switch { 0 => SigAlrm, 1 => 26, 2 => 27, _ => 0 };
        if (sig == 0) return -EINVAL;
        if (c.A1 != 0 && OkIn(c, c.A1, 32) is long bad) return bad;
        if (!OkOrNull(c, c.A2, 32, GuestProt.Write)) return -EFAULT;
        if (c.A1 != 0 && !Signals.HostSignalForwarder.Forward(c.Process, sig)) return -EINVAL;
        return Call(HostSetitimer, (int)c.A0, HOrNull(c, c.A1), HOrNull(c, c.A2));
    }

    /// <summary>
    /// timer_create(clock, sevp, timerid): SIGEV_SIGNAL, SIGEV_NONE and SIGEV_THREAD_ID (what glibc makes of
    /// SIGEV_THREAD too; a guest tid is its host tid on one node). The guest's signal travels as the host signal
    /// HostSignalForwarder picks for it; a timer for one thread is remembered so its signal goes to that thread.
    /// </summary>
    private static long TimerCreate(SyscallContext c)
    {
        if (c.Process.Cluster != null) return -ENOSYS;
        if (OkOut(c, c.A2, 4) is long bad) return bad;
        Span<byte> sev = stackalloc byte[64];
        int notify = SigevSignal, guestSig = SigAlrm, tid = 0;
        if (c.A1 != 0)
        {
            if (!CopyIn(c, c.A1, sev)) return -EFAULT;
            guestSig = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(sev[8..]);
            notify = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(sev[12..]);
            tid = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(sev[16..]);
        }
        if (notify != SigevNone)
        {
            if (notify is not (SigevSignal or SigevThreadId)) return -EINVAL;
            int host = Signals.HostSignalForwarder.Carrier(c.Process, guestSig);
            if (host == 0) return -EINVAL;
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(sev[8..], host);
        }
        long r;
        fixed (byte* p = sev) r = Call(HostTimerCreate, (int)c.A0, c.A1 == 0 ? 0 : (long)p, H(c, c.A2));
        if (r == 0 && notify == SigevThreadId && c.Mem.TryRead(c.A2, out int id)) Signals.HostSignalForwarder.ThreadTimers[id] = tid;
        return r;
    }

    private static long TimerDelete(SyscallContext c)
    {
        if (c.Process.Cluster != null) return -ENOSYS;
        long r = Call(HostTimerDelete, (int)c.A0);
        if (r == 0) Signals.HostSignalForwarder.ThreadTimers.TryRemove((int)c.A0, out _);
        return r;
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
