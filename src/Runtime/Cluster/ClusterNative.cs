using System.Runtime.InteropServices;

namespace Dqemu.Runtime.Cluster;

/// <summary>The few libc calls cluster start-up needs (blittable, no marshalling).</summary>
internal static unsafe partial class ClusterNative
{
    private const string Libc = "libc.so.6";
    public const int PR_SET_PDEATHSIG = 1;
    public const int SIGKILL = 9, SIGHUP = 1;

    [DllImport(Libc, SetLastError = true)]
    public static extern int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [DllImport(Libc, SetLastError = true)]
    public static extern int sched_setaffinity(int pid, nuint cpusetsize, ulong* mask);

    [DllImport(Libc)]
    public static extern int getppid();

    /// <summary>statx(2) (glibc 2.28+): a file's type and size without opening it.</summary>
    [DllImport(Libc, SetLastError = true)]
    public static extern int statx(int dirfd, byte* pathname, int flags, uint mask, byte* statxbuf);

    /// <summary>Ends the process at once (no managed shutdown, no waiting for other threads).</summary>
    [DllImport(Libc)]
    public static extern void _exit(int status);
}
