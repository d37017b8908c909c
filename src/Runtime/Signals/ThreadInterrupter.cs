using Dqemu.JitX64.Signal;
using Dqemu.JitX64.Translation;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Threading;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Dqemu.Runtime.Signals;

/// <summary>
/// Gets a guest signal to a thread promptly. A thread running translated code sees CpuState.ExitRequest at its
/// next block; a thread blocked in a host syscall (futex wait, sleep, read) is hit with a host real-time signal
/// whose handler does nothing, so the syscall returns EINTR and the dispatcher delivers the guest signal.
/// A signal can land just before the thread blocks; so the kick is repeated for a while until the thread has
/// taken its pending signals.
/// </summary>
public static unsafe class ThreadInterrupter
{
    /// <summary>SIGRTMAX-1: clear of glibc's (32, 33) and the .NET runtime's (SIGRTMIN) own signals.</summary>
    public const int HostSignal = 63;
    private static bool _installed;

    public static void Install(Translator translator)
    {
        if (_installed) return;
        _installed = true;
        sigaction act = default;
        act.sa_handler = (void*)NativeSignalHandlerGenerator.GenerateNoOp(translator.Cache);
        act.sa_flags = SA_SIGINFO; // no SA_RESTART: blocking calls must return EINTR
        sigemptyset(&act.sa_mask);
        if (LibC.sigaction(HostSignal, &act, null) != 0) throw new InvalidOperationException("sigaction for the interrupt signal failed");
    }

    /// <summary>Makes <paramref name="t"/> notice its pending signals soon, wherever it is.</summary>
    public static void Kick(GuestThread t)
    {
        Interlocked.Exchange(ref t.Cpu->ExitRequest, 1);
        t.FutexWaiter?.Interrupt();
        if (t.HostTid == 0 || t.HostTid == (int)HostSyscall.Call(HostSyscall.Nr.Gettid)) return;
        Send(t);
        ThreadPool.QueueUserWorkItem(static t =>
        {
            for (int i = 0; i < 50 && !t.Exited && (Volatile.Read(ref t.Pending) & ~t.SignalMask) != 0; i++)
            {
                Thread.Sleep(2);
                Send(t);
            }
        }, t, preferLocal: false);
    }

    private static void Send(GuestThread t)
        => HostSyscall.Call(HostSyscall.Nr.Tgkill, Ids.Pid, t.HostTid, HostSignal);
}
