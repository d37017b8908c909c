using System.Runtime.InteropServices;

namespace Dqemu.Rdma;

/// <summary>
/// Makes the calling thread one the scheduler runs the moment it wakes, even on a CPU where a guest thread has just
/// started computing. Linux's fair scheduler (EEVDF) lets a thread it has just picked run for its protected slice
/// before a woken thread of the same class gets the CPU; on a node whose only CPU runs a guest thread, a peer's request
/// then waits ~1.6 ms (measured with the barrier stencil on 2 one-CPU nodes). For the few threads that only wake to
/// answer a peer and sleep again at once (the nudge listeners of the UCX transport, the runtime's proxies of remote
/// threads and layout appliers), this asks for SCHED_FIFO
/// (priority 1: above every normal thread, below the kernel's own), and, where that is not permitted (no CAP_SYS_NICE,
/// RLIMIT_RTPRIO 0), for the shortest fair slice (sched_runtime 100 us, Linux 6.12), which lets a waking thread in
/// sooner. Such a thread must never spin: it would starve the node (every wait in it blocks: a futex or poll(2)).
/// </summary>
public static unsafe partial class UrgentThread
{
    private const uint SchedOther = 0, SchedFifo = 1;
    private const long SysSchedSetattr = 314; // x86-64

    /// <summary>True on a thread that got SCHED_FIFO from <see cref="Make"/>: its waits must block, never spin or
    /// yield (a yield under SCHED_FIFO does not let a normal thread run), see <see cref="TransportSpin"/>.</summary>
    [ThreadStatic] private static bool t_fifo;

    public static bool IsFifo => t_fifo;

    /// <summary>Applies to the calling thread; returns what it got: "fifo", "short slice", or null (neither).</summary>
    public static string? Make()
    {
        var fifo = new SchedAttr { Size = (uint)sizeof(SchedAttr), Policy = SchedFifo, Priority = 1 };
        if (syscall(SysSchedSetattr, 0, (nint)(&fifo), 0) == 0)
        {
            t_fifo = true;
            return "fifo";
        }
        var slice = new SchedAttr { Size = (uint)sizeof(SchedAttr), Policy = SchedOther, Runtime = 100_000 };
        return syscall(SysSchedSetattr, 0, (nint)(&slice), 0) == 0 ? "short slice" : null;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SchedAttr
    {
        public uint Size;
        public uint Policy;
        public ulong Flags;
        public int Nice;
        public uint Priority;
        public ulong Runtime;
        public ulong Deadline;
        public ulong Period;
        public uint UtilMin;
        public uint UtilMax;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial long syscall(long number, long a1, nint a2, uint a3);
}
