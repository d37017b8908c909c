using Dqemu.JitX64.Signal;
using Dqemu.JitX64.Translation;
using Dqemu.Runtime.Memory;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Dqemu.Runtime.Signals;

/// <summary>
/// Installs the generated SIGSEGV/SIGBUS handler (DESIGN.md invariant 2) in front of the runtime's. It also resumes a
/// fault in <see cref="Host.GuardedCopy"/> (initialized here if it was not), so managed copies of guest memory fail
/// instead of ending the emulator.
/// </summary>
public static unsafe class HostFaultHandler
{
    private static bool _installed;

    public static void Install(GuestSpace space, Translator translator, ulong pageFaultService = 0)
    {
        if (_installed) return;
        _installed = true;
        Host.GuardedCopy.Initialize(translator.Cache);
        var copy = Host.GuardedCopy.Thunk;
        foreach (int sig in new[] { SIGSEGV, SIGBUS })
        {
            sigaction old = default;
            if (LibC.sigaction(sig, null, &old) != 0) throw new InvalidOperationException("sigaction query failed");
            var cfg = new SignalHandlerConfig(
                GuestBase: (ulong)space.Base,
                GuestSize: GuestSpace.ReservationSize, // the guard and the shadow slots fault as guest accesses too
                CodeBase: (ulong)translator.Cache.Base,
                CodeSize: translator.Cache.Size,
                SegFaultExit: translator.Stubs.SegFaultExit,
                PreviousHandler: (ulong)old.sa_handler,
                PageFaultService: pageFaultService,
                GuardedCopyRip: copy.FaultRip,
                GuardedCopyResume: copy.ResumeRip);
            nint handler = NativeSignalHandlerGenerator.Generate(translator.Cache, cfg);
            sigaction act = default;
            act.sa_handler = (void*)handler;
            act.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
            sigemptyset(&act.sa_mask);
            // the interrupt signal waits until the handler returns: a fault the page service resolves returns to the
            // faulting access through sigreturn, which restores the r14 an interrupt would set inside the handler
            // (ThreadInterrupter); after it, the interrupt hits the block itself
            sigaddset(&act.sa_mask, ThreadInterrupter.HostSignal);
            if (LibC.sigaction(sig, &act, null) != 0) throw new InvalidOperationException("sigaction install failed");
        }
    }
}
