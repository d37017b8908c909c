using System.Runtime.CompilerServices;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime.Syscalls;

/// <summary>Per-thread state the syscalls keep beside <see cref="GuestThread"/>.</summary>
public sealed class GuestThreadExtras
{
    /// <summary>Signals raised but not yet delivered (bit n-1 for signal n); the delivery code consumes them.</summary>
    public ulong Pending;
    /// <summary>sigaltstack: ss_sp, ss_flags, ss_size (SS_DISABLE until set).</summary>
    public ulong AltSp;
    public int AltFlags = GuestSignals.SsDisable;
    public ulong AltSize;
    /// <summary>set_robust_list.</summary>
    public ulong RobustHead, RobustLen;
    /// <summary>prctl(PR_SET_NAME): 16 bytes, NUL-padded.</summary>
    public readonly byte[] Name = new byte[16];
}

/// <summary>
/// What the syscall layer knows about guest signals: dispositions live in GuestProcess.SigHandlers (4 words
/// per signal: handler, flags, restorer, mask), masks in GuestThread.SignalMask, pending sets here. Raising a
/// signal whose action is the default applies that action (terminate, core, stop, ignore); a signal with a
/// guest handler is left pending for the delivery code.
/// </summary>
public static class GuestSignals
{
    public const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7, SIGFPE = 8,
        SIGKILL = 9, SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13, SIGALRM = 14, SIGTERM = 15, SIGSTKFLT = 16,
        SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGTSTP = 20, SIGTTIN = 21, SIGTTOU = 22, SIGURG = 23, SIGXCPU = 24,
        SIGXFSZ = 25, SIGVTALRM = 26, SIGPROF = 27, SIGWINCH = 28, SIGIO = 29, SIGPWR = 30, SIGSYS = 31;
    public const int NSig = 64;
    public const ulong SigDfl = 0, SigIgn = 1;
    public const int SsOnStack = 1, SsDisable = 2;
    public const ulong Unblockable = (1UL << (SIGKILL - 1)) | (1UL << (SIGSTOP - 1));

    public enum DefaultAction { Terminate, Core, Ignore, Stop, Continue }

    private static readonly ConditionalWeakTable<GuestThread, GuestThreadExtras> Table = new();

    public static GuestThreadExtras Of(GuestThread t) => Table.GetValue(t, _ => new GuestThreadExtras());

    public static ulong Bit(int sig) => 1UL << (sig - 1);

    public static DefaultAction DefaultActionOf(int sig) => sig switch
    {
        SIGQUIT or SIGILL or SIGTRAP or SIGABRT or SIGBUS or SIGFPE or SIGSEGV or SIGXCPU or SIGXFSZ or SIGSYS => DefaultAction.Core,
        SIGCHLD or SIGURG or SIGWINCH => DefaultAction.Ignore,
        SIGCONT => DefaultAction.Continue,
        SIGSTOP or SIGTSTP or SIGTTIN or SIGTTOU => DefaultAction.Stop,
        _ => DefaultAction.Terminate,
    };

    public static ulong Handler(GuestProcess p, int sig) => p.SigHandlers[sig * 4];

    /// <summary>True when a raised signal waits for delivery and the thread does not block it.</summary>
    public static bool HasDeliverable(GuestThread t)
        => Table.TryGetValue(t, out var x) && (x.Pending & ~t.SignalMask) != 0;

    /// <summary>
    /// Sends <paramref name="sig"/> to the calling thread: SIGKILL ends the process; a blocked signal stays
    /// pending; an ignored one vanishes; the default action is applied now; a handled one stays pending.
    /// </summary>
    public static void Raise(GuestProcess p, GuestThread t, int sig)
    {
        if (sig <= 0 || sig > NSig) return;
        if (sig == SIGKILL) { Kill(p, t, sig); return; }
        if ((t.SignalMask & Bit(sig) & ~Unblockable) != 0) { Of(t).Pending |= Bit(sig); return; }
        Act(p, t, sig);
    }

    /// <summary>Applies the disposition of an unblocked signal.</summary>
    private static void Act(GuestProcess p, GuestThread t, int sig)
    {
        ulong h = Handler(p, sig);
        if (h == SigIgn && sig != SIGSTOP) return;
        if (h != SigDfl && sig != SIGSTOP) { Of(t).Pending |= Bit(sig); return; }
        switch (DefaultActionOf(sig))
        {
            case DefaultAction.Ignore:
            case DefaultAction.Continue:
                return;
            case DefaultAction.Stop:
                // the guest is this process: stopping it stops the emulator, as the kernel would stop the guest
                HostSyscall.Call(HostSyscall.Nr.Kill, Environment.ProcessId, SIGSTOP);
                return;
            default:
                Kill(p, t, sig);
                return;
        }
    }

    private static void Kill(GuestProcess p, GuestThread t, int sig)
    {
        p.KillBySignal(sig);
        t.Exited = true;
    }

    /// <summary>After the mask changed: pending signals that are now unblocked take effect.</summary>
    public static void OnMaskChanged(GuestProcess p, GuestThread t)
    {
        if (!Table.TryGetValue(t, out var x)) return;
        ulong ready = x.Pending & ~t.SignalMask;
        for (int sig = 1; ready != 0 && sig <= NSig; sig++)
        {
            if ((ready & Bit(sig)) == 0) continue;
            ready &= ~Bit(sig);
            ulong h = Handler(p, sig);
            if (h == SigDfl || h == SigIgn)
            {
                x.Pending &= ~Bit(sig);
                Act(p, t, sig);
                if (t.Exited) return;
            }
        }
    }

    /// <summary>Setting SIG_IGN (or SIG_DFL for a default-ignored signal) discards it from the pending sets.</summary>
    public static void OnDispositionChanged(GuestProcess p, GuestThread t, int sig)
    {
        if (!Table.TryGetValue(t, out var x) || (x.Pending & Bit(sig)) == 0) return;
        ulong h = Handler(p, sig);
        if (h == SigIgn || (h == SigDfl && DefaultActionOf(sig) is DefaultAction.Ignore or DefaultAction.Continue))
            x.Pending &= ~Bit(sig);
    }
}
