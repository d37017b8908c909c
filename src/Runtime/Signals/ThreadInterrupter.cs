using Dqemu.JitX64.State;
using Dqemu.JitX64.Signal;
using Dqemu.JitX64.Translation;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Threading;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Dqemu.Runtime.Signals;

/// <summary>
/// Gets a thread out of translated code promptly (<see cref="RequestExit"/>), and a guest signal to it (<see cref="Kick"/>).
/// A block's entry leaves when r14 is 0 (JitStubs.EmitLoadLimit: computed from CpuState.ExitRequest at Enter and after
/// every helper call); a thread running translated code is hit with a host real-time signal whose handler sets the
/// interrupted r14 to 0 there (NativeSignalHandlerGenerator.GenerateInterrupt), and a thread blocked in a host syscall
/// (futex wait, sleep, read) gets EINTR from it, so the dispatcher delivers the guest signal. A signal can land just
/// before the thread blocks; so a guest signal's kick is repeated for a while until the thread has taken its pending
/// signals.
/// </summary>
public static unsafe class ThreadInterrupter
{
    /// <summary>SIGRTMAX-1: clear of glibc's (32, 33) and the .NET runtime's (SIGRTMIN) own signals.</summary>
    public const int HostSignal = 63;
    private static bool _installed;
    /// <summary>The handler's table of guest-context ranges (NativeSignalHandlerGenerator.GuestContextTableSize bytes).</summary>
    private static readonly ulong* Ranges = (ulong*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(
        NativeSignalHandlerGenerator.GuestContextTableSize);

    /// <summary>Installs the handler (once) and adds <paramref name="translator"/>'s guest-context ranges to its table
    /// (an in-process test may build several machines; code caches are never unmapped, so a range stays code).</summary>
    public static void Install(Translator translator)
    {
        HostSyscall.Initialize(translator.Cache); // RequestExit and Kick make raw syscalls (a no-op when it was done)
        lock (Gate)
        {
            foreach (var (start, length) in translator.GuestContextRanges)
            {
                ulong n = Ranges[0];
                bool known = false;
                for (ulong i = 0; i < n; i++) known |= Ranges[1 + 2 * i] == start;
                if (known) continue;
                if (n == NativeSignalHandlerGenerator.MaxGuestContextRanges)
                    throw new InvalidOperationException("the interrupt handler's range table is full");
                Ranges[1 + 2 * n] = start;
                Ranges[2 + 2 * n] = length;
                Volatile.Write(ref Ranges[0], n + 1); // the pair is in place before the handler counts it
            }
            if (_installed) return;
            _installed = true;
            sigaction act = default;
            act.sa_handler = (void*)NativeSignalHandlerGenerator.GenerateInterrupt(translator.Cache, (nint)Ranges);
            act.sa_flags = SA_SIGINFO; // no SA_RESTART: blocking calls must return EINTR
            sigemptyset(&act.sa_mask);
            if (LibC.sigaction(HostSignal, &act, null) != 0) throw new InvalidOperationException("sigaction for the interrupt signal failed");
        }
    }

    private static readonly object Gate = new();

    /// <summary>
    /// Makes <paramref name="t"/> leave translated code at its next block entry (an Interrupt exit; the dispatcher
    /// clears the request). Sets CpuState.ExitRequest, which Enter and every helper call's return read; and when the
    /// thread may be running translated code right now (its runner holds code: not in a syscall) and is not the caller,
    /// sends it the interrupt signal. ExitRequest is written before the runner's epoch is read, and the runner publishes
    /// its epoch before Enter reads ExitRequest (both full fences): one of the two sees the other.
    /// </summary>
    public static void RequestExit(GuestThread t) => RequestExit(t.Cpu, t.Runner, t.HostTid);

    /// <summary><see cref="RequestExit(GuestThread)"/> for the thread <paramref name="hostTid"/> running
    /// <paramref name="cpu"/> with <paramref name="runner"/>.</summary>
    public static void RequestExit(CpuState* cpu, BlockRunner runner, int hostTid)
    {
        Interlocked.Exchange(ref cpu->ExitRequest, 1);
        if (runner.HoldsCode && IsOtherThread(hostTid)) Send(hostTid);
    }

    /// <summary>Makes <paramref name="t"/> notice its pending signals soon, wherever it is.</summary>
    public static void Kick(GuestThread t)
    {
        Interlocked.Exchange(ref t.Cpu->ExitRequest, 1);
        t.FutexWaiter?.Interrupt();
        if (!IsOtherThread(t.HostTid)) return;
        Send(t.HostTid);
        Repeats.Enqueue(t);
        if (Interlocked.CompareExchange(ref _kickerStarted, 1, 0) == 0 && !ForkGate.Start(ForkGate.Kicker, &KickerEntry))
            Volatile.Write(ref _kickerStarted, 0);
        Interlocked.Exchange(ref *KickerWake, 1);
        HostSyscall.Call(HostSyscall.Nr.Futex, (long)KickerWake, FutexWakePrivate, 1);
    }

    /// <summary>In a forked child: the kicker thread stayed in the parent, and so did the threads it was kicking.</summary>
    public static void AfterFork()
    {
        Repeats.Clear();
        Volatile.Write(ref _kickerStarted, 0);
    }

    // threads kicked lately, for the kicker to kick again; its wake-up word (native memory: a futex)
    private static readonly System.Collections.Concurrent.ConcurrentQueue<GuestThread> Repeats = new();
    private static readonly int* KickerWake = (int*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(sizeof(int));
    private static int _kickerStarted;
    private const int FutexWaitPrivate = 128, FutexWakePrivate = 129, Repeat = 50;

    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    private static nint KickerEntry(nint arg)
    {
        ForkGate.EnterHelper();
        fixed (byte* name = "dqemu-kicker\0"u8) HostSyscall.Call(HostSyscall.Nr.Prctl, 15, (long)name); // PR_SET_NAME
        Kicker();
        return 0;
    }

    /// <summary>
    /// Kicks each thread again every 2 ms, up to <see cref="Repeat"/> times, until it has taken its pending signals.
    /// It blocks only in <see cref="ForkGate.Call"/>, so that a guest's fork never catches it elsewhere (the thread
    /// pool, which did this before, ran its workers' managed code at any moment).
    /// </summary>
    private static void Kicker()
    {
        var live = new List<(GuestThread Thread, int Left)>();
        long* twoMs = stackalloc long[2] { 0, 2_000_000 };
        while (true)
        {
            Interlocked.Exchange(ref *KickerWake, 0);
            while (Repeats.TryDequeue(out var t)) live.Add((t, Repeat));
            if (live.Count == 0)
            {
                ForkGate.Call(ForkGate.Kicker, HostSyscall.Nr.Futex, (long)KickerWake, FutexWaitPrivate, 0);
                continue;
            }
            ForkGate.Call(ForkGate.Kicker, HostSyscall.Nr.Nanosleep, (long)twoMs, 0);
            for (int i = live.Count - 1; i >= 0; i--)
            {
                var (t, left) = live[i];
                if (left == 0 || t.Exited || (Volatile.Read(ref t.Pending) & ~t.SignalMask) == 0)
                {
                    live.RemoveAt(i);
                    continue;
                }
                Send(t.HostTid);
                live[i] = (t, left - 1);
            }
        }
    }

    /// <summary>A started thread (its host tid is known) other than the caller: one the signal can reach elsewhere.</summary>
    private static bool IsOtherThread(int hostTid) => hostTid != 0 && hostTid != (int)HostSyscall.Call(HostSyscall.Nr.Gettid);

    private static void Send(int hostTid) => HostSyscall.Call(HostSyscall.Nr.Tgkill, Ids.Pid, hostTid, HostSignal);
}
