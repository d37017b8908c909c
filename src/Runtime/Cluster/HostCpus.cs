namespace Dqemu.Runtime.Cluster;

/// <summary>
/// Which host CPUs a process may pin threads to, asked of the kernel itself: sched_setaffinity accepts a mask when
/// at least one of its CPUs exists, is online and is in this process's cpuset, so one CPU at a time tells each apart.
/// A worker that node 0 starts lives in node 0's cpuset, so node 0 can check that worker's cpus before starting
/// it (instead of the worker failing on its own and node 0 reporting a lost node on top, exit 69 and two lines).
/// </summary>
internal static unsafe class HostCpus
{
    /// <summary>The highest CPU a cpus list may name is 4095 (ClusterConfig): 64 words cover them all.</summary>
    private const int MaskWords = 64;

    /// <summary>The first CPU of <paramref name="cpus"/> that no thread of this process could be pinned to, or null.</summary>
    public static int? FirstUnusable(IReadOnlyList<int> cpus)
    {
        int? bad = null;
        // on a thread of its own: each probe moves the calling thread to the CPU it asks about
        var probe = new Thread(() =>
        {
            var mask = stackalloc ulong[MaskWords];
            foreach (int cpu in cpus)
            {
                if ((uint)cpu >= MaskWords * 64) { bad = cpu; return; }
                new Span<ulong>(mask, MaskWords).Clear();
                mask[cpu / 64] = 1UL << (cpu % 64);
                if (ClusterNative.sched_setaffinity(0, MaskWords * 8, mask) != 0) { bad = cpu; return; }
            }
        }, 256 * 1024) { IsBackground = true, Name = "dqemu-cpu-probe" };
        probe.Start();
        probe.Join();
        return bad;
    }
}
