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
        t.Add(133, "rt_sigsuspend", L, RtSigsuspend);
        t.Add(137, "rt_sigtimedwait", L, RtSigtimedwait);
        t.Add(134, "rt_sigaction", N, RtSigaction);
        t.Add(135, "rt_sigprocmask", L, RtSigprocmask);
        t.Add(136, "rt_sigpending", L, RtSigpending);
        t.Add(138, "rt_sigqueueinfo", N, RtSigqueueinfo);
        t.Add(424, "pidfd_send_signal", N, PidfdSendSignal);
        t.Add(240, "rt_tgsigqueueinfo", L, RtTgsigqueueinfo);
        t.Add(74, "signalfd4", N, Signalfd4);
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
            if (c.A1 != 0 && !CopyIn(c, c.A1, System.Runtime.InteropServices.MemoryMarshal.AsBytes(act))) return -EFAULT;
            if (c.A2 != 0 && !CopyOut(c, c.A2, System.Runtime.InteropServices.MemoryMarshal.AsBytes(h.AsSpan(sig * 4, 4))))
                return -EFAULT;
            if (c.A1 != 0)
            {
                act[3] &= ~Unblockable;
                act.CopyTo(h.AsSpan(sig * 4, 4));
                // a handler: the host's signal must reach the guest from now on; SIG_IGN: the host ignores it too
                HostSignalForwarder.DispositionChanged(c.Process, sig, act[0]);
                OnDispositionChanged(c.Process, c.Thread, sig);
                c.Process.Cluster?.DispositionChanged(sig);
            }
        }
        return 0;
    }

    /// <summary>
    /// rt_sigsuspend(mask, size): waits with <paramref name="c"/>'s mask in place until a signal it lets through is
    /// pending, then returns EINTR; the mask from before comes back when that signal has been handled (the handler's
    /// frame records it). The wait sleeps in short host naps that a sender's kick (ThreadInterrupter) cuts short.
    /// </summary>
    private static long RtSigsuspend(SyscallContext c)
    {
        if (c.A1 != SigsetSize) return -EINVAL;
        if (!Load(c, c.A0, out ulong set)) return -EFAULT;
        var t = c.Thread;
        t.MaskAfterSuspend = t.SignalMask;
        t.HasMaskAfterSuspend = true;
        t.SignalMask = set & ~Unblockable;
        long* nap = stackalloc long[2] { 0, 50_000_000 };
        while (!HasDeliverable(t) && !c.Process.Exiting && !t.Exited) Call(Nr.Nanosleep, (long)nap, 0);
        return -EINTR;
    }

    /// <summary>
    /// The waits that take a signal mask (ppoll, pselect6, epoll_pwait/pwait2; the mask at <paramref name="setAddr"/>
    /// already checked): the guest's mask is that one for the wait, as Linux swaps it in atomically. A signal it lets
    /// through that is pending already ends the wait at once with EINTR; one that comes during it interrupts the host
    /// call (the sender's kick). On EINTR for a guest signal its handler runs under the call's mask and its sigreturn
    /// restores the old one (MaskAfterSuspend, as rt_sigsuspend); otherwise the old mask is back at once. GNU make -j
    /// waits for SIGCHLD this way (blocked, and let through only inside pselect).
    /// </summary>
    internal static long MaskedWait(SyscallContext c, ulong setAddr, Func<long> call)
    {
        if (setAddr == 0 || !Load(c, setAddr, out ulong set)) return RetryEintr(c, call);
        var t = c.Thread;
        ulong old = t.SignalMask;
        t.SignalMask = set & ~Unblockable;
        long r = HasDeliverable(t) ? -EINTR : RetryEintr(c, call);
        if (r == -EINTR && HasDeliverable(t))
        {
            t.MaskAfterSuspend = old;
            t.HasMaskAfterSuspend = true;
        }
        else t.SignalMask = old;
        return r;
    }

    /// <summary>
    /// rt_sigtimedwait(set, info, timeout, size): takes a pending signal of the set (lowest first) without running a
    /// handler, writes its siginfo, returns its number; EAGAIN when the timeout passes first, EINTR when a signal
    /// outside the set that the thread lets through arrives (its handler runs). Waits in naps a sender's kick cuts short.
    /// </summary>
    private static long RtSigtimedwait(SyscallContext c)
    {
        if (c.A3 != SigsetSize) return -EINVAL;
        if (!Load(c, c.A0, out ulong set)) return -EFAULT;
        if (!OkOrNull(c, c.A1, 128, GuestProt.Write)) return -EFAULT;
        long deadline = long.MaxValue;
        if (c.A2 != 0)
        {
            if (!Load(c, c.A2, out Timespec ts)) return -EFAULT;
            if (ts.Sec < 0 || (ulong)ts.Nsec >= 1_000_000_000) return -EINVAL;
            deadline = NowNs() + Math.Min(ts.Sec, long.MaxValue / 2_000_000_000) * 1_000_000_000 + ts.Nsec;
        }
        var t = c.Thread;
        ulong want = set & ~Unblockable;
        long* nap = stackalloc long[2];
        t.SigwaitSet = want;
        try
        {
            while (true)
            {
                ulong ready = Volatile.Read(ref t.Pending) & want;
                if (ready != 0)
                {
                    int sig = System.Numerics.BitOperations.TrailingZeroCount(ready) + 1;
                    var info = SignalDelivery.TakePending(t, sig);
                    if (c.A1 != 0)
                    {
                        Span<byte> zero = stackalloc byte[128];
                        zero.Clear();
                        if (!c.Mem.TryCopyOut(c.A1, zero)) return -EFAULT;
                        SignalDelivery.WriteSiginfo(c.Mem, c.A1, info);
                    }
                    return sig;
                }
                if (HasDeliverable(t) || c.Process.Exiting || t.Exited) return -EINTR;
                long now = NowNs();
                if (now >= deadline) return -EAGAIN;
                nap[0] = 0;
                nap[1] = Math.Min(50_000_000, deadline - now);
                Call(Nr.Nanosleep, (long)nap, 0);
            }
        }
        finally { t.SigwaitSet = 0; }
    }

    private static long NowNs() => (long)(System.Diagnostics.Stopwatch.GetTimestamp() * (1e9 / System.Diagnostics.Stopwatch.Frequency));

    private static long RtSigprocmask(SyscallContext c)
    {
        const int SigBlock = 0, SigUnblock = 1, SigSetmask = 2;
        if (c.A3 != SigsetSize) return -EINVAL;
        if (!OkOrNull(c, c.A1, 8, GuestProt.Read) || !OkOrNull(c, c.A2, 8, GuestProt.Write)) return -EFAULT;
        ulong old = c.Thread.SignalMask;
        if (c.A1 != 0)
        {
            if (!Load(c, c.A1, out ulong set)) return -EFAULT;
            ulong mask;
            switch ((int)c.A0)
            {
                case SigBlock: mask = old | set; break;
                case SigUnblock: mask = old & ~set; break;
                case SigSetmask: mask = set; break;
                default: return -EINVAL;
            }
            c.Thread.SignalMask = mask & ~Unblockable;
        }
        if (c.A2 != 0 && !Store(c, c.A2, old)) return -EFAULT;
        return 0; // signals this unblocked are delivered by the dispatcher as the call returns
    }

    private static long RtSigpending(SyscallContext c)
    {
        if (c.A1 > SigsetSize) return -EINVAL;
        if (!Ok(c, c.A0, c.A1, GuestProt.Write)) return -EFAULT;
        ulong pending = Volatile.Read(ref c.Thread.Pending) & c.Thread.SignalMask;
        return CopyOut(c, c.A0, new ReadOnlySpan<byte>(&pending, (int)c.A1)) ? 0 : -EFAULT;
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
            Span<ulong> ss = stackalloc ulong[3];
            if (!CopyIn(c, c.A0, System.Runtime.InteropServices.MemoryMarshal.AsBytes(ss))) return -EFAULT;
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
            Span<ulong> o = [oldSp, (uint)oldFlags, oldSize];
            if (!CopyOut(c, c.A1, System.Runtime.InteropServices.MemoryMarshal.AsBytes(o))) return -EFAULT;
        }
        return 0;
    }

    /// <summary>
    /// kill: to the guest itself (its pid, or 0 / -1, which here mean only itself: the emulator must not
    /// signal its process group on the guest's behalf) the signal goes to one of its threads; to another
    /// process it goes to the host, which also answers in Linux's order (no such process before a bad signal).
    /// pid and sig are ints, as the kernel takes them.
    /// </summary>
    private static long Kill(SyscallContext c)
    {
        long pid = (int)c.A0;
        int sig = (int)c.A1;
        if (pid != GuestProcess.Pid && pid != 0 && pid != -1) return Call(Nr.Kill, pid, sig);
        if (sig < 0 || sig > NSig) return -EINVAL;
        if (sig != 0) SendToProcess(c.Process, c.Thread, sig);
        return 0;
    }

    /// <summary>The guest thread with <paramref name="tid"/>, or null.</summary>
    private static GuestThread? ThreadById(SyscallContext c, long tid)
    {
        if (tid == Tid(c)) return c.Thread;
        return c.Process.Threads.TryGetValue((int)tid, out var t) && !t.Exited ? t : null;
    }

    /// <summary>tkill/tgkill (ints, as the kernel takes them), in Linux's order: a non-positive id, then no such
    /// thread, then a bad signal.</summary>
    private static long ThreadKill(SyscallContext c, long tgid, long tid, long sigArg)
    {
        tgid = (int)tgid;
        tid = (int)tid;
        int sig = (int)sigArg;
        if (tgid <= 0 || tid <= 0) return -EINVAL;
        if (tgid != GuestProcess.Pid) return Call(Nr.Tgkill, tgid, tid, sig);
        bool valid = sig >= 0 && sig <= NSig;
        var target = ThreadById(c, tid);
        if (target == null)
            return valid && sig != 0 && c.Process.Cluster?.SignalRemote((int)tid, SigInfo.Tkill(sig)) == true ? 0 : -ESRCH;
        if (!valid) return -EINVAL;
        if (sig != 0) GuestSignals.SendToThread(c.Process, target, sig);
        return 0;
    }

    /// <summary>
    /// rt_sigqueueinfo / rt_tgsigqueueinfo to the guest itself: the signal is queued with the caller's
    /// si_code and si_value; to another process the host queues it. In Linux's order: the siginfo is copied
    /// first, then a caller may use a kernel si_code (or SI_TKILL) only on itself, then no such process, then a
    /// bad signal.
    /// </summary>
    private static long RtSigqueueinfo(SyscallContext c)
    {
        long pid = (int)c.A0;
        int sig = (int)c.A1;
        var info = stackalloc byte[SigInfoSize];
        if (!CopyIn(c, c.A2, new Span<byte>(info, SigInfoSize))) return -EFAULT;
        if (pid != GuestProcess.Pid) return Call(129 /* x86-64 rt_sigqueueinfo */, pid, sig, (long)info);
        if (KernelCode(info) && Tid(c) != pid) return -EPERM; // Linux compares the calling thread's id
        if (sig < 0 || sig > NSig) return -EINVAL;
        if (sig != 0) SendToProcess(c.Process, c.Thread, QueuedInfo(sig, info));
        return 0;
    }

    private static long RtTgsigqueueinfo(SyscallContext c)
    {
        long tgid = (int)c.A0, tid = (int)c.A1;
        int sig = (int)c.A2;
        var info = stackalloc byte[SigInfoSize];
        if (!CopyIn(c, c.A3, new Span<byte>(info, SigInfoSize))) return -EFAULT;
        if (tgid <= 0 || tid <= 0) return -EINVAL;
        if (tgid != GuestProcess.Pid) return Call(297 /* x86-64 rt_tgsigqueueinfo */, tgid, tid, sig, (long)info);
        if (KernelCode(info) && Tid(c) != tid) return -EPERM;
        var target = ThreadById(c, tid);
        if (target == null) return -ESRCH;
        if (sig < 0 || sig > NSig) return -EINVAL;
        if (sig != 0) GuestSignals.SendToThread(c.Process, target, QueuedInfo(sig, info));
        return 0;
    }

    /// <summary>
    /// pidfd_send_signal: a pidfd of another process gets the host's call; one of the emulator's own process (the
    /// guest's: pidfd_open(getpid())) gets the emulated signal, with the caller's siginfo when it gave one, as kill and
    /// rt_sigqueueinfo do. Which process a pidfd names is in /proc/self/fdinfo ("Pid:"). Flags (Linux 6.9): to the
    /// thread the pidfd names (its main thread), to the process (as none), or to its process group (the host's kill of
    /// the group, as the guest's kill(-pgid) is).
    /// </summary>
    private static long PidfdSendSignal(SyscallContext c)
    {
        const uint ToThread = 1, ToProcess = 2, ToGroup = 4;
        int fd = (int)c.A0, sig = (int)c.A1;
        uint flags = (uint)c.A3;
        if (flags == ToGroup || PidfdTarget(fd) != GuestProcess.Pid)
            return Call(424, fd, sig, SyscallTable.HostArg(c, c.A2, SigInfoSize, GuestProt.Read), flags);
        if ((flags & ~(ToThread | ToProcess | ToGroup)) != 0 || System.Numerics.BitOperations.PopCount(flags) > 1) return -EINVAL;
        var thread = flags == ToThread ? ThreadById(c, GuestProcess.Pid) : null;
        if (flags == ToThread && thread == null) return -ESRCH;
        var info = stackalloc byte[SigInfoSize];
        bool given = c.A2 != 0;
        if (given && !CopyIn(c, c.A2, new Span<byte>(info, SigInfoSize))) return -EFAULT;
        if (given && *(int*)info != sig) return -EINVAL; // Linux: the siginfo must name the signal
        if (sig < 0 || sig > NSig) return -EINVAL;
        if (sig == 0) return 0;
        var sent = given ? QueuedInfo(sig, info) : SigInfo.User(sig);
        if (thread != null) GuestSignals.SendToThread(c.Process, thread, sent);
        else SendToProcess(c.Process, c.Thread, sent);
        return 0;
    }

    /// <summary>The pid a pidfd names, 0 when <paramref name="fd"/> is not one.</summary>
    private static int PidfdTarget(int fd)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/self/fdinfo/{fd}"))
                if (line.StartsWith("Pid:", StringComparison.Ordinal)) return int.TryParse(line.AsSpan(4).Trim(), out int pid) ? pid : 0;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }

    /// <summary>An si_code only the kernel may send to another task: 0 and up (SI_USER, the fault codes) or SI_TKILL.</summary>
    private static bool KernelCode(byte* info) => *(int*)(info + 8) is >= 0 or -6;

    private const int SigInfoSize = 128;

    /// <summary>The siginfo a sigqueue caller supplied (copied in): its code, pid, uid and value (at 8, 16, 20, 24).</summary>
    private static SigInfo QueuedInfo(int sig, byte* info)
        => new(sig, *(int*)(info + 8), *(int*)(info + 16), *(uint*)(info + 20), *(ulong*)(info + 24), 0);
}
