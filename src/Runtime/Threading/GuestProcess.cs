using Dqemu.JitX64.Translation;
using Dqemu.Runtime.Memory;

namespace Dqemu.Runtime.Threading;

/// <summary>Process-wide state of the guest: its memory, its translator, its files' view and its exit.</summary>
public sealed class GuestProcess
{
    public GuestSpace Space { get; }
    public Translator Translator { get; }
    public RuntimeOptions Options { get; }
    /// <summary>The guest executable's absolute host path (what /proc/self/exe reads as).</summary>
    public string ExePath { get; }
    /// <summary>Prefix tried first for absolute guest paths (-L), or null.</summary>
    public string? Sysroot { get; }

    private int _exitStatus = -1;
    public bool Exiting => Volatile.Read(ref _exitStatus) >= 0;
    public int ExitStatus => _exitStatus;

    /// <summary>
    /// Signal dispositions from rt_sigaction: for signal n, entries [4n..4n+3] hold the guest's
    /// struct sigaction as AArch64 Linux lays it out: handler, flags, restorer, mask.
    /// </summary>
    public readonly ulong[] SigHandlers = new ulong[65 * 4];

    /// <summary>Guest address of the "mov x8, #139; svc #0" page signal handlers return through.</summary>
    public ulong SigreturnTrampoline { get; set; }

    public GuestProcess(GuestSpace space, Translator translator, RuntimeOptions options, string exePath, string? sysroot)
    {
        Space = space;
        Translator = translator;
        Options = options;
        ExePath = exePath;
        Sysroot = sysroot;
    }

    /// <summary>Marks the whole process as exiting with <paramref name="status"/> (first caller wins).</summary>
    public void Exit(int status) => Interlocked.CompareExchange(ref _exitStatus, status & 0xff, -1);

    /// <summary>Ends the process as if killed by <paramref name="signal"/> (status 128+signal, as a shell sees it).</summary>
    public void KillBySignal(int signal) => Interlocked.CompareExchange(ref _exitStatus, 128 + signal, -1);
}
