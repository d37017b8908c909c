using Dqemu.Runtime.Host;
using Dqemu.Runtime.Syscalls;
using Dqemu.Runtime.Threading;
using Nr = Dqemu.Runtime.Host.HostSyscall.Nr;

namespace Dqemu.Runtime.Signals;

/// <summary>
/// The guest's signalfds. Guest signals are emulated (a pending set per <see cref="GuestThread"/>), so a host signalfd
/// would never see them; each guest signalfd is a host eventfd instead, kept readable exactly while a signal of its
/// mask is pending on some guest thread, so the guest can poll, select and epoll it as it is. read() on it does not
/// reach the host: <see cref="TryTake"/> dequeues the pending signals (SyscallTable.SignalFd.cs writes the records).
/// The registry is by guest fd number: dup, dup3, fcntl(F_DUPFD), close and close_range keep it current. The emulator
/// holds its own duplicate of each eventfd (at or above <see cref="EmulatorFds.Floor"/>) to set and clear readiness
/// through, so the guest may close any of the numbers it was given. One node, one process: a forked child gets fresh
/// eventfds under the same numbers (<see cref="AfterFork"/>), since a shared one would show the parent's signals.
/// </summary>
public static unsafe class SignalFds
{
    private sealed class Fd
    {
        /// <summary>The signals this signalfd takes (never SIGKILL, SIGSTOP).</summary>
        public ulong Mask;
        /// <summary>The emulator's duplicate of the eventfd, and whether its count is 1 (readable) now.</summary>
        public int Event;
        public bool Ready;
    }

    /// <summary>Not readonly: a forked child starts with a new one, since a thread it does not have may have held this.</summary>
    private static object _gate = new();
    private static readonly Dictionary<int, Fd> ByGuestFd = new();
    /// <summary>ByGuestFd.Count, read without the lock by the hot paths (read, write, every signal sent).</summary>
    private static volatile int _count;
    private static GuestProcess? _process;

    private const int EfdCloexec = 0x80000, EfdNonblock = 0x800, FGetfl = 3, FGetfd = 1, FdCloexec = 1;
    private const short PollIn = 1;

    /// <summary>True when <paramref name="fd"/> is one of the guest's signalfds.</summary>
    public static bool Owns(int fd)
    {
        if (_count == 0) return false;
        lock (_gate) return ByGuestFd.ContainsKey(fd);
    }

    /// <summary>A new signalfd for <paramref name="mask"/> (SFD_CLOEXEC and SFD_NONBLOCK are EFD_'s bits): its fd or -errno.</summary>
    public static long Create(GuestProcess process, ulong mask, int flags)
    {
        long fd = HostSyscall.Call(Nr.Eventfd2, 0, flags & (EfdCloexec | EfdNonblock));
        if (fd < 0) return fd;
        int mine = EmulatorFds.DupHigh((int)fd);
        if (mine < 0)
        {
            HostSyscall.Call(Nr.Close, fd);
            return mine;
        }
        lock (_gate)
        {
            _process = process;
            ByGuestFd[(int)fd] = new Fd { Mask = mask, Event = mine };
            _count = ByGuestFd.Count;
        }
        Refresh();
        return fd;
    }

    /// <summary>signalfd4 on an existing signalfd: its new mask. -EINVAL when <paramref name="fd"/> is not one.</summary>
    public static long SetMask(int fd, ulong mask)
    {
        lock (_gate)
        {
            if (!ByGuestFd.TryGetValue(fd, out var s)) return -Errno.EINVAL;
            s.Mask = mask;
        }
        Refresh();
        return fd;
    }

    /// <summary>The mask of signalfd <paramref name="fd"/>, or 0 when it is not one (any more).</summary>
    public static ulong MaskOf(int fd)
    {
        lock (_gate) return ByGuestFd.TryGetValue(fd, out var s) ? s.Mask : 0;
    }

    /// <summary>The guest closed <paramref name="fd"/> (or another fd was put in its place).</summary>
    public static void Closed(int fd)
    {
        if (_count == 0) return;
        lock (_gate) Forget(fd);
    }

    /// <summary>close_range(first, last): every signalfd number in the range is gone.</summary>
    public static void ClosedRange(uint first, uint last)
    {
        if (_count == 0) return;
        lock (_gate)
            foreach (int fd in ByGuestFd.Keys.Where(f => (uint)f >= first && (uint)f <= last).ToArray()) Forget(fd);
    }

    /// <summary>dup/dup3/fcntl(F_DUPFD) made <paramref name="to"/> a copy of <paramref name="from"/> (whatever
    /// <paramref name="to"/> was before is closed).</summary>
    public static void Duplicated(int from, int to)
    {
        if (_count == 0 || from == to) return;
        lock (_gate)
        {
            Forget(to);
            if (ByGuestFd.TryGetValue(from, out var s)) ByGuestFd[to] = s;
            _count = ByGuestFd.Count;
        }
    }

    private static void Forget(int fd)
    {
        if (!ByGuestFd.Remove(fd, out var s)) return;
        _count = ByGuestFd.Count;
        if (!ByGuestFd.ContainsValue(s)) EmulatorFds.Close(s.Event);
    }

    /// <summary>
    /// Sets each signalfd's readiness from the pending sets: called after every change to one (a signal sent, taken,
    /// discarded). Nothing when the guest has no signalfd.
    /// </summary>
    public static void Refresh()
    {
        if (_count == 0) return;
        lock (_gate)
        {
            var p = _process;
            if (p == null) return;
            ulong pending = 0;
            foreach (var t in p.Threads.Values)
                if (!t.Exited) pending |= Volatile.Read(ref t.Pending);
            foreach (var s in ByGuestFd.Values.Distinct())
            {
                bool ready = (pending & s.Mask) != 0;
                if (ready == s.Ready) continue;
                ulong one = 1;
                if (ready) HostSyscall.Call(Nr.Write, s.Event, (long)&one, 8);
                else
                {
                    // the count is 1 unless the guest read the eventfd some other way (readv): never block here
                    long pfd = (uint)s.Event | ((long)PollIn << 32);
                    if (HostSyscall.Call(Nr.Poll, (long)&pfd, 1, 0) > 0) HostSyscall.Call(Nr.Read, s.Event, (long)&one, 8);
                }
                s.Ready = ready;
            }
        }
    }

    /// <summary>
    /// Takes one pending signal of <paramref name="mask"/> for <paramref name="reader"/>: its own first (lowest number
    /// first), else a process-directed one (anything but a tkill's) that landed on another thread, as Linux's shared
    /// pending set would give it to any reader.
    /// </summary>
    public static bool TryTake(GuestProcess process, GuestThread reader, ulong mask, out SigInfo info)
    {
        if (SignalDelivery.TryTake(reader, mask, anyCode: true, out info)) return true;
        foreach (var t in process.Threads.Values)
            if (t != reader && !t.Exited && SignalDelivery.TryTake(t, mask, anyCode: false, out info)) return true;
        return false;
    }

    /// <summary>
    /// Waits up to 50 ms for signalfd <paramref name="fd"/> to become readable, or for a sender's kick (the thread
    /// interrupt) to cut the wait short. True when it found the fd readable: when the next try takes nothing (a
    /// signal pending for another thread only), the caller passes <paramref name="nap"/> and the wait is a 10 ms
    /// sleep rather than a poll that would return at once again.
    /// </summary>
    public static bool Wait(int fd, bool nap)
    {
        long* ts = stackalloc long[2] { 0, nap ? 10_000_000 : 50_000_000 };
        if (nap)
        {
            HostSyscall.Call(Nr.Nanosleep, (long)ts, 0);
            return false;
        }
        long pfd = (uint)fd | ((long)PollIn << 32);
        return HostSyscall.Call(Nr.Ppoll, (long)&pfd, 1, (long)ts, 0, 8) > 0;
    }

    /// <summary>True when the reads of <paramref name="fd"/> do not block (SFD_NONBLOCK, or O_NONBLOCK set later).</summary>
    public static bool NonBlocking(int fd) => (HostSyscall.Call(Nr.Fcntl, fd, FGetfl) & EfdNonblock) != 0;

    /// <summary>
    /// In a forked child: each signalfd gets a fresh eventfd under the same guest numbers (same O_NONBLOCK, and each
    /// number's FD_CLOEXEC), so the child's readiness is its own.
    /// </summary>
    public static void AfterFork()
    {
        _gate = new object();
        if (_count == 0) return;
        lock (_gate)
        {
            foreach (var s in ByGuestFd.Values.Distinct().ToArray())
            {
                int[] numbers = ByGuestFd.Where(e => e.Value == s).Select(e => e.Key).ToArray();
                int flags = (int)(HostSyscall.Call(Nr.Fcntl, s.Event, FGetfl) & EfdNonblock);
                long fresh = HostSyscall.Call(Nr.Eventfd2, 0, flags | EfdCloexec);
                if (fresh < 0) continue;
                foreach (int n in numbers)
                {
                    bool cloexec = (HostSyscall.Call(Nr.Fcntl, n, FGetfd) & FdCloexec) != 0;
                    HostSyscall.Call(Nr.Dup3, fresh, n, cloexec ? EfdCloexec : 0);
                }
                int mine = EmulatorFds.DupHigh((int)fresh);
                HostSyscall.Call(Nr.Close, fresh);
                if (mine < 0) continue;
                EmulatorFds.Close(s.Event);
                s.Event = mine;
                s.Ready = false;
            }
        }
        Refresh();
    }
}
