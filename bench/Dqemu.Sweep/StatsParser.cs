using System.Globalization;
using System.Text.RegularExpressions;

namespace Dqemu.Sweep;

/// <summary>One kind of remote fault (read or write) of one node: how many, and their wait times.</summary>
/// <param name="Count">Faults of this kind.</param>
/// <param name="MeanUs">Mean wait in microseconds (0 when there were none).</param>
/// <param name="P99Us">99th percentile wait in microseconds.</param>
/// <param name="MaxUs">Longest wait in microseconds.</param>
public sealed record FaultWaits(long Count, double MeanUs, double P99Us, double MaxUs);

/// <summary>One node's block in node 0's "dqemu-native cluster stats" output.</summary>
/// <param name="Id">The node id.</param>
/// <param name="Address">Its address as printed ("127.0.0.1:7400").</param>
/// <param name="MessagesSent">Transport messages it sent (application messages; no headers, heartbeats or goodbyes).</param>
/// <param name="BytesSent">Their body bytes.</param>
/// <param name="MessagesReceived">Transport messages it received.</param>
/// <param name="BytesReceived">Their body bytes.</param>
/// <param name="Reads">Its remote read faults, or null when the block had no "remote faults:" line.</param>
/// <param name="Writes">Its remote write faults, or null when the block had no "remote faults:" line.</param>
public sealed record NodeStats(int Id, string Address, long MessagesSent, long BytesSent, long MessagesReceived, long BytesReceived,
                               FaultWaits? Reads, FaultWaits? Writes);

/// <summary>The last line of the cluster block, "per remote fault (all nodes): ...", which node 0 prints only when there were faults.</summary>
/// <param name="KiBPerFault">Coherence bytes per fault, in KiB.</param>
/// <param name="MessagesPerFault">Coherence messages per fault.</param>
/// <param name="Faults">Remote faults of all nodes.</param>
/// <param name="CoherenceMessages">Coherence messages of all nodes.</param>
/// <param name="CoherenceBytes">Coherence bytes of all nodes.</param>
public sealed record PerFaultSummary(double KiBPerFault, double MessagesPerFault, long Faults, long CoherenceMessages, long CoherenceBytes);

/// <summary>
/// What node 0's --stats printed about the cluster. The totals are null when the output had no such lines (a plain
/// run without a cluster block); a cluster run without any remote fault (one node) has <see cref="Faults"/> 0 and
/// null mean and p99.
/// </summary>
/// <param name="Nodes">The node blocks in print order (empty without a cluster block).</param>
/// <param name="PerFault">The "per remote fault" line, or null when it is absent (no remote faults, or no cluster block).</param>
public sealed record ClusterStats(IReadOnlyList<NodeStats> Nodes, PerFaultSummary? PerFault)
{
    private IEnumerable<FaultWaits> Kinds =>
        Nodes.SelectMany(n => new[] { n.Reads, n.Writes }).OfType<FaultWaits>();

    private bool HasFaultLines => Nodes.Any(n => n.Reads != null);

    /// <summary>Remote faults of all nodes, reads and writes; null without "remote faults:" lines.</summary>
    public long? Faults => HasFaultLines ? Kinds.Sum(k => k.Count) : null;

    /// <summary>The mean wait of all remote faults in microseconds, weighted by each node's and kind's count; null without faults.</summary>
    public double? FaultMeanUs => Faults is > 0 ? Kinds.Sum(k => k.Count * k.MeanUs) / Faults.Value : null;

    /// <summary>The largest p99 wait of any node's reads or writes (kinds with at least one fault), in microseconds; null without faults.</summary>
    public double? FaultP99Us => Faults is > 0 ? Kinds.Where(k => k.Count > 0).Max(k => k.P99Us) : null;

    /// <summary>
    /// Seconds that guest threads spent waiting for remote faults, summed over nodes: Σ count × mean wait. Guest threads
    /// of one node wait in parallel, so this is thread time, comparable with wall time × threads, not with wall time.
    /// </summary>
    public double? FaultWaitSeconds => HasFaultLines ? Kinds.Sum(k => k.Count * k.MeanUs) / 1e6 : null;

    /// <summary>Transport messages sent by all nodes (each is received once, so this is what crossed the wire); null without a cluster block.</summary>
    public long? MessagesMoved => Nodes.Count > 0 ? Nodes.Sum(n => n.MessagesSent) : null;

    /// <summary>Body bytes sent by all nodes; null without a cluster block.</summary>
    public long? BytesMoved => Nodes.Count > 0 ? Nodes.Sum(n => n.BytesSent) : null;
}

/// <summary>
/// Reads the cluster block that <c>dqemu-native --cluster FILE --stats</c> prints on node 0's stderr at the end:
/// <code>
/// dqemu-native cluster stats (tcp, 2 nodes; messages and body bytes):
///   node 0 (127.0.0.1:23100)     sent     8100 msgs      8437987 B   received     8109 msgs      8351030 B
///     ...
///     remote faults: read 5 mean 78.4 us p50 73.5 p99 105.0 max 105.0; write 2015 mean 25.6 us p50 22.0 p99 97.5 max 374.0
///   node 1 (127.0.0.1:23101)     sent     8108 msgs      8350208 B   received     8100 msgs      8437987 B   (tcp to ...)
///     ...
///   per remote fault (all nodes): 4.00 KiB, 2.50 messages (4071 faults, 10176 coherence messages, 16688437 bytes)
/// </code>
/// Only lines after the "dqemu-native cluster stats" header count, so the guest's own stderr above it cannot be
/// mistaken for stats; a "remote faults:" line belongs to the node line above it.
/// </summary>
public static class StatsParser
{
    private const string Header = "dqemu-native cluster stats";

    private static readonly Regex NodeLine = new(
        @"^\s*node (\d+) \(([^)]*)\)\s+sent\s+(\d+) msgs\s+(\d+) B\s+received\s+(\d+) msgs\s+(\d+) B",
        RegexOptions.CultureInvariant);

    private static readonly Regex FaultLine = new(
        @"^\s*remote faults: read (?<r>.*?); write (?<w>.*?)\s*$", RegexOptions.CultureInvariant);

    private static readonly Regex Waits = new(
        @"^(\d+) mean ([\d.eE+-]+) us p50 [\d.eE+-]+ p99 ([\d.eE+-]+) max ([\d.eE+-]+)$", RegexOptions.CultureInvariant);

    private static readonly Regex PerFaultLine = new(
        @"^\s*per remote fault \(all nodes\): ([\d.]+) KiB, ([\d.]+) messages \((\d+) faults, (\d+) coherence messages, (\d+) bytes\)",
        RegexOptions.CultureInvariant);

    /// <summary>Parses node 0's stderr; text without a cluster block gives no nodes and null totals.</summary>
    public static ClusterStats Parse(string stderr)
    {
        var nodes = new List<NodeStats>();
        PerFaultSummary? perFault = null;
        bool inBlock = false;
        foreach (var raw in stderr.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.StartsWith(Header, StringComparison.Ordinal))
            {
                // a second block (there is none today) replaces the first rather than adding to it
                inBlock = true;
                nodes.Clear();
                perFault = null;
                continue;
            }
            if (!inBlock) continue;

            Match m;
            if ((m = NodeLine.Match(line)).Success)
            {
                nodes.Add(new NodeStats(Int(m.Groups[1]), m.Groups[2].Value, Long(m.Groups[3]), Long(m.Groups[4]),
                                        Long(m.Groups[5]), Long(m.Groups[6]), null, null));
            }
            else if ((m = FaultLine.Match(line)).Success && nodes.Count > 0)
            {
                var reads = ParseWaits(m.Groups["r"].Value);
                var writes = ParseWaits(m.Groups["w"].Value);
                if (reads != null && writes != null) nodes[^1] = nodes[^1] with { Reads = reads, Writes = writes };
            }
            else if ((m = PerFaultLine.Match(line)).Success)
            {
                perFault = new PerFaultSummary(Double(m.Groups[1]), Double(m.Groups[2]), Long(m.Groups[3]), Long(m.Groups[4]), Long(m.Groups[5]));
            }
        }
        return new ClusterStats(nodes, perFault);
    }

    private static FaultWaits? ParseWaits(string text)
    {
        var m = Waits.Match(text.Trim());
        return m.Success ? new FaultWaits(Long(m.Groups[1]), Double(m.Groups[2]), Double(m.Groups[3]), Double(m.Groups[4])) : null;
    }

    private static int Int(Group g) => int.Parse(g.Value, CultureInfo.InvariantCulture);
    private static long Long(Group g) => long.Parse(g.Value, CultureInfo.InvariantCulture);
    private static double Double(Group g) => double.Parse(g.Value, NumberStyles.Float, CultureInfo.InvariantCulture);
}
