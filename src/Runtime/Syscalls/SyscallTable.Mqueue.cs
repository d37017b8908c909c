using System.Buffers.Binary;
using Dqemu.Runtime.Memory;
using Dqemu.Runtime.Signals;
using static Dqemu.Runtime.Syscalls.Errno;
using static Dqemu.Runtime.Syscalls.Sys;

namespace Dqemu.Runtime.Syscalls;

/// <summary>
/// POSIX message queues (mq_open ... mq_getsetattr, AArch64 180-185): the host kernel's, passed through. A queue
/// descriptor is a host fd; struct mq_attr (four longs and four reserved), struct timespec and the open flags these
/// calls take are the same on both, so guest pointers go to the host as checked host pointers. mq_notify's sigevent
/// is rewritten: SIGEV_SIGNAL's signal becomes the host signal that carries it (HostSignalForwarder, forwarded from
/// then on; ENOSYS on a cluster, as timers); SIGEV_THREAD's cookie pointer (glibc's netlink notification, 32 bytes
/// the kernel copies during the call) becomes a host pointer.
/// </summary>
public static unsafe partial class SyscallTable
{
    static partial void AddMqueue(SyscallEntry?[] t)
    {
        const SyscallSite N = SyscallSite.Node0;
        t.Add(180, "mq_open", N, MqOpen);
        t.Add(181, "mq_unlink", N, c => WithPath(c, c.A0, false, p => Call(X64MqUnlink, p)));
        t.Add(182, "mq_timedsend", N, MqTimedsend);
        t.Add(183, "mq_timedreceive", N, MqTimedreceive);
        t.Add(184, "mq_notify", N, MqNotify);
        t.Add(185, "mq_getsetattr", N, c => OkOrNull(c, c.A1, MqAttrSize, GuestProt.Read) && OkOrNull(c, c.A2, MqAttrSize, GuestProt.Write)
            ? Call(X64MqGetsetattr, (int)c.A0, HOrNull(c, c.A1), HOrNull(c, c.A2)) : -EFAULT);
    }

    private const long X64MqOpen = 240, X64MqUnlink = 241, X64MqTimedsend = 242, X64MqTimedreceive = 243,
        X64MqNotify = 244, X64MqGetsetattr = 245;
    private const ulong MqAttrSize = 64, NotifyCookieLen = 32;

    /// <summary>mq_open(name, oflag, mode, attr): Linux copies attr whenever it is given, before it looks at O_CREAT.</summary>
    private static long MqOpen(SyscallContext c)
    {
        if (!OkOrNull(c, c.A3, MqAttrSize, GuestProt.Read)) return -EFAULT;
        return WithPath(c, c.A0, false,
            p => Call(X64MqOpen, p, GuestStructs.OpenFlagsToHost((int)c.A1), (int)c.A2, HOrNull(c, c.A3)));
    }

    /// <summary>mq_timedsend(mqd, msg, len, prio, abs_timeout): may block, so a guest signal cuts it short (EINTR).</summary>
    private static long MqTimedsend(SyscallContext c)
    {
        if (!OkOrNull(c, c.A4, 16, GuestProt.Read)) return -EFAULT;
        var (msg, len) = HostBuffer(c, c.A1, c.A2, GuestProt.Read);
        long tmo = HOrNull(c, c.A4);
        return RetryEintr(c, () => Call(X64MqTimedsend, (int)c.A0, msg, len, (uint)c.A3, tmo));
    }

    /// <summary>mq_timedreceive(mqd, msg, len, prio*, abs_timeout).</summary>
    private static long MqTimedreceive(SyscallContext c)
    {
        if (!OkOrNull(c, c.A4, 16, GuestProt.Read) || !OkOrNull(c, c.A3, 4, GuestProt.Write)) return -EFAULT;
        var (msg, len) = HostBuffer(c, c.A1, c.A2, GuestProt.Write);
        long prio = HOrNull(c, c.A3), tmo = HOrNull(c, c.A4);
        return RetryEintr(c, () => Call(X64MqTimedreceive, (int)c.A0, msg, len, prio, tmo));
    }

    /// <summary>mq_notify(mqd, sevp): NULL removes the registration; struct sigevent is value (8), signo, notify.</summary>
    private static long MqNotify(SyscallContext c)
    {
        const int SigevSignal = 0, SigevNone = 1, SigevThread = 2;
        if (c.A1 == 0) return Call(X64MqNotify, (int)c.A0, 0);
        Span<byte> sev = stackalloc byte[64];
        if (!CopyIn(c, c.A1, sev)) return -EFAULT;
        int sig = BinaryPrimitives.ReadInt32LittleEndian(sev[8..]);
        int notify = BinaryPrimitives.ReadInt32LittleEndian(sev[12..]);
        if (notify == SigevSignal && sig != 0)
        {
            if (sig < 0 || sig > GuestSignals.NSig) return -EINVAL;
            if (c.Process.Cluster != null) return -ENOSYS;
            int host = HostSignalForwarder.Carrier(c.Process, sig);
            if (host == 0) return -EINVAL;
            BinaryPrimitives.WriteInt32LittleEndian(sev[8..], host);
        }
        else if (notify == SigevThread)
        {
            ulong cookie = BinaryPrimitives.ReadUInt64LittleEndian(sev);
            if (!Ok(c, cookie, NotifyCookieLen, GuestProt.Read)) return -EFAULT;
            BinaryPrimitives.WriteInt64LittleEndian(sev, H(c, cookie));
        }
        else if (notify != SigevNone && notify != SigevSignal) return -EINVAL;
        fixed (byte* p = sev) return Call(X64MqNotify, (int)c.A0, (long)p);
    }
}
