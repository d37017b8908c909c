using System.Runtime.CompilerServices;
using Dqemu.Runtime.Signals;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime.Syscalls;

/// <summary>Per-thread records the syscalls keep beside <see cref="GuestThread"/>.</summary>
public sealed class GuestThreadExtras
{
    /// <summary>set_robust_list.</summary>
    public ulong RobustHead, RobustLen;
    /// <summary>prctl(PR_SET_NAME): 16 bytes, NUL-padded.</summary>
    public readonly byte[] Name = new byte[16];
}

/// <summary>
/// Sending guest signals from syscalls (kill, tgkill, SIGPIPE on EPIPE). Dispositions live in
/// GuestProcess.SigHandlers (4 words per signal: handler, flags, restorer, mask), masks and pending sets in
/// GuestThread. A sent signal is only marked pending here; the dispatcher runs
/// <see cref="SignalDelivery.DeliverPending"/> when the syscall returns, which applies the default action
/// (abort() ends the process as killed by SIGABRT), ignores, or runs the guest's handler.
/// </summary>
public static class GuestSignals
{
    public const int SIGKILL = 9, SIGPIPE = 13, SIGSTOP = 19;
    public const int NSig = 64;
    public const ulong SigDfl = 0, SigIgn = 1;
    public const ulong Unblockable = (1UL << (SIGKILL - 1)) | (1UL << (SIGSTOP - 1));

    private static readonly ConditionalWeakTable<GuestThread, GuestThreadExtras> Table = new();

    public static GuestThreadExtras Of(GuestThread t) => Table.GetValue(t, _ => new GuestThreadExtras());

    public static ulong Bit(int sig) => 1UL << (sig - 1);

    /// <summary>Signals whose default action does nothing here (stop signals included, as delivery treats them).</summary>
    public static bool DefaultIgnores(int sig) => sig is 17 or 18 or 19 or 20 or 21 or 22 or 23 or 28;

    /// <summary>True when <paramref name="sig"/> would be discarded on arrival (ignored and not blocked).</summary>
    public static bool Ignored(GuestProcess p, int sig)
    {
        if (sig == SIGKILL) return false;
        ulong h = p.SigHandlers[sig * 4];
        return h == SigIgn || (h == SigDfl && DefaultIgnores(sig));
    }

    /// <summary>True when a signal waits for delivery and the thread does not block it.</summary>
    public static bool HasDeliverable(GuestThread t) => (Volatile.Read(ref t.Pending) & ~t.SignalMask) != 0;

    /// <summary>A thread-directed signal (tgkill, tkill, SIGPIPE).</summary>
    public static void SendToThread(GuestProcess p, GuestThread t, int sig) => SendToThread(p, t, SigInfo.Tkill(sig));

    public static void SendToThread(GuestProcess p, GuestThread t, SigInfo info)
    {
        int sig = info.Sig;
        if (sig <= 0 || sig > NSig) return;
        if ((t.SignalMask & Bit(sig)) == 0 && Ignored(p, sig)) return;
        SignalDelivery.SendToThread(t, info);
    }

    /// <summary>A process-directed signal (kill): to the caller unless it blocks it and another thread does not.</summary>
    public static void SendToProcess(GuestProcess p, GuestThread caller, int sig) => SendToProcess(p, caller, SigInfo.User(sig));

    public static void SendToProcess(GuestProcess p, GuestThread caller, SigInfo info)
    {
        int sig = info.Sig;
        if (sig <= 0 || sig > NSig) return;
        var target = caller;
        if ((caller.SignalMask & Bit(sig)) != 0 && (caller.SigwaitSet & Bit(sig)) == 0)
        {
            // a thread that lets it through, else one waiting for it in rt_sigtimedwait
            GuestThread? waiting = null;
            foreach (var t in p.Threads.Values)
            {
                if (t.Exited) continue;
                if ((t.SignalMask & Bit(sig)) == 0) { target = t; waiting = null; break; }
                if ((t.SigwaitSet & Bit(sig)) != 0) waiting ??= t;
            }
            if (waiting != null) target = waiting;
        }
        SendToThread(p, target, info);
    }

    /// <summary>Setting an ignoring disposition discards the signal from every pending set (as the kernel does).</summary>
    public static void OnDispositionChanged(GuestProcess p, GuestThread caller, int sig)
    {
        if (!Ignored(p, sig)) return;
        SignalDelivery.Discard(caller, sig);
        foreach (var t in p.Threads.Values) SignalDelivery.Discard(t, sig);
    }
}
