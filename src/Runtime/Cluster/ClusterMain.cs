namespace Dqemu.Runtime.Cluster;

/// <summary>Entry for <c>--cluster</c>: node 0 (a guest program given) or a worker (<c>--node N</c>, N ≥ 1).</summary>
public static class ClusterMain
{
    public static int Run(RuntimeOptions opts)
    {
        if (opts.NodeId is null or 0) return Node0.Run(opts);
        return WorkerNode.Run(opts);
    }
}
