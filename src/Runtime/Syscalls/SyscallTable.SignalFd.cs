using System.Buffers.Binary;
using Dqemu.Runtime.Signals;
using static Dqemu.Runtime.Syscalls.Errno;
using static Dqemu.Runtime.Syscalls.GuestSignals;
using static Dqemu.Runtime.Syscalls.Sys;
using Nr = Dqemu.Runtime.Host.HostSyscall.Nr;

namespace Dqemu.Runtime.Syscalls;

/// <summary>
/// signalfd4 (AArch64 has no plain signalfd): an emulated signalfd (<see cref="SignalFds"/>, a host eventfd the
/// emulator keeps readable while a signal of its mask is pending) whose read() dequeues the guest's pending signals
/// as 128-byte struct signalfd_siginfo records. The host's own signals of the mask are forwarded from the moment the
/// mask names them, so a signal another process sends reaches a guest that blocks it. One node only (ENOSYS on a
/// cluster: the pending sets of threads on other nodes are not here).
/// </summary>
public static unsafe partial class SyscallTable
{
    private const int SignalfdRecord = 128;

    private static long Signalfd4(SyscallContext c)
    {
        const int SfdCloexec = 0x80000, SfdNonblock = 0x800, FGetfd = 1;
        int fd = (int)c.A0, flags = (int)c.A3;
        // Linux's order: flags and size, the mask, then the fd
        if ((flags & ~(SfdCloexec | SfdNonblock)) != 0 || c.A2 != SigsetSize) return -EINVAL;
        if (!Load(c, c.A1, out ulong mask)) return -EFAULT;
        if (c.Process.Cluster != null) return -ENOSYS;
        mask &= ~Unblockable;
        if (fd != -1 && !SignalFds.Owns(fd)) return Call(Nr.Fcntl, fd, FGetfd) < 0 ? -EBADF : -EINVAL;
        // SIGPIPE stays the emulator's: the guest's comes from its own EPIPE
        for (int sig = 1; sig <= NSig; sig++)
            if ((mask & Bit(sig)) != 0 && sig != SIGPIPE) HostSignalForwarder.Forward(c.Process, sig);
        return fd == -1 ? SignalFds.Create(c.Process, mask, flags) : SignalFds.SetMask(fd, mask);
    }

    /// <summary>
    /// read() on a signalfd, as Linux's signalfd_read: EINVAL for room for no record; as many pending signals of the
    /// mask as whole records fit; EAGAIN when there is none and the fd is non-blocking; otherwise it waits, and a
    /// signal the thread lets through ends the wait with EINTR (restarted under SA_RESTART, as read is).
    /// </summary>
    private static long SignalfdRead(SyscallContext c) => SignalfdRead(c, c.A2, (i, rec) => CopyOut(c, c.A1 + i * SignalfdRecord, rec));

    /// <summary>
    /// readv() on a signalfd: Linux reads a signalfd through its iovecs as through one buffer of their total length, a
    /// record crossing from one iovec into the next. A record that cannot be written ends it, as in read().
    /// </summary>
    private static long SignalfdReadv(SyscallContext c)
    {
        if (c.A2 > IovMax) return -EINVAL;
        var g = new ulong[2 * (int)c.A2];
        long total = LoadIov(c, c.A1, g);
        if (total < 0) return total;
        return SignalfdRead(c, (ulong)total, (index, rec) =>
        {
            // the record's bytes at [index * 128, + 128) of the iovecs taken end to end
            ulong at = index * SignalfdRecord, done = 0;
            for (int i = 0; i < (int)c.A2 && done < SignalfdRecord; i++)
            {
                ulong b = g[2 * i], l = g[2 * i + 1];
                if (at >= l)
                {
                    at -= l;
                    continue;
                }
                ulong n = Math.Min(l - at, SignalfdRecord - done);
                if (!CopyOut(c, b + at, rec.AsSpan((int)done, (int)n))) return false;
                done += n;
                at = 0;
            }
            return done == SignalfdRecord;
        });
    }

    private static long SignalfdRead(SyscallContext c, ulong length, Func<ulong, byte[], bool> write)
    {
        int fd = (int)c.A0;
        ulong room = length / SignalfdRecord;
        if (room == 0) return -EINVAL;
        bool readyButNotMine = false;
        while (true)
        {
            ulong mask = SignalFds.MaskOf(fd), got = 0;
            while (got < room && SignalFds.TryTake(c.Process, c.Thread, mask, out var info))
            {
                // a record that cannot be written is lost, as in Linux (it was dequeued first)
                if (!write(got, SignalfdSiginfo(info))) return got > 0 ? (long)(got * SignalfdRecord) : -EFAULT;
                got++;
            }
            if (got > 0) return (long)(got * SignalfdRecord);
            if (SignalFds.NonBlocking(fd)) return -EAGAIN;
            if (HasDeliverable(c.Thread) || c.Process.Exiting || c.Thread.Exited) return -EINTR;
            readyButNotMine = SignalFds.Wait(fd, readyButNotMine);
        }
    }

    /// <summary>
    /// struct signalfd_siginfo for <paramref name="info"/>, filled as Linux's signalfd_copyinfo does by the siginfo's
    /// layout: a timer's id, overrun and value; a child's pid, uid and status; a queued or thread-directed signal's
    /// pid, uid and value (SI_QUEUE, SI_MESGQ, SI_TKILL); a fault's address; else the sender's pid and uid.
    /// </summary>
    private static byte[] SignalfdSiginfo(SigInfo info)
    {
        const int SiTimer = -2, SiKernel = 0x80, SigChld = 17;
        const int Signo = 0, Code = 8, Pid = 12, Uid = 16, Tid = 24, Overrun = 32, Status = 40, Int = 44, Ptr = 48, Addr = 72;
        var r = new byte[SignalfdRecord];
        var s = r.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(s[Signo..], info.Sig);
        BinaryPrimitives.WriteInt32LittleEndian(s[Code..], info.Code);
        if (info.Code == SiTimer)
        {
            BinaryPrimitives.WriteInt32LittleEndian(s[Tid..], info.Pid);
            BinaryPrimitives.WriteUInt32LittleEndian(s[Overrun..], info.Uid);
            BinaryPrimitives.WriteUInt64LittleEndian(s[Ptr..], info.Value);
            BinaryPrimitives.WriteInt32LittleEndian(s[Int..], (int)info.Value);
            return r;
        }
        bool kernelCode = info.Code > 0 && info.Code < SiKernel;
        if (kernelCode && info.Sig != SigChld)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(s[Addr..], info.Addr);
            return r;
        }
        BinaryPrimitives.WriteInt32LittleEndian(s[Pid..], info.Pid);
        BinaryPrimitives.WriteUInt32LittleEndian(s[Uid..], info.Uid);
        if (kernelCode) BinaryPrimitives.WriteInt32LittleEndian(s[Status..], (int)info.Value);
        else if (info.Code < 0)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(s[Ptr..], info.Value);
            BinaryPrimitives.WriteInt32LittleEndian(s[Int..], (int)info.Value);
        }
        return r;
    }
}
