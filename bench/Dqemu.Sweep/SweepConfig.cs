namespace Dqemu.Sweep;

/// <summary>
/// A variant of the cluster file (--variant NAME=LINE): extra lines for its [cluster] table, e.g. an optimization
/// switched on or off. The base variant (no name, no lines) runs the defaults.
/// </summary>
internal sealed record Variant(string Name, string Lines)
{
    public static readonly Variant Base = new("", "");
}

/// <summary>
/// One configuration of the cluster sweep. A single node opens no connection, so 1-node configurations run once, not
/// per transport or variant, with a tcp cluster file, and carry the transport "-" (as bench/cluster/sweep.sh does).
/// </summary>
internal sealed record SweepConfig(ProgramSpec Program, string Transport, int Nodes, int Threads, Variant? Variant = null)
{
    public const string NoTransport = "-";

    /// <summary>The cluster file's variant (<see cref="Variant.Base"/> unless --variant asked for others).</summary>
    public Variant Cluster => Variant ?? Dqemu.Sweep.Variant.Base;

    /// <summary>What the tables' transport column shows: the transport, then the variant's name ("tcp auto").</summary>
    public string Column => Cluster.Name.Length == 0 ? Transport : $"{Transport} {Cluster.Name}";

    public string Label => Nodes == 1
        ? $"{Program.Name} 1 node {Threads} thread{(Threads == 1 ? "" : "s")}"
        : $"{Program.Name} {Column} {Nodes} nodes {Threads} thread{(Threads == 1 ? "" : "s")}";

    /// <summary>
    /// The configurations of <paramref name="programs"/>, in a stable order: per program first 1 node with 1 thread
    /// (the speed-up baseline) and with every other thread count — always, whatever --nodes says, since both speed-up
    /// columns divide by them — then per transport, variant (the base first), node count above 1 and thread count.
    /// Thread counts a "pow2" program rejects are left out.
    /// </summary>
    public static List<SweepConfig> All(IEnumerable<ProgramSpec> programs, SweepOptions o)
    {
        var list = new List<SweepConfig>();
        foreach (var p in programs)
        {
            var threads = o.Threads.Where(p.AcceptsThreads).ToList();
            foreach (int t in threads.Prepend(1).Distinct()) list.Add(new SweepConfig(p, NoTransport, 1, t));
            foreach (var tr in o.Transports)
                foreach (var v in o.Variants.Prepend(Variant.Base))
                    foreach (int n in o.Nodes.Where(n => n > 1))
                        foreach (int t in threads)
                            list.Add(new SweepConfig(p, tr, n, t, v == Variant.Base ? null : v));
        }
        return list;
    }
}

/// <summary>One row of runs.csv: a run of a configuration, what it measured and whether it matched the reference.</summary>
/// <param name="Config">The configuration.</param>
/// <param name="Size">The input size.</param>
/// <param name="Run">1-based run number within the configuration.</param>
/// <param name="WallS">Wall time of node 0 (null: skipped).</param>
/// <param name="RoiS">Seconds in the program's region of interest (<see cref="RoiTime"/>; null: not reported).</param>
/// <param name="UserS">User CPU of all nodes.</param>
/// <param name="SysS">System CPU of all nodes.</param>
/// <param name="Stats">What --stats printed about the cluster (null: skipped).</param>
/// <param name="Ok">Ran and matched the reference.</param>
/// <param name="Reason">Why not, or empty.</param>
internal sealed record RunRecord(SweepConfig Config, string Size, int Run, double? WallS, double? RoiS, double? UserS, double? SysS,
                                 ClusterStats? Stats, bool Ok, string Reason);
