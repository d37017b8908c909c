using Dqemu.Runtime.Signals;
using Dqemu.Runtime.Memory;
using static Dqemu.Runtime.Syscalls.Errno;
using Dqemu.Runtime.Threading;
using static Dqemu.Runtime.Syscalls.GuestSignals;
using static Dqemu.Runtime.Syscalls.Sys;
using Nr = Dqemu.Runtime.Host.HostSyscall.Nr;

namespace Dqemu.Runtime.Syscalls;

/// <summary>
/// Guest signal bookkeeping: dispositions (rt_sigaction, process-wide, node 0), masks and alternate stacks
/// (per thread, Local), and sending signals within the guest. Guest signals are emulated, never host
/// signals: a sent signal is marked pending and the dispatcher delivers it (or applies its default action)
/// when the syscall returns. rt_sigreturn is with the delivery code (SyscallTable.Thread.cs).
/// </summary>
public static unsafe partial class SyscallTable
{
    private const ulong SigsetSize = 8;
    private const int MinSigstksz = 5120, SsAutodisarm = 1 << 31, SsOnStack = 1, SsDisable = 2;

    static partial void AddSignal(SyscallEntry?[] t)
    {
        const SyscallSite L = SyscallSite.Local, N = SyscallSite.Node0;
        t.Add(129, "kill", N, Kill);
        t.Add(130, "tkill", L, c => ThreadKill(c, GuestProcess.Pid, (long)c.A0, (long)c.A1));
        t.Add(131, "tgkill", L, c => ThreadKill(c, (long)c.A0, (long)c.A1, (long)c.A2));
        t.Add(132, "sigaltstack", L, Sigaltstack);
        t.Add(134, "rt_sigaction", N, RtSigaction);
        t.Add(135, "rt_sigprocmask", L, RtSigprocmask);
        t.Add(136, "rt_sigpending", L, RtSigpending);
        t.Add(138, "rt_sigqueueinfo", N, RtSigqueueinfo);
        t.Add(240, "rt_tgsigqueueinfo", L, RtTgsigqueueinfo);
    }

    private static long RtSigaction(SyscallContext c)
    {
        // rt_sigaction(sig, act, oact, sigsetsize); AArch64 struct sigaction: handler, flags, restorer, mask (u64 each)
        int sig = (int)c.A0;
        if (c.A3 != SigsetSize || sig < 1 || sig > NSig) return -EINVAL;
        if (c.A1 != 0 && (sig == SIGKILL || sig == SIGSTOP)) return -EINVAL;
        if (!OkOrNull(c, c.A1, 32, GuestProt.Read) || !OkOrNull(c, c.A2, 32, GuestProt.Write)) return -EFAULT;
        var h = c.Process.SigHandlers;
        lock (h)
        {
            Span<ulong> act = stackalloc ulong[4];
            if (c.A1 != 0) new ReadOnlySpan<ulong>(c.Mem.Base + c.A1, 4).CopyTo(act);
            if (c.A2 != 0) h.AsSpan(sig * 4, 4).CopyTo(new Span<ulong>(c.Mem.Base + c.A2, 4));
            if (c.A1 != 0)
            {
                act[3] &= ~Unblockable;
                act.CopyTo(h.AsSpan(sig * 4, 4));
                OnDispositionChanged(c.Process, c.Thread, sig);
                c.Process.Cluster?.DispositionChanged(sig);
            }
        }
        return 0;
    }

    private static long RtSigprocmask(SyscallContext c)
    {
        const int SigBlock = 0, SigUnblock = 1, SigSetmask = 2;
        if (c.A3 != SigsetSize) return -EINVAL;
        if (!OkOrNull(c, c.A1, 8, GuestProt.Read) || !OkOrNull(c, c.A2, 8, GuestProt.Write)) return -EFAULT;
        ulong old = c.Thread.SignalMask;
        if (c.A1 != 0)
        {
            ulong set = c.Mem.Read<ulong>(c.A1), mask;
            switch ((int)c.A0)
            {
                case SigBlock: mask = old | set; break;
                case SigUnblock: mask = old & ~set; break;
                case SigSetmask: mask = set; break;
                default: return -EINVAL;
            }
            c.Thread.SignalMask = mask & ~Unblockable;
        }
        if (c.A2 != 0) c.Mem.Write(c.A2, old);
        return 0; // signals this unblocked are delivered by the dispatcher as the call returns
    }

    private static long RtSigpending(SyscallContext c)
    {
        if (c.A1 > SigsetSize) return -EINVAL;
        if (!Ok(c, c.A0, c.A1, GuestProt.Write)) return -EFAULT;
        ulong pending = Volatile.Read(ref c.Thread.Pending) & c.Thread.SignalMask;
        CopyOut(c, c.A0, new ReadOnlySpan<byte>(&pending, (int)c.A1));
        return 0;
    }

    private static long Sigaltstack(SyscallContext c)
    {
        // stack_t: ss_sp u64, ss_flags i32 (+pad), ss_size u64
        if (!OkOrNull(c, c.A0, 24, GuestProt.Read) || !OkOrNull(c, c.A1, 24, GuestProt.Write)) return -EFAULT;
        var t = c.Thread;
        ulong sp = c.Cpu->Sp;
        bool onStack = t.AltStackFlags != SsDisable && sp > t.AltStackSp && sp <= t.AltStackSp + t.AltStackSize;
        ulong oldSp = t.AltStackSp, oldSize = t.AltStackSize;
        int oldFlags = onStack ? SsOnStack : t.AltStackFlags;
        if (c.A0 != 0)
        {
            var ss = (ulong*)(c.Mem.Base + c.A0);
            int flags = (int)ss[1];
            int mode = flags & ~SsAutodisarm;
            if (onStack) return -EPERM;
            if (mode != 0 && mode != SsDisable && mode != SsOnStack) return -EINVAL;
            if (mode == SsDisable)
            {
                t.AltStackSp = 0;
                t.AltStackSize = 0;
                t.AltStackFlags = SsDisable;
            }
            else
            {
                if (ss[2] < MinSigstksz) return -ENOMEM;
                t.AltStackSp = ss[0];
                t.AltStackSize = ss[2];
                t.AltStackFlags = flags & SsAutodisarm;
            }
        }
        if (c.A1 != 0)
        {
            var o = (ulong*)(c.Mem.Base + c.A1);
            o[0] = oldSp;
            o[1] = (uint)oldFlags;
            o[2] = oldSize;
        }
        return 0;
    }

    /// <summary>
    /// kill: to the guest itself (its pid, or 0 / -1, which here mean only itself: the emulator must not
    /// signal its process group on the guest's behalf) the signal goes to one of its threads; to another
    /// process it goes to the host.
    /// </summary>
    private static long Kill(SyscallContext c)
    {
        long pid = (int)c.A0;
        int sig = (int)c.A1;
        if (sig < 0 || sig > NSig) return -EINVAL;
        if (pid == GuestProcess.Pid || pid == 0 || pid == -1)
        {
            if (sig != 0) SendToProcess(c.Process, c.Thread, sig);
            return 0;
        }
        return Call(Nr.Kill, pid, sig);
    }

    /// <summary>The guest thread with <paramref name="tid"/>, or null.</summary>
    private static GuestThread? ThreadById(SyscallContext c, long tid)
    {
        if (tid == Tid(c)) return c.Thread;
        return c.Process.Threads.TryGetValue((int)tid, out var t) && !t.Exited ? t : null;
    }

    private static long ThreadKill(SyscallContext c, long tgid, long tid, long sig)
    {
        tgid = (int)tgid;
        tid = (int)tid;
        if (tgid <= 0 || tid <= 0 || sig < 0 || sig > NSig) return -EINVAL;
        if (tgid != GuestProcess.Pid) return Call(Nr.Tgkill, tgid, tid, sig);
        var target = ThreadById(c, tid);
        if (target == null)
            return sig != 0 && c.Process.Cluster?.SignalRemote((int)tid, SigInfo.Tkill((int)sig)) == true ? 0 : -ESRCH;
        if (sig != 0) GuestSignals.SendToThread(c.Process, target, (int)sig);
        return 0;
    }

    /// <summary>
    /// rt_sigqueueinfo / rt_tgsigqueueinfo to the guest itself: the signal is queued with the caller's
    /// si_code and si_value; to another process the host queues it.
    /// </summary>
    private static long RtSigqueueinfo(SyscallContext c)
    {
        long pid = (int)c.A0;
        int sig = (int)c.A1;
        if (sig < 0 || sig > NSig) return -EINVAL;
        if (!Ok(c, c.A2, 128, GuestProt.Read)) return -EFAULT;
        if (pid != GuestProcess.Pid) return Call(129 /* x86-64 rt_sigqueueinfo */, pid, sig, H(c, c.A2));
        if (sig != 0) SendToProcess(c.Process, c.Thread, QueuedInfo(c, sig, c.A2));
        return 0;
    }

    private static long RtTgsigqueueinfo(SyscallContext c)
    {
        long tgid = (int)c.A0, tid = (int)c.A1;
        int sig = (int)c.A2;
        if (tgid <= 0 || tid <= 0 || sig < 0 || sig > NSig) return -EINVAL;
        if (!Ok(c, c.A3, 128, GuestProt.Read)) return -EFAULT;
        if (tgid != GuestProcess.Pid) return Call(297 /* x86-64 rt_tgsigqueueinfo */, tgid, tid, sig, H(c, c.A3));
        var target = ThreadById(c, tid);
        if (target == null) return -ESRCH;
        if (sig != 0) GuestSignals.SendToThread(c.Process, target, QueuedInfo(c, sig, c.A3));
        return 0;
    }

    /// <summary>The siginfo a sigqueue caller supplied: its code, pid, uid and value (at 8, 16, 20, 24).</summary>
    private static SigInfo QueuedInfo(SyscallContext c, int sig, ulong info)
        => new(sig, c.Mem.Read<int>(info + 8), c.Mem.Read<int>(info + 16), c.Mem.Read<uint>(info + 20), c.Mem.Read<ulong>(info + 24), 0);
}
