using System.Runtime.InteropServices;

namespace Dqemu.Runtime.Host;

/// <summary>
/// The calling thread's CPU time (clock_gettime(CLOCK_THREAD_CPUTIME_ID); Tmds.LibC has no clock_gettime). Unlike a
/// wall-clock span, it leaves out the time the thread sat preempted, which on a node with one CPU is most of what
/// a handler's wall time measures while a guest thread computes.
/// </summary>
internal static partial class ThreadCpuTime
{
    private const int ClockThreadCpuTimeId = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds, Nanoseconds;
    }

    [LibraryImport("libc")]
    private static partial int clock_gettime(int clock, out Timespec ts);

    /// <summary>Nanoseconds of CPU this thread has used (0 if the clock cannot be read).</summary>
    public static long Nanoseconds() =>
        clock_gettime(ClockThreadCpuTimeId, out var ts) == 0 ? ts.Seconds * 1_000_000_000 + ts.Nanoseconds : 0;
}
