namespace Dqemu.Dsm;

/// <summary>
/// The futex side of one guest thread: its place in a wait queue and what wakes it. Create one per guest thread and
/// pass it to every <see cref="FutexEngine.Wait"/> of that thread (one wait at a time); it allocates nothing per wait.
/// </summary>
public sealed class FutexWaiter
{
    internal const int Idle = 0, Queued = 1, Woken = 2;

    // Everything below except _interrupt and Signal is guarded by the stripe lock of the address the waiter is queued on.
    internal readonly ManualResetEventSlim Signal = new(false, spinCount: 20);
    internal FutexWaiter? Prev, Next;
    internal FutexEngine.Entry? Entry;
    internal uint Bitset;
    internal int State;   // Idle / Queued / Woken; written under the lock, read with Volatile outside it
    internal int Busy;    // 1 while a Wait runs with this waiter
    internal bool LastWakeLocal; // the last wake that ended a wait of this waiter came from a thread of this node
    private int _interrupt;

    /// <summary>
    /// A signal arrived for the thread: its current wait returns -EINTR, or, when none is running, the next one does
    /// (at once). The interrupt is consumed by the wait that returns -EINTR for it; a wait that was woken at the same
    /// time returns 0 and consumes it too (the runtime delivers the signal after the syscall either way).
    /// </summary>
    public void Interrupt()
    {
        Volatile.Write(ref _interrupt, 1);
        Signal.Set();
    }

    /// <summary>Drops an interrupt no wait has consumed yet (the signal was handled some other way).</summary>
    public void ClearInterrupt() => Volatile.Write(ref _interrupt, 0);

    /// <summary>An interrupt is waiting to be consumed.</summary>
    public bool InterruptPending => Volatile.Read(ref _interrupt) != 0;

    internal bool TakeInterrupt() => Volatile.Read(ref _interrupt) != 0 && Interlocked.Exchange(ref _interrupt, 0) != 0;
}
