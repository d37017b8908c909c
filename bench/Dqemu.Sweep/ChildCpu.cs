using System.Runtime.InteropServices;

namespace Dqemu.Sweep;

/// <summary>
/// CPU time of this process's waited-for children, from getrusage(RUSAGE_CHILDREN). The kernel adds a child's user
/// and system time (and that of its own waited-for children) to its parent when the parent reaps it. So the delta
/// around one run of ./dqemu-native counts node 0 and, because node 0 waits for the workers it started before it
/// exits, the workers too: the CPU time of the whole cluster. It is exact only while nothing else of ours is reaped
/// during the run — the sweep runs one child at a time — and misses a worker that was killed (and reparented) after a
/// timeout.
/// </summary>
internal static partial class ChildCpu
{
    private const int RusageChildren = -1;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeVal
    {
        public long Sec;
        public long Usec;
        public readonly double Seconds => Sec + Usec / 1e6;
    }

    // struct rusage on x86-64 Linux: two timevals, then 14 longs we do not read
    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct RUsage
    {
        public TimeVal User;
        public TimeVal System;
        public fixed long Rest[14];
    }

    [LibraryImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static partial int GetRUsage(int who, out RUsage usage);

    /// <summary>User and system seconds of all reaped children so far.</summary>
    public static (double User, double System) Now()
    {
        if (GetRUsage(RusageChildren, out var u) != 0)
            throw new InvalidOperationException($"getrusage failed (errno {Marshal.GetLastPInvokeError()})");
        return (u.User.Seconds, u.System.Seconds);
    }
}
