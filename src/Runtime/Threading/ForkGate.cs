using System.Runtime.InteropServices;
using Dqemu.Runtime.Host;

namespace Dqemu.Runtime.Threading;

/// <summary>
/// The emulator's own helper threads (the host-signal pump, the interrupter's re-kicker) as a guest's fork must find
/// them: parked in native code. fork copies one thread; a helper caught in managed code, in a lock or in the runtime's
/// wait subsystem leaves the child a lock held forever or a thread its garbage collector waits for (seen in busybox
/// shells: children hung in a contended lock, in a class constructor's lock, in Thread.Join). A helper blocks only
/// through <see cref="Call"/>, whose native code does not return while a fork is under way (see
/// <see cref="Dqemu.JitX64.Host.NativeThunks.CreateParkingCall"/>), and does nothing else that could wait; a fork runs
/// through <see cref="Run"/>, which waits until every running helper is inside such a call. A forked child has no
/// helpers: each starts again, with pthread_create (Thread.Start goes through the wait subsystem), when first needed.
/// </summary>
public static unsafe class ForkGate
{
    /// <summary>The helpers, each one slot of the gate.</summary>
    public const int Pump = 1, Kicker = 2;
    private const int Slots = 3;
    private const int FutexWakePrivate = 129;

    // [0]: a fork is under way; [slot]: that helper is inside a parking call. Native memory: the call's code takes it.
    private static readonly int* Words = (int*)NativeMemory.AllocZeroed(Slots * sizeof(int));
    private static readonly int[] Running = new int[Slots];
    [ThreadStatic] private static bool _isHelper;

    /// <summary>A blocking system call of helper <paramref name="slot"/>: the kernel's result, -errno on failure.</summary>
    public static long Call(int slot, long nr, long a0, long a1 = 0, long a2 = 0) => HostSyscall.Parking(nr, a0, a1, a2, Words, Words + slot);

    /// <summary>
    /// Starts helper <paramref name="slot"/> on a new host thread running <paramref name="entry"/> (which calls
    /// <see cref="EnterHelper"/> first), not through Thread.Start (see above); false when pthread_create fails. It is
    /// counted as running before its thread exists, so a fork from then on waits for it; a guest thread that would
    /// start one while a fork is under way waits for the fork to end first (a helper starting another, as the pump
    /// starting the kicker, does not: the fork waits for both).
    /// </summary>
    public static bool Start(int slot, delegate* unmanaged<nint, nint> entry)
    {
        while (true)
        {
            Interlocked.Exchange(ref Running[slot], 1);
            if (_isHelper || Volatile.Read(ref Words[0]) == 0) break;
            Interlocked.Exchange(ref Running[slot], 0);
            while (Volatile.Read(ref Words[0]) != 0) HostSyscall.Call(HostSyscall.Nr.SchedYield);
        }
        nint tid;
        if (pthread_create(&tid, 0, entry, 0) == 0) return true;
        Volatile.Write(ref Running[slot], 0);
        return false;
    }

    /// <summary>Called first on a helper's thread.</summary>
    public static void EnterHelper() => _isHelper = true;

    /// <summary>Helper <paramref name="slot"/>'s thread ends.</summary>
    public static void Stopped(int slot) => Volatile.Write(ref Running[slot], 0);

    private static bool IsRunning(int slot) => Volatile.Read(ref Running[slot]) != 0;

    /// <summary>Runs <paramref name="fork"/> with every running helper parked. Callers serialize their forks.</summary>
    public static T Run<T>(Func<T> fork)
    {
        Interlocked.Exchange(ref Words[0], 1);
        for (int slot = 1; slot < Slots; slot++)
            while (Volatile.Read(ref Words[slot]) == 0 && IsRunning(slot))
                HostSyscall.Call(HostSyscall.Nr.SchedYield);
        try
        {
            return fork();
        }
        finally
        {
            Interlocked.Exchange(ref Words[0], 0);
            HostSyscall.Call(HostSyscall.Nr.Futex, (long)Words, FutexWakePrivate, int.MaxValue);
        }
    }

    /// <summary>In a forked child: no helper runs here (their threads stayed in the parent).</summary>
    public static void AfterForkInChild()
    {
        for (int slot = 1; slot < Slots; slot++)
        {
            Words[slot] = 0;
            Volatile.Write(ref Running[slot], 0);
        }
    }

    [DllImport("libc.so.6")]
    private static extern int pthread_create(nint* thread, nint attr, delegate* unmanaged<nint, nint> start, nint arg);
}
