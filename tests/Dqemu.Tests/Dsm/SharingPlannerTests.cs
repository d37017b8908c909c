using Dqemu.Dsm;
using Xunit;

namespace Dqemu.Tests.Dsm;

public class SharingPlannerTests
{
    private static readonly IReadOnlyDictionary<ulong, int> NoFaults = new Dictionary<ulong, int>();

    /// <summary>Faults of <paramref name="count"/> on each of <paramref name="pages"/>.</summary>
    private static Dictionary<ulong, int> Faults(int count, params ulong[] pages) => pages.ToDictionary(p => p, _ => count);

    private static ThreadSample T(int tid, int node, IReadOnlyDictionary<ulong, int>? faults = null, bool active = true,
        bool pinned = false, double stalled = 0, IReadOnlyDictionary<ulong, int>? syncs = null) =>
        new(tid, node, active, pinned, faults ?? NoFaults, stalled, syncs);

    /// <summary>Active threads that share nothing, tids from <paramref name="firstTid"/>, all on <paramref name="node"/>.</summary>
    private static IEnumerable<ThreadSample> Loners(int firstTid, int node, int count) =>
        Enumerable.Range(firstTid, count).Select(tid => T(tid, node));

    [Fact]
    public void WeightSumsTheSmallerCountOverCommonPagesOnly()
    {
        var a = T(1, 0, new Dictionary<ulong, int> { [1] = 5, [2] = 10, [3] = 7 });
        var b = T(2, 1, new Dictionary<ulong, int> { [2] = 3, [3] = 9, [4] = 100 });
        Assert.Equal(10, SharingPlanner.Weight(a, b)); // page 2: min(10, 3) = 3, page 3: min(7, 9) = 7
        Assert.Equal(10, SharingPlanner.Weight(b, a));
        Assert.Equal(0, SharingPlanner.Weight(a, T(3, 1, Faults(50, 4, 5))));
        Assert.Equal(0, SharingPlanner.Weight(a, T(3, 1)));
    }

    [Fact]
    public void CrossedPairsEndOnDifferentNodes()
    {
        // Each pair is split across the two 1-core nodes; 4 active threads give each node room for 2.
        var threads = new[]
        {
            T(1, 1, Faults(100, 0x10)), T(2, 0, Faults(100, 0x10)),
            T(3, 1, Faults(100, 0x20)), T(4, 0, Faults(100, 0x20)),
        };
        var moves = SharingPlanner.Plan(threads, [1, 1]);

        Assert.Equal(2, moves.Count);
        var node = threads.ToDictionary(t => t.Tid, t => t.Node);
        foreach (var m in moves)
        {
            Assert.Equal(node[m.Tid], m.From);
            Assert.NotEqual(m.From, m.To);
            node[m.Tid] = m.To;
        }
        Assert.Equal(node[1], node[2]);
        Assert.Equal(node[3], node[4]);
        Assert.NotEqual(node[1], node[3]);
        // Equal weights: the pair with tid 1 goes first; both nodes hold one member, neither has load, so node 0.
        Assert.Equal(new[] { new ThreadMove(1, 1, 0), new ThreadMove(4, 0, 1) }, moves);
    }

    [Fact]
    public void PairsAlreadyTogetherStay()
    {
        // Same-node pairs fetch nothing from each other: only faults on pages nobody else touches.
        var threads = new[]
        {
            T(1, 0, Faults(100, 0x10)), T(2, 0, Faults(100, 0x11)),
            T(3, 1, Faults(100, 0x20)), T(4, 1, Faults(100, 0x21)),
        };
        Assert.Empty(SharingPlanner.Plan(threads, [1, 1]));
    }

    [Fact]
    public void ThreadsOnOneNodeMakeNoEdgeEvenOnCommonPages()
    {
        // 1 and 2 on node 0 both fetch page 0x10 from elsewhere; 1 shares page 0x20 with 3 on node 1; 4 is a loner.
        // A = 4, caps 2, loads 2 (threads 2 and 4) and 0: the group {1, 3} fits only on node 1. Were 1-2 an edge, the
        // group {1, 2, 3} would fit nowhere.
        var threads = new[]
        {
            T(1, 0, new Dictionary<ulong, int> { [0x10] = 100, [0x20] = 100 }), T(2, 0, Faults(100, 0x10)),
            T(3, 1, Faults(100, 0x20)), T(4, 0),
        };
        Assert.Equal(new[] { new ThreadMove(1, 0, 1) }, SharingPlanner.Plan(threads, [1, 1]));
    }

    [Fact]
    public void AGroupLargerThanAnyNodeStays()
    {
        // All four share everything: one group of 4, each 1-core node takes at most ceil(4 * 1 / 2) = 2.
        var all = Faults(100, 0x10, 0x11);
        Assert.Empty(SharingPlanner.Plan([T(1, 0, all), T(2, 1, all), T(3, 0, all), T(4, 1, all)], [1, 1]));
    }

    [Fact]
    public void SharingBelowTheThresholdIsIgnored()
    {
        // Weight 15 (three pages of 5); the loner on node 0 leaves room only on node 1 (caps 2, loads 1 and 0).
        ThreadSample[] threads = [T(1, 0, Faults(5, 1, 2, 3)), T(2, 1, Faults(5, 1, 2, 3)), T(3, 0)];
        Assert.Empty(SharingPlanner.Plan(threads, [1, 1]));
        Assert.Equal(new[] { new ThreadMove(1, 0, 1) }, SharingPlanner.Plan(threads, [1, 1], minShared: 15));
        // One more fault on one page makes it 16 = the default threshold.
        threads[0] = T(1, 0, new Dictionary<ulong, int> { [1] = 6, [2] = 5, [3] = 5 });
        threads[1] = T(2, 1, new Dictionary<ulong, int> { [1] = 6, [2] = 5, [3] = 5 });
        Assert.Equal(new[] { new ThreadMove(1, 0, 1) }, SharingPlanner.Plan(threads, [1, 1]));
    }

    [Fact]
    public void APinnedMemberDecidesTheNode()
    {
        // Unpinned, the full tie would go to node 0; thread 1 is pinned on node 1, so thread 2 comes to it.
        ThreadSample[] threads = [T(1, 1, Faults(100, 0x10), pinned: true), T(2, 0, Faults(100, 0x10)), T(3, 2), T(4, 2)];
        Assert.Equal(new[] { new ThreadMove(2, 0, 1) }, SharingPlanner.Plan(threads, [1, 1, 1]));
        threads[0] = threads[0] with { Pinned = false };
        Assert.Equal(new[] { new ThreadMove(1, 1, 0) }, SharingPlanner.Plan(threads, [1, 1, 1]));
    }

    [Fact]
    public void APinnedMembersNodeWithoutRoomLeavesTheGroupAlone()
    {
        // Caps: ceil(5 / 3) = 2 each. Node 1 (the pinned thread's) already has two loners; node 0 would have room.
        ThreadSample[] threads = [T(1, 1, Faults(100, 0x10), pinned: true), T(2, 0, Faults(100, 0x10)), T(3, 1), T(4, 1), T(5, 2)];
        Assert.Empty(SharingPlanner.Plan(threads, [1, 1, 1]));
    }

    [Fact]
    public void PinnedMembersOnTwoNodesSkipTheGroupAndStillCountAsLoad()
    {
        // Group {1, 2} (weight 200) is pinned apart: skipped, its members load nodes 0 and 1 by one each.
        // Group {3, 4} (weight 100) then needs 2 places on a node holding 1 with caps ceil(4 * 2 / 4) = 2: no room.
        // (Were the skipped group's threads not counted, {3, 4} would go to node 0.)
        ThreadSample[] threads =
        [
            T(1, 0, Faults(100, 0x10, 0x11), pinned: true), T(2, 1, Faults(100, 0x10, 0x11), pinned: true),
            T(3, 0, Faults(100, 0x20)), T(4, 1, Faults(100, 0x20)),
        ];
        Assert.Empty(SharingPlanner.Plan(threads, [2, 2]));
        // Unpinned, the heavier pair goes first to node 0 and the other to node 1.
        threads[0] = threads[0] with { Pinned = false };
        threads[1] = threads[1] with { Pinned = false };
        Assert.Equal(new[] { new ThreadMove(2, 1, 0), new ThreadMove(3, 0, 1) }, SharingPlanner.Plan(threads, [2, 2]));
    }

    [Fact]
    public void InactiveThreadsJoinNoGroupAndCountNoLoad()
    {
        // Active: 1, 2 (sharing) and 3 (loner on node 0): A = 3, caps ceil(3 / 2) = 2, loads 1 and 0, so the pair fits
        // only on node 1. Inactive 5 and 6 on node 1 would fill it if they counted; inactive 5 also faults on the
        // shared page and would make the group 3 threads if it joined.
        var shared = Faults(100, 0x10);
        ThreadSample[] threads =
        [
            T(1, 0, shared), T(2, 1, shared), T(3, 0),
            T(5, 1, shared, active: false), T(6, 1, active: false), T(7, 0, shared, active: false),
        ];
        Assert.Equal(new[] { new ThreadMove(1, 0, 1) }, SharingPlanner.Plan(threads, [1, 1]));
        // An inactive thread never moves, even when it is the only other sharer.
        Assert.Empty(SharingPlanner.Plan([T(1, 0, shared), T(2, 1, shared, active: false), T(3, 2)], [1, 1, 1]));
    }

    [Fact]
    public void MostMembersThenLowestLoadThenLowestId()
    {
        // Group {1@0, 2@1, 3@1}; a loner on node 1 and 21 on node 2. Cores 1, 1, 6 of 8, A = 25:
        // caps ceil(25/8) = 4, 4, ceil(150/8) = 19. Node 0: 0 + 3 fits, 1 member; node 1: 1 + 3 fits, 2 members;
        // node 2: 21 + 3 does not fit. Most members wins over the lower load and id of node 0.
        var shared = Faults(100, 0x10);
        var threads = new List<ThreadSample> { T(1, 0, shared), T(2, 1, shared), T(3, 1, shared), T(4, 1) };
        threads.AddRange(Loners(10, 2, 21));
        Assert.Equal(new[] { new ThreadMove(1, 0, 1) }, SharingPlanner.Plan(threads, [1, 1, 6]));

        // Pair {1@1, 2@2} on four 1-core nodes; loners: 3 on node 1, three on node 0, three on node 3. A = 9, caps 3.
        // Nodes 1 and 2 both fit with one member each; node 2 has the lower load (0 against 1).
        threads = [T(1, 1, shared), T(2, 2, shared), T(3, 1), .. Loners(10, 0, 3), .. Loners(20, 3, 3)];
        Assert.Equal(new[] { new ThreadMove(1, 1, 2) }, SharingPlanner.Plan(threads, [1, 1, 1, 1]));
    }

    [Fact]
    public void UnequalCoresGiveUnequalCaps()
    {
        // Cores 2, 1, 1; A = 7: caps ceil(14/4) = 4, ceil(7/4) = 2, 2. Loners 6, 7 on node 0 (load 2).
        // Group X = {1@1, 2@2, 3@2} (weight 200) fits nowhere: node 0 2 + 3 > 4, nodes 1 and 2 0 + 3 > 2.
        // It stays and loads nodes 1 and 2 with 1 and 2. Group Y = {4@1, 5@2} (weight 50): only node 0 has room
        // (2 + 2 <= 4). With caps from thread count alone (ceil(7/3) = 3 each) X would go to node 2 and Y to node 1.
        var x = Faults(100, 0x10);
        var y = Faults(50, 0x20);
        ThreadSample[] threads = [T(1, 1, x), T(2, 2, x), T(3, 2, x), T(4, 1, y), T(5, 2, y), T(6, 0), T(7, 0)];
        Assert.Equal(new[] { new ThreadMove(4, 1, 0), new ThreadMove(5, 2, 0) }, SharingPlanner.Plan(threads, [2, 1, 1]));
    }

    [Fact]
    public void TheResultDoesNotDependOnTheSampleOrder()
    {
        var threads = new[]
        {
            T(1, 1, Faults(100, 0x10)), T(2, 0, Faults(100, 0x10)),
            T(3, 1, Faults(100, 0x20)), T(4, 0, Faults(100, 0x20)),
        };
        Assert.Equal(new[] { new ThreadMove(1, 1, 0), new ThreadMove(4, 0, 1) },
            SharingPlanner.Plan(threads.Reverse().ToArray(), [1, 1]));
    }

    [Fact]
    public void BadInputIsRefused()
    {
        ThreadSample[] ok = [T(1, 0), T(2, 1)];
        Assert.Throws<ArgumentException>(() => SharingPlanner.Plan(ok, []));
        Assert.Throws<ArgumentException>(() => SharingPlanner.Plan(ok, Enumerable.Repeat(1, DsmNode.MaxNodes + 1).ToArray()));
        Assert.Throws<ArgumentOutOfRangeException>(() => SharingPlanner.Plan(ok, [1, 0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => SharingPlanner.Plan(ok, [1, 1], minShared: 0));
        Assert.Throws<ArgumentException>(() => SharingPlanner.Plan([T(1, 0), T(2, 2)], [1, 1]));
        Assert.Throws<ArgumentException>(() => SharingPlanner.Plan([T(1, -1)], [1, 1]));
        Assert.Throws<ArgumentException>(() => SharingPlanner.Plan([T(1, 0), T(1, 1)], [1, 1]));
        Assert.Throws<ArgumentException>(() => SharingPlanner.Plan([T(1, 0, new Dictionary<ulong, int> { [1] = -1 })], [1]));
        Assert.Throws<ArgumentException>(() => SharingPlanner.Plan([new ThreadSample(1, 0, true, false, null!)], [1]));
        Assert.Throws<ArgumentNullException>(() => SharingPlanner.Plan(null!, [1]));
        Assert.Empty(SharingPlanner.Plan([], [1]));
    }

    // Crowding: a group larger than any node's fair share goes onto one node anyway when its members are stalled so much
    // that one node's cores do more work for it than the spread members do (min(L + size, c) >= 1.25 (min(L, c) +
    // sum of (1 - stalled))).

    [Theory]
    [InlineData(0.9, 0.9, true)]    // working 0.2: node 0 does 1 >= 1.25 * 0.2
    [InlineData(0.75, 0.75, true)]  // working 0.5: 1 >= 0.625
    [InlineData(0.55, 0.55, false)] // working 0.9: 1 < 1.125
    [InlineData(0.3, 0.3, false)]
    [InlineData(1.0, 0.0, false)]   // working 1.0: one member waits for pages, the other computes; 1 < 1.25
    [InlineData(0.0, 0.0, false)]   // the fair-share plan alone: 2 threads on two 1-core nodes stay spread
    public void AStalledPairCrowdsOntoOneCore(double stalledA, double stalledB, bool crowds)
    {
        var threads = new[] { T(1, 0, Faults(100, 0x10), stalled: stalledA), T(2, 1, Faults(100, 0x10), stalled: stalledB) };
        var moves = SharingPlanner.Plan(threads, [1, 1]);
        if (crowds) Assert.Equal(new[] { new ThreadMove(2, 1, 0, Crowding: true) }, moves); // equal surplus, equal members: lowest id
        else Assert.Empty(moves);
    }

    [Fact]
    public void CrowdingPicksTheNodeWithTheLargestSurplus()
    {
        // Three 1-core nodes, three active threads (fair share 1). Node 0 already runs a busy loner: packing the pair
        // there leaves it doing 1 for 1 + 0; nodes 1 and 2 do 1 for 0. Node 1 holds a member already, so the pair goes
        // there, although node 0 has the lowest id.
        var threads = new[] { T(1, 0, Faults(100, 0x10), stalled: 1), T(2, 1, Faults(100, 0x10), stalled: 1), T(3, 0) };
        Assert.Equal(new[] { new ThreadMove(1, 0, 1, Crowding: true) }, SharingPlanner.Plan(threads, [1, 1, 1]));
    }

    [Fact]
    public void CrowdingKeepsAPinnedMemberWhereItIs()
    {
        var threads = new[]
        {
            T(1, 0, Faults(100, 0x10), stalled: 1),
            T(2, 1, Faults(100, 0x10), stalled: 1, pinned: true),
        };
        Assert.Equal(new[] { new ThreadMove(1, 0, 1, Crowding: true) }, SharingPlanner.Plan(threads, [1, 1]));
    }

    [Fact]
    public void CrowdingUsesEveryCoreOfTheTargetNode()
    {
        // Four sharing threads, two per node of 2 cores each (fair share 2): apart they work 4 * 0.3 = 1.2; on one
        // node of 2 cores, 2 >= 1.25 * 1.2. At stalled 0.5 (working 2.0) one node cannot do better.
        var pages = Faults(100, 0x10);
        ThreadSample[] Four(double stalled) =>
            [T(1, 0, pages, stalled: stalled), T(2, 0, pages, stalled: stalled), T(3, 1, pages, stalled: stalled), T(4, 1, pages, stalled: stalled)];
        Assert.Equal(new[] { new ThreadMove(3, 1, 0, true), new ThreadMove(4, 1, 0, true) }, SharingPlanner.Plan(Four(0.7), [2, 2]));
        Assert.Empty(SharingPlanner.Plan(Four(0.5), [2, 2]));
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void AStalledShareOutsideZeroToOneIsRefused(double stalled)
    {
        var threads = new[] { T(1, 0, Faults(100, 0x10), stalled: stalled), T(2, 1, Faults(100, 0x10)) };
        var ex = Assert.Throws<ArgumentException>(() => SharingPlanner.Plan(threads, [1, 1]));
        Assert.Contains("thread 1", ex.Message);
    }

    // ---------------------------------------------------------------- futex words and spreading (auto_start = "local")

    [Fact]
    public void SyncWeightSumsTheSmallerCountOverCommonWords()
    {
        var a = T(1, 0, syncs: new Dictionary<ulong, int> { [0x100] = 3, [0x200] = 10 });
        var b = T(2, 0, syncs: new Dictionary<ulong, int> { [0x200] = 4, [0x300] = 50 });
        Assert.Equal(4, SharingPlanner.SyncWeight(a, b));
        Assert.Equal(4, SharingPlanner.SyncWeight(b, a));
        Assert.Equal(0, SharingPlanner.SyncWeight(a, T(3, 0)));   // no futex calls at all
        Assert.Equal(0, SharingPlanner.Weight(a, b));             // and no page in common
    }

    [Fact]
    public void LooseThreadsSpreadOffANodeBeyondItsShare()
    {
        // Two busy threads started on node 0 that never meet (blackscholes, swaptions): fair share 1 each on two 1-core
        // nodes. With spreading the higher tid goes to the empty node; without, nothing moves (the old policy).
        ThreadSample[] threads = [T(1, 0), T(2, 0)];
        Assert.Equal(new[] { new ThreadMove(2, 0, 1, Spread: true) }, SharingPlanner.Plan(threads, [1, 1], spread: true));
        Assert.Empty(SharingPlanner.Plan(threads, [1, 1]));
        // A node within its share keeps its threads; a pinned loose thread stays too.
        Assert.Empty(SharingPlanner.Plan([T(1, 0), T(2, 1)], [1, 1], spread: true));
        Assert.Equal(new[] { new ThreadMove(1, 0, 1, Spread: true) },
            SharingPlanner.Plan([T(1, 0), T(2, 0, pinned: true)], [1, 1], spread: true));
    }

    [Fact]
    public void ThreadsMeetingAtAFutexWordStayTogether()
    {
        // fluidanimate's two workers on node 0 meet at the frame barriers ~25 times a window: one group of 2, larger
        // than the fair share of 1; each runs half the time (stalled 0.5), so one core already does all the group does.
        var barrier = new Dictionary<ulong, int> { [0x4000] = 25 };
        ThreadSample[] threads = [T(1, 0, stalled: 0.5, syncs: barrier), T(2, 0, stalled: 0.5, syncs: barrier)];
        Assert.Empty(SharingPlanner.Plan(threads, [1, 1], spread: true));
        // One meeting in a window is no evidence (a start-up barrier): they spread.
        var once = new Dictionary<ulong, int> { [0x4000] = 1 };
        threads = [T(1, 0, stalled: 0.5, syncs: once), T(2, 0, stalled: 0.5, syncs: once)];
        Assert.Equal(new[] { new ThreadMove(2, 0, 1, Spread: true) }, SharingPlanner.Plan(threads, [1, 1], spread: true));
        Assert.Empty(SharingPlanner.Plan(threads, [1, 1], minSync: 1, spread: true));
    }

    [Fact]
    public void MeetingsOfTheWindowBeforeCountWithThisWindows()
    {
        // canneal's workers meet at a barrier once or twice a window, in turn: a window with one meeting alone spreads
        // them, the same window added to the one before (two meetings) keeps them together.
        var once = new Dictionary<ulong, int> { [0x4000] = 1 };
        ThreadSample[] window = [T(1, 0, stalled: 0.5, syncs: once), T(2, 0, stalled: 0.5, syncs: once)];
        Assert.Equal(new[] { new ThreadMove(2, 0, 1, Spread: true) }, SharingPlanner.Plan(window, [1, 1], spread: true));
        var earlier = new Dictionary<int, IReadOnlyDictionary<ulong, int>> { [1] = once, [2] = once };
        var merged = SharingPlanner.WithEarlierSyncs(window, earlier);
        Assert.Equal(2, SharingPlanner.SyncWeight(merged[0], merged[1]));
        Assert.Empty(SharingPlanner.Plan(merged, [1, 1], spread: true));
        // counts add per word; a word of the window before only, or of this window only, is kept as it is
        var before = new Dictionary<int, IReadOnlyDictionary<ulong, int>> { [1] = new Dictionary<ulong, int> { [0x4000] = 3, [0x5000] = 7 } };
        var one = SharingPlanner.WithEarlierSyncs([T(1, 0, syncs: new Dictionary<ulong, int> { [0x4000] = 2, [0x6000] = 1 })], before);
        Assert.Equal(new Dictionary<ulong, int> { [0x4000] = 5, [0x5000] = 7, [0x6000] = 1 }, one[0].Syncs);
        // threads that never met stay loose, and a thread with no earlier counts keeps its sample
        ThreadSample[] loners = [T(1, 0), T(2, 0)];
        Assert.Equal(loners, SharingPlanner.WithEarlierSyncs(loners, new Dictionary<int, IReadOnlyDictionary<ulong, int>>()));
        Assert.Equal(new[] { new ThreadMove(2, 0, 1, Spread: true) },
            SharingPlanner.Plan(SharingPlanner.WithEarlierSyncs(loners, new Dictionary<int, IReadOnlyDictionary<ulong, int>> { [3] = once }), [1, 1], spread: true));
    }

    [Fact]
    public void PairsMeetingAtTheirOwnWordsSpreadAsPairs()
    {
        // par_pairs started on node 0: pairs {1, 2} and {3, 4} hand over through their own semaphores. Fair share 2 per
        // node: the heavier pair stays, the other moves whole, both of its threads marked as a spread.
        var a = new Dictionary<ulong, int> { [0x10_000] = 40 };
        var b = new Dictionary<ulong, int> { [0x20_000] = 30 };
        ThreadSample[] threads = [T(1, 0, syncs: a), T(2, 0, syncs: a), T(3, 0, syncs: b), T(4, 0, syncs: b)];
        Assert.Equal(new[] { new ThreadMove(3, 0, 1, Spread: true), new ThreadMove(4, 0, 1, Spread: true) },
            SharingPlanner.Plan(threads, [1, 1], spread: true));
    }

    [Fact]
    public void AFutexWordSharedAcrossNodesTiesThreadsLikeSharedPages()
    {
        // Thread 1 on node 0 and thread 2 on node 1 meet at a word and share no page; a loner runs on node 0. Fair share
        // ceil(3 / 2) = 2: the pair fits only on node 1, so thread 1 joins thread 2 there (a co-location, no spread).
        var word = new Dictionary<ulong, int> { [0x8000] = 5 };
        ThreadSample[] threads = [T(1, 0, syncs: word), T(2, 1, syncs: word), T(3, 0)];
        Assert.Equal(new[] { new ThreadMove(1, 0, 1) }, SharingPlanner.Plan(threads, [1, 1]));
    }

    [Fact]
    public void ANegativeSyncCountIsRefused()
    {
        var threads = new[] { T(1, 0, syncs: new Dictionary<ulong, int> { [0x10] = -1 }), T(2, 1) };
        var ex = Assert.Throws<ArgumentException>(() => SharingPlanner.Plan(threads, [1, 1]));
        Assert.Contains("thread 1", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => SharingPlanner.Plan([T(1, 0), T(2, 1)], [1, 1], minSync: 0));
    }
}
