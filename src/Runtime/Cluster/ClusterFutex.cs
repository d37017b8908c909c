using Dqemu.Dsm;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Memory;
using Dqemu.Runtime.Syscalls;
using Dqemu.Runtime.Threading;
using static Dqemu.Runtime.Threading.HostFutex;

namespace Dqemu.Runtime.Cluster;

/// <summary>
/// The futex syscall of a guest spread over nodes, on the hierarchical <see cref="FutexEngine"/>: waits and wakes
/// among one node's threads stay on it, waiters on several nodes are ordered by node 0's table. Requeues wake
/// instead of moving waiters (futex waiters tolerate spurious wake-ups); PI futexes are not supported across nodes
/// (-ENOSYS, documented in the README).
/// </summary>
internal sealed unsafe class ClusterFutex(GuestSpace space, FutexEngine engine, ClusterMemory memory) : IFutex
{
    private const uint AllBits = uint.MaxValue;

    public long Call(GuestThread caller, ulong uaddr, int op, uint val, ulong timeoutOrVal2, ulong uaddr2, uint val3)
    {
        int cmd = op & CmdMask;
        if ((uaddr & 3) != 0) return -Errno.EINVAL;
        caller.NoteSync(uaddr);
        if (cmd == WakeOpOp) caller.NoteSync(uaddr2);
        switch (cmd)
        {
            case Wait:
            case WaitBitset:
                {
                    uint bitset = cmd == Wait ? AllBits : val3;
                    if (bitset == 0) return -Errno.EINVAL;
                    long deadline = long.MaxValue;
                    if (timeoutOrVal2 != 0)
                    {
                        long r = Deadline(timeoutOrVal2, absolute: cmd == WaitBitset, realtime: (op & ClockRealtime) != 0, out deadline);
                        if (r != 0) return r;
                    }
                    var waiter = caller.FutexWaiter ??= new FutexWaiter();
                    waiter.ClearInterrupt();
                    if ((Volatile.Read(ref caller.Pending) & ~caller.SignalMask) != 0) return -Errno.EINTR;
                    long result = engine.Wait(uaddr, val, bitset, deadline, waiter);
                    if (result == -Errno.EINTR && engine.Failure is { } f) ClusterNode.Lost(f);
                    return result;
                }
            case WakeOp:
            case WakeBitset:
                {
                    uint bitset = cmd == WakeOp ? AllBits : val3;
                    if (!memory.IsReadable(uaddr)) return -Errno.EFAULT;
                    return WakeWithPages(uaddr, (int)Math.Min(val, int.MaxValue), bitset);
                }
            case Requeue:
            case CmpRequeue:
                {
                    if (cmd == CmpRequeue)
                    {
                        if (!memory.TryReadWord(uaddr, out uint now)) return -Errno.EFAULT;
                        if (now != val3) return -Errno.EAGAIN;
                    }
                    // moving waiters to uaddr2 is replaced by waking them: each re-checks and waits again where it must
                    long n = Math.Min((long)val + (long)Math.Min(timeoutOrVal2, int.MaxValue), int.MaxValue);
                    return WakeWithPages(uaddr, (int)n, AllBits);
                }
            case WakeOpOp:
                return WakeOpCall(uaddr, val, (int)Math.Min(timeoutOrVal2, int.MaxValue), uaddr2, val3);
            default:
                return -Errno.ENOSYS; // PI futexes and FUTEX_FD
        }
    }

    public long Wake(ulong uaddr, int count) => WakeWithPages(uaddr, count, AllBits);

    /// <summary>A wake that carries the pages the calling thread wrote since its last one (data forwarding: see
    /// <see cref="ClusterMemory.TakeWrittenPages"/>).</summary>
    private long WakeWithPages(ulong uaddr, int count, uint bitset)
    {
        Span<ulong> pages = stackalloc ulong[FutexMessages.MaxWakePages];
        return engine.Wake(uaddr, count, bitset, WrittenPagesBut(uaddr, pages));
    }

    /// <summary>The calling thread's written pages (<see cref="ClusterMemory.TakeWrittenPages"/>) except the futex word's
    /// own page: the lock and condition words there are still in use by the waker (a signal under the mutex, then the
    /// unlock), and sending that page away makes the waker fault it back at once.</summary>
    private Span<ulong> WrittenPagesBut(ulong uaddr, Span<ulong> pages)
    {
        int n = memory.TakeWrittenPages(pages), kept = 0;
        for (int i = 0; i < n; i++)
            if (pages[i] != uaddr / Dqemu.Dsm.DsmNode.PageSize) pages[kept++] = pages[i];
        return pages[..kept];
    }

    private long Deadline(ulong ts, bool absolute, bool realtime, out long deadline)
    {
        deadline = long.MaxValue;
        Span<long> timespec = stackalloc long[2];
        if (!memory.TryRead(ts, System.Runtime.InteropServices.MemoryMarshal.AsBytes(timespec))) return -Errno.EFAULT;
        long sec = timespec[0], nsec = timespec[1];
        if (sec < 0 || nsec < 0 || nsec >= 1_000_000_000) return -Errno.EINVAL;
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        double seconds = sec + nsec / 1e9;
        if (absolute)
        {
            long* clock = stackalloc long[2];
            HostSyscall.Call(HostSyscall.Nr.ClockGettime, realtime ? 0 : 1, (long)clock);
            seconds -= clock[0] + clock[1] / 1e9;
        }
        if (seconds <= 0) { deadline = now; return 0; }
        double ticks = seconds * System.Diagnostics.Stopwatch.Frequency;
        deadline = ticks >= long.MaxValue - now ? long.MaxValue : now + (long)ticks;
        return 0;
    }

    /// <summary>FUTEX_WAKE_OP: the operation on *uaddr2 is atomic on a page this node holds read/write (pinned
    /// only for that instant), then both wakes.</summary>
    private long WakeOpCall(ulong uaddr, uint n1, int n2, ulong uaddr2, uint encoded)
    {
        if ((uaddr2 & 3) != 0) return -Errno.EINVAL;
        if (uaddr2 >= GuestSpace.Size || (space.ProtAt(uaddr2) & GuestProt.Write) == 0) return -Errno.EFAULT;
        int opType = (int)(encoded >> 28) & 7;
        bool shift = ((encoded >> 28) & 8) != 0;
        int cmp = (int)(encoded >> 24) & 15;
        int oparg = (int)(encoded << 8) >> 20, cmparg = (int)(encoded << 20) >> 20;
        if (shift) oparg = 1 << (oparg & 31);
        if (opType > 4) return -Errno.ENOSYS;
        uint old;
        using (memory.Dsm.PinRange(uaddr2, 4, write: true))
        {
            ref uint word = ref *(uint*)(space.Base + uaddr2);
            while (true)
            {
                old = Volatile.Read(ref word);
                uint now = opType switch
                {
                    0 => (uint)oparg,
                    1 => old + (uint)oparg,
                    2 => old | (uint)oparg,
                    3 => old & ~(uint)oparg,
                    _ => old ^ (uint)oparg,
                };
                if (Interlocked.CompareExchange(ref word, now, old) == old) break;
            }
        }
        Span<ulong> pages = stackalloc ulong[FutexMessages.MaxWakePages];
        pages = WrittenPagesBut(uaddr, pages);
        long woken = engine.Wake(uaddr, (int)Math.Min(n1, int.MaxValue), AllBits, pages);
        int o = (int)old;
        bool hit = cmp switch
        {
            0 => o == cmparg,
            1 => o != cmparg,
            2 => o < cmparg,
            3 => o <= cmparg,
            4 => o > cmparg,
            5 => o >= cmparg,
            _ => false,
        };
        if (hit) woken += engine.Wake(uaddr2, n2, AllBits, pages);
        return woken;
    }
}
