using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Dqemu.Rdma;

/// <summary>
/// Who listens for incoming messages of one transport: its own receive thread(s), or the threads polling it
/// (<see cref="ITransport.Poll"/>). A receive thread that sleeps in the kernel while a poller takes the messages costs
/// a wake-up per message for nothing (UCX: the sender even signals the receiving process; TCP: the kernel wakes the
/// thread blocked on the socket), and on a node with one CPU that wake-up preempts the poller. So while threads poll,
/// the receive threads park here; the last poller leaving wakes them.
/// </summary>
/// <remarks>
/// A poller that was descheduled after its last poll (another thread took the CPU) must not leave the node deaf: a
/// parked receive thread wakes every <see cref="ParkNs"/> and listens again once the last poll is older than
/// <see cref="StaleTicks"/>. Parking and leaving follow Dekker's pattern — each side writes its own flag with a full
/// fence before reading the other's — so either the parking thread sees no poller or the leaving poller sees it
/// parked and kicks it (an eventfd).
/// </remarks>
public sealed unsafe partial class PollGate : IDisposable
{
    private const long ParkNs = 100_000;
    private static readonly long StaleTicks = Stopwatch.Frequency / 20_000; // 50 us

    /// <summary>The gate this thread is polling (counted in its <see cref="_pollers"/>), or null.</summary>
    [ThreadStatic] private static PollGate? t_polling;

    private readonly int _kickFd = eventfd(0, EfdNonBlock | EfdCloexec);
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

    /// <summary>A receive thread parks (at most <see cref="ParkNs"/>) while threads poll; then it checks <see cref="ShouldListen"/> again.</summary>
    public void Park()
    {
        if (_disposed) return;
        Interlocked.Increment(ref _parked);
        try
        {
            if (Volatile.Read(ref _pollers) == 0) return;
            var fd = new PollFd { Fd = _kickFd, Events = PollIn };
            var ts = new Timespec { Sec = 0, Nsec = ParkNs };
            if (ppoll(&fd, 1, &ts, null) > 0)
            {
                ulong drained;
                read(_kickFd, &drained, 8);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _parked);
        }
    }

    /// <summary>Wakes every parked receive thread (they re-check and go back to listening).</summary>
    public void Kick()
    {
        ulong one = 1;
        write(_kickFd, &one, 8);
    }

    /// <summary>Call after the receive threads have ended (wake them with <see cref="Kick"/> first).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        close(_kickFd);
    }

    // ---------------------------------------------------------------- libc

    private const short PollIn = 1;
    private const int EfdNonBlock = 0x800, EfdCloexec = 0x80000;

    [StructLayout(LayoutKind.Sequential)]
    internal struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Sec;
        public long Nsec;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ppoll(PollFd* fds, nuint count, Timespec* timeout, void* sigmask);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int eventfd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, void* buf, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, void* buf, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
