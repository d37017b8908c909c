using System.Diagnostics;

namespace Dqemu.Rdma;

/// <summary>
/// Who listens for incoming messages of one transport: its own receive thread(s), or the threads polling it
/// (<see cref="ITransport.Poll"/>). A receive thread that sleeps in the kernel while a poller takes the messages costs
/// a wake-up per message for nothing (UCX: the sender even signals the receiving process; TCP: the kernel wakes the
/// thread blocked on the socket), and on a node with one CPU that wake-up preempts the poller. So while threads poll,
/// the receive threads park here; the last poller leaving wakes them.
/// </summary>
/// <remarks>
/// A poller that was descheduled after its last poll (another thread took the CPU) must not leave the node deaf for
/// long: a parked receive thread wakes every millisecond and listens again once the last poll is older than
/// <see cref="StaleTicks"/>. Parking and leaving follow Dekker's pattern — each side writes its own flag with a full
/// fence before reading the other's — so either the parking thread sees no poller or the leaving poller sees it
/// parked and kicks it. The park is a <see cref="ManualResetEventSlim"/> (a futex): parking on an eventfd with
/// ppoll(2) instead made the UCX ping-pong 2-3x slower on this machine (64-78 us a round against 24-31 us), with a
/// 100 us periodic wake-up or without one.
/// </remarks>
public sealed class PollGate : IDisposable
{
    private const int ParkMs = 1;
    private static readonly long StaleTicks = Stopwatch.Frequency / 20_000; // 50 us

    /// <summary>The gate this thread is polling (counted in its <see cref="_pollers"/>), or null.</summary>
    [ThreadStatic] private static PollGate? t_polling;

    private readonly ManualResetEventSlim _kick = new(false, spinCount: 0);
    private int _pollers;
    private int _parked;
    private long _lastPoll;
    private volatile bool _disposed;

    /// <summary>Threads polling now.</summary>
    public int Pollers => Volatile.Read(ref _pollers);

    /// <summary>A poll is starting on this thread: count it (once, until <see cref="Leave"/>) and note the time.</summary>
    public void Enter()
    {
        if (t_polling != this)
        {
            t_polling?.Leave();
            t_polling = this;
            Interlocked.Increment(ref _pollers);
        }
        Volatile.Write(ref _lastPoll, Stopwatch.GetTimestamp());
    }

    /// <summary>This thread stops polling; the last poller wakes parked receive threads.</summary>
    public void Leave()
    {
        if (t_polling != this) return;
        t_polling = null;
        if (Interlocked.Decrement(ref _pollers) == 0 && Volatile.Read(ref _parked) != 0) Kick();
    }

    /// <summary>True when a receive thread should listen itself: nobody polls, or the pollers stopped polling a while ago.</summary>
    public bool ShouldListen => Volatile.Read(ref _pollers) == 0 || Stopwatch.GetTimestamp() - Volatile.Read(ref _lastPoll) > StaleTicks;

    /// <summary>True when a thread of this node has polled within the last <paramref name="ticks"/> (Stopwatch ticks): its
    /// threads are waiting for answers themselves now and then, and take what comes at their next wait.</summary>
    public bool PolledWithin(long ticks) => Stopwatch.GetTimestamp() - Volatile.Read(ref _lastPoll) < ticks;

    /// <summary>A receive thread parks (at most <see cref="ParkMs"/>) while threads poll; then it checks <see cref="ShouldListen"/> again.</summary>
    public void Park()
    {
        if (_disposed) return;
        _kick.Reset();
        Interlocked.Increment(ref _parked);
        try
        {
            if (Volatile.Read(ref _pollers) != 0) _kick.Wait(ParkMs);
        }
        finally
        {
            Interlocked.Decrement(ref _parked);
        }
    }

    /// <summary>Wakes every parked receive thread (they re-check and go back to listening).</summary>
    public void Kick() => _kick.Set();

    /// <summary>From now on nothing parks (the transport is closing); parked threads are woken.</summary>
    public void Dispose()
    {
        _disposed = true;
        _kick.Set();
    }
}
