using Dqemu.JitX64.State;
using Dqemu.Runtime.Memory;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime.Signals;

/// <summary>
/// Guest signals: dispositions come from rt_sigaction (GuestProcess.SigHandlers), pending sets and masks are
/// per thread. A handler runs on a frame laid out as arm64 Linux's setup_rt_frame does (siginfo, ucontext with
/// sigcontext and an FPSIMD record, then a frame record) and returns through rt_sigreturn.
/// </summary>
/// <summary>What a pending signal carries into the handler's siginfo_t.</summary>
public readonly record struct SigInfo(int Sig, int Code, int Pid, uint Uid, ulong Value, ulong Addr)
{
    public const int SiUser = 0, SiQueue = -1, SiTkill = -6, SiKernel = 0x80;

    /// <summary>Sent by tgkill/tkill (and raise) from this process.</summary>
    public static SigInfo Tkill(int sig) => new(sig, SiTkill, GuestProcess.Pid, (uint)Host.Ids.Uid, 0, 0);

    /// <summary>Sent by kill from this process.</summary>
    public static SigInfo User(int sig) => new(sig, SiUser, GuestProcess.Pid, (uint)Host.Ids.Uid, 0, 0);
}

public static unsafe class SignalDelivery
{
    public const int SsOnStack = 1, SsDisable = 2;
    public const ulong SaSiginfo = 4, SaOnstack = 0x08000000, SaRestart = 0x10000000, SaNodefer = 0x40000000,
        SaResethand = 0x80000000, SaRestorer = 0x04000000;
    public const ulong SigDfl = 0, SigIgn = 1;
    public const int SiUser = 0, SiTkill = -6, SiKernel = 0x80, SegvMaperr = 1, SegvAccerr = 2, BusAdraln = 1, IllIllopc = 1, TrapBrkpt = 1;
    public const int SigKill = 9, SigStop = 19, SigChld = 17;

    // frame layout (arch/arm64/include/uapi/asm/sigcontext.h, ucontext.h)
    private const int SiginfoSize = 128;
    private const int UcOffset = SiginfoSize;
    private const int UcStack = 16, UcSigmask = 40, UcMcontext = 176;
    private const int ScFaultAddress = 0, ScRegs = 8, ScSp = 256, ScPc = 264, ScPstate = 272, ScReserved = 288;
    private const int FpsimdMagic = 0x46508001, FpsimdSize = 528;
    private const int EsrMagic = 0x45535201, EsrSize = 16;
    /// <summary>The sigcontext's __reserved area the records live in.</summary>
    private const ulong ReservedSize = 4096;
    /// <summary>pstate bits a frame may not set: M[4:0] (an exception level or AArch32 mode) and the DAIF masks.</summary>
    private const ulong PstateMustBeZero = 0x3DF;
    private const int FrameSize = UcOffset + UcMcontext + ScReserved + 4096;

    /// <summary>Signals whose default action is to do nothing.</summary>
    private static bool DefaultIgnores(int sig) => sig is 17 or 23 or 28 or 18 or 20 or 21 or 22 or 19;

    public static ulong Bit(int sig) => 1UL << (sig - 1);

    public static void SendToThread(GuestThread t, int sig) => SendToThread(t, SigInfo.Tkill(sig));

    /// <summary>
    /// Makes a signal pending on <paramref name="t"/>: a standard signal at most once, a real-time one
    /// (32 and up) queued once per send, each with its siginfo.
    /// </summary>
    public static void SendToThread(GuestThread t, SigInfo info)
    {
        lock (t.PendingInfo)
        {
            bool already = (Volatile.Read(ref t.Pending) & Bit(info.Sig)) != 0;
            if (already && info.Sig < 32) return;
            t.PendingInfo.Add(info);
            Interlocked.Or(ref t.Pending, Bit(info.Sig));
        }
        SignalFds.Refresh();
        ThreadInterrupter.Kick(t);
    }

    /// <summary>Forgets every pending instance of <paramref name="sig"/> (its disposition became "ignore").</summary>
    public static void Discard(GuestThread t, int sig)
    {
        lock (t.PendingInfo)
        {
            t.PendingInfo.RemoveAll(i => i.Sig == sig);
            Interlocked.And(ref t.Pending, ~Bit(sig));
        }
        SignalFds.Refresh();
    }

    /// <summary>Takes every signal pending on <paramref name="t"/>, oldest first (a stand-in thread hands them on).</summary>
    public static List<SigInfo> TakeAllPending(GuestThread t)
    {
        List<SigInfo> all;
        lock (t.PendingInfo)
        {
            all = new List<SigInfo>(t.PendingInfo);
            t.PendingInfo.Clear();
            Interlocked.Exchange(ref t.Pending, 0);
        }
        SignalFds.Refresh();
        return all;
    }

    /// <summary>A guest siginfo_t at <paramref name="at"/> (zeroed by the caller): signo, errno, code, then the union: a
    /// fault's address, or a sender's pid, uid and value (a child's pid, uid and status; a timer's id, overrun and value).</summary>
    public static void WriteSiginfo(Memory.GuestSpace mem, ulong at, SigInfo info)
    {
        mem.Write(at + 0, info.Sig);
        mem.Write(at + 8, info.Code);
        if (info.Code <= 0 || info.Sig == SigChld) // a sender's, or a child's (CLD_* codes)
        {
            mem.Write(at + 16, info.Pid);
            mem.Write(at + 20, info.Uid);
            mem.Write(at + 24, info.Value);
        }
        else mem.Write(at + 16, info.Addr);
    }

    /// <summary>Takes one pending instance of <paramref name="sig"/> off <paramref name="t"/> (its siginfo, or a tkill's
    /// when none was recorded).</summary>
    public static SigInfo TakePending(GuestThread t, int sig)
    {
        SigInfo info;
        lock (t.PendingInfo)
        {
            int i = t.PendingInfo.FindIndex(x => x.Sig == sig);
            info = i >= 0 ? t.PendingInfo[i] : SigInfo.Tkill(sig);
            if (i >= 0) t.PendingInfo.RemoveAt(i);
            if (!t.PendingInfo.Exists(x => x.Sig == sig)) Interlocked.And(ref t.Pending, ~Bit(sig));
        }
        SignalFds.Refresh();
        return info;
    }

    /// <summary>
    /// signalfd's read: takes the lowest pending signal of <paramref name="mask"/> off <paramref name="t"/>, oldest
    /// instance first; with <paramref name="anyCode"/> false only one some other thread could take too (not a tkill's,
    /// which is for <paramref name="t"/> alone). False when there is none.
    /// </summary>
    public static bool TryTake(GuestThread t, ulong mask, bool anyCode, out SigInfo info)
    {
        info = default;
        if ((Volatile.Read(ref t.Pending) & mask) == 0) return false;
        lock (t.PendingInfo)
        {
            int best = -1;
            for (int i = 0; i < t.PendingInfo.Count; i++)
            {
                var x = t.PendingInfo[i];
                if ((mask & Bit(x.Sig)) == 0 || (!anyCode && x.Code == SiTkill)) continue;
                if (best < 0 || x.Sig < t.PendingInfo[best].Sig) best = i;
            }
            if (best < 0) return false;
            info = t.PendingInfo[best];
            t.PendingInfo.RemoveAt(best);
            int sig = info.Sig;
            if (!t.PendingInfo.Exists(x => x.Sig == sig)) Interlocked.And(ref t.Pending, ~Bit(sig));
        }
        SignalFds.Refresh();
        return true;
    }

    /// <summary>
    /// A synchronous fault (SIGSEGV, SIGILL, SIGTRAP, SIGBUS, SIGFPE): runs the guest's handler if it has one
    /// and does not block the signal; otherwise the process dies of it (as the kernel forces it).
    /// Returns false when the process is to be killed.
    /// </summary>
    public static bool RaiseSync(GuestProcess p, GuestThread t, int sig, int code, ulong addr)
    {
        ulong handler = p.SigHandlers[4 * sig];
        if (handler == SigDfl || handler == SigIgn || (t.SignalMask & Bit(sig)) != 0) return false;
        return Deliver(p, t, sig, code, addr);
    }

    /// <summary>
    /// Delivers the lowest pending unblocked signal, if any. Returns false when a default action killed the
    /// process.
    /// </summary>
    public static bool DeliverPending(GuestProcess p, GuestThread t)
    {
        while (true)
        {
            ulong ready = Volatile.Read(ref t.Pending) & ~t.SignalMask;
            if (ready == 0)
            {
                // rt_sigsuspend's signal went without a frame (ignored meanwhile): its mask goes back now
                if (t.HasMaskAfterSuspend)
                {
                    t.SignalMask = t.MaskAfterSuspend;
                    t.HasMaskAfterSuspend = false;
                }
                return true;
            }
            int sig = System.Numerics.BitOperations.TrailingZeroCount(ready) + 1;
            var info = TakePending(t, sig);
            // -g: the debugger sees the signal first (as a stop) and may resume without it
            if (p.Debugger is { } debugger && debugger.Signal(t, sig) == 0) continue;
            if (Act(p, t, info) is bool delivered) return delivered;
        }
    }

    /// <summary>What the guest's disposition of an unblocked signal does: null when it is ignored, false when its
    /// default action killed the process, else whether the handler's frame was set up.</summary>
    private static bool? Act(GuestProcess p, GuestThread t, SigInfo info)
    {
        ulong handler = p.SigHandlers[4 * info.Sig];
        if (handler == SigIgn || (handler == SigDfl && DefaultIgnores(info.Sig))) return null;
        if (handler == SigDfl)
        {
            p.KillBySignal(info.Sig);
            t.Exited = true;
            return false;
        }
        return Deliver(p, t, info);
    }

    /// <summary>
    /// -g: the signal gdb resumed a stopped thread with (`signal SIGUSR1`), delivered now as if it had just arrived,
    /// without being reported to gdb again (gdb chose it). Blocked, it waits as pending like any other. False when
    /// it killed the process.
    /// </summary>
    public static bool DeliverFromDebugger(GuestProcess p, GuestThread t, int sig)
    {
        if ((t.SignalMask & Bit(sig)) != 0)
        {
            SendToThread(t, sig);
            return true;
        }
        return Act(p, t, SigInfo.Tkill(sig)) ?? true;
    }

    private static bool Deliver(GuestProcess p, GuestThread t, int sig, int code, ulong addr)
        => Deliver(p, t, new SigInfo(sig, code, 0, 0, 0, addr));

    private static bool Deliver(GuestProcess p, GuestThread t, SigInfo info)
    {
        int sig = info.Sig;
        var cpu = t.Cpu;
        var mem = p.Space;
        ulong flags = p.SigHandlers[4 * sig + 1];
        ulong handler = p.SigHandlers[4 * sig];
        ulong sp = cpu->Sp;
        bool onAlt = t.AltStackFlags != SsDisable && sp > t.AltStackSp && sp <= t.AltStackSp + t.AltStackSize;
        if ((flags & SaOnstack) != 0 && t.AltStackFlags != SsDisable && !onAlt)
            sp = t.AltStackSp + t.AltStackSize;

        ulong record = (sp - 16) & ~15UL;
        ulong frame = (record - FrameSize) & ~15UL;
        // zeroing the frame through the guarded copy also proves every page of it can be written (a stack on a file
        // page past the end of its file cannot); the writes below then land on present pages
        int frameBytes = (int)(record + 16 - frame);
        Span<byte> zeros = stackalloc byte[frameBytes];
        zeros.Clear();
        if (!mem.TryCopyOut(frame, zeros))
        {
            // no room for the frame: the kernel kills with SIGSEGV
            p.KillBySignal(11);
            t.Exited = true;
            return false;
        }

        ulong addr = info.Addr;
        WriteSiginfo(mem, frame, info);

        // ucontext
        ulong uc = frame + UcOffset;
        mem.Write(uc + UcStack, t.AltStackSp);
        mem.Write(uc + UcStack + 8, t.AltStackFlags == SsDisable ? SsDisable : (onAlt ? SsOnStack : 0));
        mem.Write(uc + UcStack + 16, t.AltStackSize);
        // after rt_sigsuspend the frame holds the mask from before it, which the handler's sigreturn restores
        mem.Write(uc + UcSigmask, t.HasMaskAfterSuspend ? t.MaskAfterSuspend : t.SignalMask);
        t.HasMaskAfterSuspend = false;
        ulong sc = uc + UcMcontext;
        mem.Write(sc + ScFaultAddress, addr);
        for (int i = 0; i < 31; i++) mem.Write(sc + ScRegs + (ulong)i * 8, cpu->X[i]);
        mem.Write(sc + ScSp, cpu->Sp);
        mem.Write(sc + ScPc, cpu->Pc);
        mem.Write(sc + ScPstate, (ulong)cpu->Nzcv);
        ulong fp = sc + ScReserved;
        mem.Write(fp, FpsimdMagic);
        mem.Write(fp + 4, FpsimdSize);
        mem.Write(fp + 8, FpsrBits.Read(cpu->Fpsr, cpu->Mxcsr)); // QC and the cumulative flags MXCSR holds
        mem.Write(fp + 12, cpu->Fpcr);
        for (int i = 0; i < 64; i++) mem.Write(fp + 16 + (ulong)i * 8, cpu->V[i]);
        // a zero header after it terminates the record list

        // frame record for unwinders: old fp, old lr
        mem.Write(record, cpu->X[29]);
        mem.Write(record + 8, cpu->X[30]);

        ulong newMask = t.SignalMask | p.SigHandlers[4 * sig + 3];
        if ((flags & SaNodefer) == 0) newMask |= Bit(sig);
        t.SignalMask = newMask & ~(Bit(SigKill) | Bit(SigStop));
        if ((flags & SaResethand) != 0) p.SigHandlers[4 * sig] = SigDfl;

        cpu->ExclSize = 0; // the kernel clears the exclusive monitor on exception entry
        cpu->X[0] = (ulong)sig;
        cpu->X[1] = frame;
        cpu->X[2] = uc;
        cpu->X[29] = record;
        cpu->X[30] = (flags & SaRestorer) != 0 ? p.SigHandlers[4 * sig + 2] : p.SigreturnTrampoline;
        cpu->Sp = frame;
        cpu->Pc = handler;
        return true;
    }

    /// <summary>rt_sigreturn: restores what <see cref="Deliver"/> saved, from the frame at SP.</summary>
    public static bool Return(GuestProcess p, GuestThread t)
    {
        var cpu = t.Cpu;
        var mem = p.Space;
        ulong frame = cpu->Sp;
        ulong uc = frame + UcOffset, sc = uc + UcMcontext;
        // the frame is copied in first (guarded: a page of it may fault) and read from the copy
        if (frame > ulong.MaxValue - FrameSize) return false;
        var copy = stackalloc byte[(int)FrameSize];
        if (!mem.TryCopyIn(frame, new Span<byte>(copy, (int)FrameSize))) return false;
        T Read<T>(ulong at) where T : unmanaged => *(T*)(copy + (at - frame));
        // what Linux checks before it restores anything (restore_sigframe): an EL0 AArch64 pstate with DAIF clear,
        // and a record list it knows, ending in a terminator, with exactly one FPSIMD record
        ulong pstate = Read<ulong>(sc + ScPstate);
        if ((pstate & PstateMustBeZero) != 0) return false;
        ulong fp = 0;
        for (ulong at = sc + ScReserved, end = at + ReservedSize; ; )
        {
            if (end - at < 8) return false;
            uint magic = Read<uint>(at), size = Read<uint>(at + 4);
            if (magic == 0 && size == 0) break;
            if (size < 8 || size % 16 != 0 || size > end - at) return false;
            switch (magic)
            {
                case FpsimdMagic when size == FpsimdSize && fp == 0: fp = at; break;
                case EsrMagic when size == EsrSize: break;
                default: return false;
            }
            at += size;
        }
        if (fp == 0) return false;
        for (int i = 0; i < 31; i++) cpu->X[i] = Read<ulong>(sc + ScRegs + (ulong)i * 8);
        cpu->Sp = Read<ulong>(sc + ScSp);
        cpu->Pc = Read<ulong>(sc + ScPc);
        cpu->Nzcv = (uint)pstate & 0xF000_0000;
        cpu->Fpsr = Read<uint>(fp + 8);
        cpu->Mxcsr &= ~FpsrBits.MxcsrFlags; // the frame's FPSR is the whole of it now
        for (int i = 0; i < 64; i++) cpu->V[i] = Read<ulong>(fp + 16 + (ulong)i * 8);
        t.SignalMask = Read<ulong>(uc + UcSigmask) & ~(Bit(SigKill) | Bit(SigStop));
        cpu->ExclSize = 0;
        t.SuppressResult = true;
        return true;
    }

    /// <summary>
    /// A fault the kernel raises whatever the guest's disposition (Linux's force_sig, e.g. for an rt_sigreturn whose
    /// frame is not one): the handler runs if there is one and the signal is not blocked; otherwise the process dies
    /// of it (a blocked or ignored signal does not keep a forced one away). False when the process died.
    /// </summary>
    public static bool Force(GuestProcess p, GuestThread t, int sig)
    {
        if (RaiseSync(p, t, sig, SiKernel, 0)) return true;
        if (!t.Exited)
        {
            p.KillBySignal(sig);
            t.Exited = true;
        }
        return false;
    }

    /// <summary>Maps the page handlers return through and records it in the process.</summary>
    public static void MapTrampoline(GuestProcess p)
    {
        const ulong page = 0xFF_FFFF_0000;
        p.Space.MapFixed(page, GuestSpace.PageSize, GuestProt.Read | GuestProt.Write, "[sigpage]");
        p.Space.Write(page, 0xD2801168u);     // mov x8, #139 (rt_sigreturn)
        p.Space.Write(page + 4, 0xD4000001u); // svc #0
        p.Space.Protect(page, GuestSpace.PageSize, GuestProt.Read | GuestProt.Exec);
        p.SigreturnTrampoline = page;
    }
}
