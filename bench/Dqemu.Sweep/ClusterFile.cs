using System.Text;

namespace Dqemu.Sweep;

/// <summary>
/// The cluster.toml of one loopback run, as bench/cluster/sweep.sh writes them: node i listens on 127.0.0.1 and is
/// pinned, through <c>cpus</c>, to host CPUs i×cores .. i×cores+cores−1 (mod the host's CPU count), so that node 0
/// of a 1-node run gets CPU 0 alone and the nodes of a larger cluster do not share CPUs while there are enough.
/// </summary>
internal static class ClusterFile
{
    /// <summary>The file's text for <paramref name="ports"/>.Length nodes.</summary>
    /// <param name="transport">The [cluster] table's transport.</param>
    /// <param name="ports">One loopback port per node.</param>
    /// <param name="coresPerNode">Each node's cores (and host CPUs).</param>
    /// <param name="hostCpus">The host's CPU count (the pinning wraps around it).</param>
    /// <param name="extra">A variant's lines for [cluster] (see <see cref="Variant"/>); one that sets placement replaces
    /// the default round-robin.</param>
    public static string Text(string transport, IReadOnlyList<int> ports, int coresPerNode, int hostCpus, string extra = "")
    {
        var sb = new StringBuilder();
        sb.Append($"[cluster]\ntransport = \"{transport}\"\n");
        if (!System.Text.RegularExpressions.Regex.IsMatch(extra, @"(^|\n)\s*placement\s*=")) sb.Append("placement = \"round-robin\"\n");
        if (extra.Length > 0) sb.Append(extra).Append('\n');
        for (int i = 0; i < ports.Count; i++)
        {
            var cpus = Enumerable.Range(i * coresPerNode, coresPerNode).Select(c => c % hostCpus).Distinct();
            sb.Append($"[[node]]\nid = {i}\naddress = \"127.0.0.1:{ports[i]}\"\ncores = {coresPerNode}\ncpus = \"{string.Join(",", cpus)}\"\n");
        }
        return sb.ToString();
    }
}
