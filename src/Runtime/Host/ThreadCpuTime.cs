using System.Runtime.InteropServices;

namespace Dqemu.Runtime.Host;

/// <summary>
/// Threads' CPU time (clock_gettime on CLOCK_THREAD_CPUTIME_ID, or on another thread's CPU clock from
/// pthread_getcpuclockid; Tmds.LibC has neither). Unlike a wall-clock span, it leaves out the time a thread sat
/// preempted or blocked, which on a node with one CPU is most of what a wall-clock span measures.
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

    [LibraryImport("libc")]
    private static partial nint pthread_self();

    [LibraryImport("libc")]
    private static partial int pthread_getcpuclockid(nint thread, out int clock);

    /// <summary>Nanoseconds of CPU this thread has used (0 if the clock cannot be read).</summary>
    public static long Nanoseconds() => Read(ClockThreadCpuTimeId);

    /// <summary>No clock (<see cref="ClockOfThisThread"/> failed). Thread CPU clocks are negative numbers, so the
    /// usual -1 will not do.</summary>
    public const int NoClock = int.MinValue;

    /// <summary>The calling thread's CPU clock, which any thread of the process can read with <see cref="Read"/> while
    /// this thread lives; <see cref="NoClock"/> if there is none.</summary>
    public static int ClockOfThisThread() => pthread_getcpuclockid(pthread_self(), out int clock) == 0 ? clock : NoClock;

    /// <summary>Nanoseconds on <paramref name="clock"/> (0 if it cannot be read, e.g. its thread ended).</summary>
    public static long Read(int clock) =>
        clock_gettime(clock, out var ts) == 0 ? ts.Seconds * 1_000_000_000 + ts.Nanoseconds : 0;
}
