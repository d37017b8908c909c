using Dqemu.Sweep;
using Xunit;

namespace Dqemu.Tests.Sweep;

/// <summary>
/// StatsParser on stderr captured from ./dqemu-native --stats: stats-2nodes-tcp.txt (par_stencil, 2 threads, 2
/// nodes over tcp) and stats-1node.txt (par_pingpong on a 1-node cluster). The expected numbers are read off those
/// files by hand.
/// </summary>
public class StatsParserTests
{
    private static readonly string TwoNodes = SweepTestFiles.Read("stats-2nodes-tcp.txt");

    [Fact]
    public void TwoNodeSampleGivesEachNodesTransportAndFaultLines()
    {
        var s = StatsParser.Parse(TwoNodes);
        Assert.Equal(2, s.Nodes.Count);

        var n0 = s.Nodes[0];
        Assert.Equal((0, "127.0.0.1:23200"), (n0.Id, n0.Address));
        Assert.Equal((8240L, 6189189L, 9822L, 9016495L), (n0.MessagesSent, n0.BytesSent, n0.MessagesReceived, n0.BytesReceived));
        Assert.Equal(new FaultWaits(1753, 341.4, 5503.5, 13703.0), n0.Reads);
        Assert.Equal(new FaultWaits(1473, 220.1, 4479.5, 9319.0), n0.Writes);

        var n1 = s.Nodes[1];
        Assert.Equal((1, "127.0.0.1:23201"), (n1.Id, n1.Address));
        Assert.Equal((9821L, 9015669L, 8240L, 6189189L), (n1.MessagesSent, n1.BytesSent, n1.MessagesReceived, n1.BytesReceived));
        Assert.Equal(new FaultWaits(841, 167.0, 4223.5, 6254.0), n1.Reads);
        Assert.Equal(new FaultWaits(2946, 242.1, 4223.5, 13650.0), n1.Writes);
    }

    [Fact]
    public void TwoNodeSampleTotals()
    {
        var s = StatsParser.Parse(TwoNodes);
        // 1753 + 1473 + 841 + 2946: the same 7013 as the "per remote fault" line's own count
        Assert.Equal(7013, s.Faults);
        // (1753×341.4 + 1473×220.1 + 841×167.0 + 2946×242.1) / 7013 = 1776355.1 / 7013
        Assert.Equal(253.2946, s.FaultMeanUs!.Value, 4);
        Assert.Equal(1.7763551, s.FaultWaitSeconds!.Value, 6);
        // the largest p99 of any node's reads or writes: node 0's reads
        Assert.Equal(5503.5, s.FaultP99Us);
        Assert.Equal(8240 + 9821, s.MessagesMoved);
        Assert.Equal(6189189 + 9015669, s.BytesMoved);
        Assert.Equal(new PerFaultSummary(2.12, 2.48, 7013, 17421, 15191351), s.PerFault);
    }

    [Fact]
    public void OneNodeClusterHasZeroFaultsAndNoMeans()
    {
        var s = StatsParser.Parse(SweepTestFiles.Read("stats-1node.txt"));
        Assert.Single(s.Nodes);
        Assert.Equal(0, s.Faults);
        Assert.Null(s.FaultMeanUs);
        Assert.Null(s.FaultP99Us);
        Assert.Equal(0, s.FaultWaitSeconds);
        Assert.Equal(0, s.BytesMoved);
        Assert.Null(s.PerFault); // node 0 prints that line only when there were faults
    }

    [Fact]
    public void OutputWithoutAClusterBlockGivesNulls()
    {
        // the same run's stderr cut before the cluster block: what a plain (non-cluster) --stats run prints
        string plain = TwoNodes[..TwoNodes.IndexOf("dqemu-native cluster stats", StringComparison.Ordinal)];
        Assert.Contains("dqemu-native stats:", plain);
        var s = StatsParser.Parse(plain);
        Assert.Empty(s.Nodes);
        Assert.Null(s.Faults);
        Assert.Null(s.FaultMeanUs);
        Assert.Null(s.FaultP99Us);
        Assert.Null(s.FaultWaitSeconds);
        Assert.Null(s.BytesMoved);
        Assert.Null(s.MessagesMoved);
        Assert.Null(s.PerFault);
        Assert.Null(StatsParser.Parse("").Faults);
    }

    [Fact]
    public void GuestLinesAboveTheBlockAreNotStats()
    {
        // a guest that prints something shaped like a stats line on its own stderr
        const string guest = "  node 5 (x:1)  sent 1 msgs 999999 B   received 1 msgs 1 B\n" +
                             "    remote faults: read 99999 mean 1.0 us p50 1.0 p99 1.0 max 1.0; write 0 mean 0.0 us p50 0.0 p99 0.0 max 0.0\n";
        var s = StatsParser.Parse(guest + TwoNodes);
        Assert.Equal(2, s.Nodes.Count);
        Assert.Equal(7013, s.Faults);
        Assert.Equal(6189189 + 9015669, s.BytesMoved);
    }

    [Fact]
    public void CrLfLineEndingsParseTheSame()
    {
        var s = StatsParser.Parse(TwoNodes.Replace("\n", "\r\n"));
        Assert.Equal(7013, s.Faults);
        Assert.Equal(5503.5, s.FaultP99Us);
    }
}
