using System.Collections.Concurrent;
using Dqemu.Dsm;
using Xunit;

namespace Dqemu.Tests.Dsm;

/// <summary>
/// The home's half of page splitting (DsmNode.Split.cs): a page that changes hands between nodes touching disjoint
/// parts of it is proposed for splitting, with the largest unit that keeps the nodes apart; true sharing is not.
/// </summary>
public class SplitDetectionTests
{
    private const ulong Page = 5; // home: node 1 of 2

    /// <summary>Nodes 1 and 0 take turns writing the page at their own offsets; returns the proposals seen.</summary>
    private static List<(ulong Page, int Shift)> PingPong(int splitAfter, int offset0, int offset1, int rounds,
        ulong page = Page, ulong limit = ulong.MaxValue, bool withOffsets = true)
    {
        using var c = new TestCluster(2, splitAfter: splitAfter, splitPageLimit: limit);
        var seen = new ConcurrentQueue<(ulong, int)>();
        foreach (var n in c.Nodes) n.SplitSuggested += (p, s) => seen.Enqueue((p, s));
        for (int r = 0; r < rounds; r++)
        {
            foreach (var (node, off) in new[] { (1, offset1), (0, offset0) })
            {
                if (withOffsets) c[node].AcquireAt(page * DsmNode.PageSize + (ulong)off, write: true);
                else c[node].Acquire(page, write: true);
            }
        }
        c.AssertHealthy();
        return seen.ToList();
    }

    [Fact]
    public void AdjacentCountersOfTwoNodesGiveEightByteUnits()
    {
        // 16 requests alternate between the nodes: every request is a hand-off, a proposal every 4
        var seen = PingPong(splitAfter: 4, offset0: 0, offset1: 8, rounds: 8);
        Assert.Equal(4, seen.Count);
        Assert.All(seen, s => Assert.Equal((Page, 3), s));
    }

    [Fact]
    public void HalvesOfThePageGiveTheLargestUnit()
    {
        var seen = PingPong(splitAfter: 4, offset0: 0x100, offset1: 0x900, rounds: 2);
        Assert.Equal([(Page, 11)], seen);
    }

    [Fact]
    public void NodesWritingTheSameWordAreTrueSharing()
    {
        Assert.Empty(PingPong(splitAfter: 4, offset0: 16, offset1: 20, rounds: 8));
    }

    [Fact]
    public void NothingIsProposedWhenOffWithoutOffsetsOrAboveTheLimit()
    {
        Assert.Empty(PingPong(splitAfter: 0, offset0: 0, offset1: 8, rounds: 8));
        Assert.Empty(PingPong(splitAfter: 4, offset0: 0, offset1: 8, rounds: 8, withOffsets: false));
        Assert.Empty(PingPong(splitAfter: 4, offset0: 0, offset1: 8, rounds: 8, page: 7, limit: 6));
    }

    [Fact]
    public void AccessesScatteredOverThePageAreNotSplit()
    {
        // each request at another 64-byte block, the nodes never in the same 8 bytes: disjoint, yet no unit comes back
        using var c = new TestCluster(2, splitAfter: 16);
        int seen = 0;
        c[1].SplitSuggested += (_, _) => Interlocked.Increment(ref seen);
        for (int r = 0; r < 16; r++)
        {
            c[1].AcquireAt(Page * DsmNode.PageSize + (ulong)(r * 128 + 64), write: true);
            c[0].AcquireAt(Page * DsmNode.PageSize + (ulong)(r * 128), write: true);
        }
        c.AssertHealthy();
        Assert.Equal(0, seen);
    }

    [Fact]
    public void FewerHandOffsThanTheThresholdProposeNothing()
    {
        // 1 -> 0 -> 1: three hand-offs, the threshold is four
        using var c = new TestCluster(2, splitAfter: 4);
        int seen = 0;
        c[1].SplitSuggested += (_, _) => Interlocked.Increment(ref seen);
        c[1].AcquireAt(Page * DsmNode.PageSize + 8, write: true);
        c[0].AcquireAt(Page * DsmNode.PageSize, write: true);
        c[1].AcquireAt(Page * DsmNode.PageSize + 8, write: true);
        c.AssertHealthy();
        Assert.Equal(0, seen);
        Assert.Equal(0, c[1].SplitsSuggested);
    }
}
