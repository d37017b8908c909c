using System.Collections.Concurrent;
using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Cluster;

/// <summary>The multi-node test classes share one collection: their clusters never run at the same time.</summary>
[CollectionDefinition(Name)]
public sealed class MultiNodeCollection
{
    public const string Name = "multi-node clusters";
}

/// <summary>
/// Every threaded guest (tests/guests/mt_*.c, both builds in build/guests: ARMv8.0 exclusives and .lse) run as a
/// cluster of 1, 2 and 3 nodes on loopback (<c>dqemu-native --cluster cluster.toml guest</c>; node 0 starts its
/// local workers; placement round-robin, 1 core per node), on each transport ("tcp": the emulator's own sockets;
/// "ucx": UCX, which picks shared memory between the processes of one host): every run's stdout and exit status must equal
/// qemu-aarch64's, no node may be reported lost, and no process started with the cluster file may be left
/// afterwards. Each (guest, nodes) is run DQEMU_CLUSTER_RUNS times (default 2), each with a fresh cluster file and
/// fresh ports; a run is killed after DQEMU_CLUSTER_TIMEOUT seconds (default 120, or the guest's own // TIMEOUT if
/// longer) and the test fails with its stderr.
/// </summary>
[Collection(MultiNodeCollection.Name)]
public class MultiNodeGuestTests(ITestOutputHelper output)
{
    static readonly TimeSpan Leftover = TimeSpan.FromSeconds(5);

    static int Runs => int.TryParse(Environment.GetEnvironmentVariable("DQEMU_CLUSTER_RUNS"), out var n) && n > 0 ? n : 2;

    public static TheoryData<string, int, string> GuestsNodeCountsAndTransports()
    {
        var d = new TheoryData<string, int, string>();
        foreach (var g in ThreadedGuests.Names())
            foreach (int nodes in new[] { 1, 2, 3 })
                foreach (var transport in LoopbackCluster.Transports)
                    d.Add(g, nodes, transport);
        return d;
    }

    public static TheoryData<string> Transports() => LoopbackCluster.TransportData();

    [Theory]
    [MemberData(nameof(GuestsNodeCountsAndTransports))]
    public void ThreadedGuestOnLoopbackClusterEqualsQemu(string guest, int nodes, string transport)
    {
        var g = ThreadedGuests.Load(guest);
        var expected = ThreadedGuests.Expected(g);
        int runs = Runs;
        for (int run = 1; run <= runs; run++)
        {
            // 3 nodes also split falsely shared pages (off by default): every guest runs with and without splitting
            using var cluster = new LoopbackCluster(transport, nodes, nodes == 3 ? "split_pages = true" : "");
            var args = new List<string> { "--cluster", cluster.ConfigPath, g.Binary };
            args.AddRange(g.Spec.Args);
            var r = ThreadedGuests.RunIn(LoopbackCluster.Binary, args, g.Env, g.Spec.Stdin, g.ClusterTimeout);
            output.WriteLine($"{guest} on {nodes} node(s) over {transport}, run {run}/{runs}: {r.Describe()}, {r.StdoutBytes.Length} bytes out, {r.Elapsed.TotalSeconds:F2} s");
            ThreadedGuests.AssertSameResult(expected, r, $"{guest} on {nodes} loopback node(s) over {transport}, run {run} of {runs}",
                LoopbackCluster.Binary, args, g.ClusterTimeout);
            Assert.False(r.Stderr.Contains(" lost: ", StringComparison.Ordinal), $"a node was reported lost:\n{r.Stderr}");
            var left = cluster.WaitForNoProcesses(Leftover);
            Assert.True(left.Count == 0, $"processes of {cluster.ConfigPath} still running {Leftover.TotalSeconds} s after node 0 exited: {string.Join(", ", left)}");
        }
    }

    /// <summary>
    /// Runs a threaded guest on 2 loopback nodes with --stats and <paramref name="clusterExtra"/> in [cluster]; checks
    /// the result equals qemu-aarch64's and that no process is left; returns node 0's stderr lines.
    /// </summary>
    private string[] RunOnTwoNodesWithStats(string guest, string transport, string clusterExtra, string what) =>
        RunOnTwoNodesWithStats(ThreadedGuests.Load(guest), null, transport, clusterExtra, what);

    /// <summary>The same for a guest run with <paramref name="guestArgs"/> (null: its own // ARGS).</summary>
    private string[] RunOnTwoNodesWithStats(ThreadedGuests.Guest g, IReadOnlyList<string>? guestArgs, string transport, string clusterExtra, string what) =>
        RunWithStats(2, g, guestArgs, transport, clusterExtra, what);

    /// <summary>The same on <paramref name="nodes"/> loopback nodes.</summary>
    private string[] RunWithStats(int nodes, ThreadedGuests.Guest g, IReadOnlyList<string>? guestArgs, string transport, string clusterExtra, string what)
    {
        string guest = g.Name;
        var expected = ThreadedGuests.Expected(g, guestArgs);
        using var cluster = new LoopbackCluster(transport, nodes, clusterExtra);
        var args = new List<string> { "--cluster", cluster.ConfigPath, "--stats", g.Binary };
        args.AddRange(guestArgs ?? g.Spec.Args);
        var r = ThreadedGuests.RunIn(LoopbackCluster.Binary, args, g.Env, g.Spec.Stdin, g.ClusterTimeout);
        output.WriteLine(r.Stderr);
        ThreadedGuests.AssertSameResult(expected, r, $"{guest} on {nodes} loopback nodes over {transport}{what}", LoopbackCluster.Binary, args, g.ClusterTimeout);
        Assert.Empty(cluster.WaitForNoProcesses(Leftover));
        return r.Stderr.Split('\n');
    }

    /// <summary>
    /// Data forwarding's updates on 3 nodes: par_table's thread 0 updates a few table entries each phase while all three
    /// threads (one a node) read the table. With push_updates = true the homes offer the pages written to their
    /// readers (--stats: updates offered, and pages read ahead and used), with qemu-aarch64's output; with the option
    /// off nothing is offered.
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public void ReadMostlyPagesAreOfferedToTheirReaders(string transport)
    {
        foreach (bool push in new[] { true, false })
        {
            var lines = RunWithStats(3, ThreadedGuests.LoadBench("par_table"), ["3", "40", "30000"], transport,
                $"forward_pages = false\npush_updates = {(push ? "true" : "false")}", $", push_updates {push}");
            long offered = SumOver(lines, @"updates offered (\d+)");
            long used = SumOver(lines, @"pages read ahead \d+, used (\d+)");
            if (!push)
            {
                Assert.True(!lines.Any(l => l.Contains("updates offered", StringComparison.Ordinal)) && used == 0,
                    $"push_updates = false, yet offers or pages read ahead:\n{string.Join('\n', lines)}");
                continue;
            }
            Assert.True(offered > 0 && used > 0, $"expected offers, and offered pages used:\n{string.Join('\n', lines)}");
        }
    }

    /// <summary>
    /// Page splitting on 2 nodes: mt_false_sharing's page, written by both nodes at their own counters, is split
    /// (node 0's --stats counts it) and merged back (the guest copies across units and lets read() fill a buffer on
    /// it), and the output equals qemu-aarch64's; with split_pages = false (the default) the page stays whole, with the
    /// same output.
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public void FalselySharedPageIsSplitAndMergedBack(string transport)
    {
        foreach (bool split in new[] { true, false })
        {
            // how often the page changes hands depends on how the two CPUs run the nodes: a run in which the nodes took
            // turns so rarely that no split came, or came only after the guest's last memcpy and read() (nothing left to
            // merge it), says nothing about splitting or merging and runs again (3 runs at most)
            for (int attempt = 1; ; attempt++)
            {
                var lines = RunOnTwoNodesWithStats("mt_false_sharing", transport, split ? "split_pages = true\nsplit_after = 4" : "split_pages = false",
                    $", split_pages {split}");
                var line = lines.FirstOrDefault(l => l.Contains("pages split ", StringComparison.Ordinal));
                if (!split)
                {
                    Assert.True(line == null, $"split_pages = false, yet a page-splitting line: {line}");
                    break;
                }
                Assert.True(line != null, $"no 'pages split' line in node 0's --stats:\n{string.Join('\n', lines)}");
                var m = System.Text.RegularExpressions.Regex.Match(line!, @"pages split (\d+), merged (\d+)");
                Assert.True(m.Success, $"no split and merge counts: {line}");
                if (int.Parse(m.Groups[1].Value) >= 1 && int.Parse(m.Groups[2].Value) >= 1) break;
                Assert.True(attempt < 3, $"3 runs, and none both split the page and merged it back; the last: {line}");
            }
        }
    }

    /// <summary>
    /// The workers node 0 starts translate as it does: --no-link, --code-cache-size and --tier-up reach them, and each
    /// worker's --stats says how it translated; without the options a worker links blocks, tiers up after the default
    /// 4096 runs and has the default 512 MiB cache. mt_atomic_inc's output equals qemu-aarch64's both ways.
    /// </summary>
    [Fact]
    public void WorkersTranslateWithNodeZerosOptions()
    {
        var g = ThreadedGuests.Load("mt_atomic_inc");
        var expected = ThreadedGuests.Expected(g, null);
        foreach (var (options, line) in new[]
        {
            (new[] { "--no-link", "--code-cache-size", "1M", "--tier-up", "7" }, "translator: blocks not linked, tier-up after 7 runs, code cache used "),
            (Array.Empty<string>(), "translator: blocks linked, tier-up after 4096 runs, code cache used "),
        })
        {
            using var cluster = new LoopbackCluster("tcp", 2, "");
            var args = new List<string> { "--cluster", cluster.ConfigPath, "--stats" };
            args.AddRange(options);
            args.Add(g.Binary);
            args.AddRange(g.Spec.Args);
            var r = ThreadedGuests.RunIn(LoopbackCluster.Binary, args, g.Env, g.Spec.Stdin, g.ClusterTimeout);
            output.WriteLine(r.Stderr);
            ThreadedGuests.AssertSameResult(expected, r, $"mt_atomic_inc on 2 nodes with [{string.Join(' ', options)}]", LoopbackCluster.Binary, args, g.ClusterTimeout);
            Assert.Empty(cluster.WaitForNoProcesses(Leftover));
            var worker = r.Stderr.Split('\n').Where(l => l.Contains("translator: ", StringComparison.Ordinal)).ToList();
            Assert.True(worker.Count == 1 && worker[0].Contains(line, StringComparison.Ordinal),
                $"expected node 1's line '{line}...':\n{r.Stderr}");
            string size = options.Length > 0 ? "of 1024 KiB" : "of 524288 KiB";
            Assert.True(worker[0].Contains(size, StringComparison.Ordinal), $"expected '{size}': {worker[0]}");
        }
    }

    /// <summary>
    /// Data forwarding on 2 nodes: mt_strided_read's upward reader on node 1 faults on consecutive pages, so the pages
    /// after them are read ahead and used (--stats: read ahead and used both above zero, and fewer read waits than
    /// without), with qemu-aarch64's output; forward_pages = false reads nothing ahead.
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public void StridedReadsAreReadAhead(string transport)
    {
        var reads = new Dictionary<bool, long>();
        foreach (bool forward in new[] { true, false })
        {
            var lines = RunOnTwoNodesWithStats("mt_strided_read", transport, forward ? "" : "forward_pages = false", $", forward_pages {forward}");
            reads[forward] = SumOver(lines, @"remote faults: read (\d+) ");
            var ahead = lines.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"pages read ahead (\d+), used (\d+), wasted (\d+)"))
                .Where(m => m.Success).ToList();
            if (!forward)
            {
                Assert.True(ahead.Count == 0, $"forward_pages = false, yet a forwarding line:\n{string.Join('\n', lines)}");
                continue;
            }
            Assert.True(ahead.Count == 2, $"expected a forwarding line per node:\n{string.Join('\n', lines)}");
            Assert.True(ahead.Sum(m => long.Parse(m.Groups[1].Value)) > 100 && ahead.Sum(m => long.Parse(m.Groups[2].Value)) > 100,
                $"600 pages read upwards by one node, yet little was read ahead or used:\n{string.Join('\n', lines)}");
        }
        Assert.True(reads[true] < reads[false], $"read waits with forwarding {reads[true]}, without {reads[false]}");
    }

    /// <summary>
    /// Data forwarding for writing on 2 nodes: mt_strided_write's writer on node 1 rewrites 600 pages upwards twice,
    /// first taking them from node 0 (data), then from shared copies (upgrades); its consecutive write faults take the
    /// next pages for writing ahead of it, so --stats shows pages read ahead and used (above 100 each) and fewer write
    /// waits than with forward_pages = false; the sums equal qemu-aarch64's both ways.
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public void StridedWritesTakePagesAhead(string transport)
    {
        var writes = new Dictionary<bool, long>();
        foreach (bool forward in new[] { true, false })
        {
            var lines = RunOnTwoNodesWithStats("mt_strided_write", transport, forward ? "" : "forward_pages = false", $", forward_pages {forward}");
            writes[forward] = SumOver(lines, @"remote faults: read \d+ .*; write (\d+) ");
            if (!forward) continue;
            long ahead = SumOver(lines, @"pages read ahead (\d+),"), used = SumOver(lines, @"pages read ahead \d+, used (\d+),");
            Assert.True(ahead > 100 && used > 100, $"600 pages written upwards twice by one node, yet {ahead} taken ahead and {used} used:\n{string.Join('\n', lines)}");
        }
        // Fewer, not a fixed fraction: a fault on a page already on its way still waits for it and counts, and on a
        // loaded machine the writer catches up with its read-ahead (quiet: ~180 of ~1,210 waits; one CI run: 653).
        Assert.True(writes[true] < writes[false], $"write waits with forwarding {writes[true]}, without {writes[false]}");
    }

    /// <summary>
    /// Data forwarding with wakes on 2 nodes: mt_prodcons's producer fills 8 pages, then wakes the consumer on the other
    /// node (condition variable, semaphore, barrier); with forward_wakes = true (read-ahead off, to see the wakes alone)
    /// the wakes name the pages, the consumer's node asks for them at once, and its read faults fall below those of a
    /// run with neither; qemu-aarch64's output both ways.
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public void ProducedPagesTravelWithTheWake(string transport)
    {
        var reads = new Dictionary<bool, long>();
        foreach (bool forward in new[] { true, false })
        {
            var lines = RunOnTwoNodesWithStats("mt_prodcons", transport, $"forward_pages = false\nforward_wakes = {(forward ? "true" : "false")}",
                $", forward_wakes {forward}");
            reads[forward] = SumOver(lines, @"remote faults: read (\d+) ");
            long named = SumOver(lines, @"pages named by wakes (\d+)");
            if (forward)
                Assert.True(named >= 300, $"300 hand-overs of 8 pages each, yet only {named} pages named by wakes:\n{string.Join('\n', lines)}");
            else
                Assert.True(named == 0, $"forward_wakes = false, yet {named} pages named by wakes");
        }
        Assert.True(reads[true] < reads[false], $"read faults with forwarding {reads[true]}, without {reads[false]}");
    }

    /// <summary>The placement figures of node 0's --stats line: hints, moves asked, moves done.</summary>
    private static (int Hints, int Asked, int Done) PlacementCounts(string[] lines)
    {
        var m = lines.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"placement [a-z-]+: hints (\d+), moves asked (\d+), done (\d+)"))
            .FirstOrDefault(m => m.Success);
        Assert.True(m != null, $"no placement line in node 0's --stats:\n{string.Join('\n', lines)}");
        return (int.Parse(m!.Groups[1].Value), int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value));
    }

    /// <summary>Remote faults (reads and writes) of every node, from the --stats lines.</summary>
    private static long RemoteFaults(string[] lines) => SumOver(lines, @"remote faults: read (\d+) .*; write (\d+) ");

    /// <summary>The numbers <paramref name="pattern"/>'s groups capture, summed over every --stats line it matches (one
    /// per node).</summary>
    private static long SumOver(string[] lines, string pattern) =>
        lines.Select(l => System.Text.RegularExpressions.Regex.Match(l, pattern)).Where(m => m.Success)
            .Sum(m => m.Groups.Values.Skip(1).Sum(g => long.Parse(g.Value)));

    /// <summary>Rounds par_pairs runs in the placement tests: split pairs fault at least twice a round.</summary>
    private const int PairRounds = 20000;

    /// <summary>
    /// Locality-aware placement, automatic: par_pairs's two pairs of threads that hand messages to each other through
    /// their pair's page are created so that round-robin splits both pairs over the 2 nodes; with placement = "auto"
    /// started round-robin (auto_start) node 0 sees from the threads' remote faults which ones share, and moves one
    /// thread of each pair (live migration): at least two moves done, far fewer remote faults than the two per round a
    /// split pair costs, and qemu-aarch64's output.
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public void SharingPairsAreColocatedByAutoPlacement(string transport)
    {
        var lines = RunOnTwoNodesWithStats(ThreadedGuests.LoadBench("par_pairs"), [$"{PairRounds / 1000}"], transport,
            "placement = \"auto\"\nauto_start = \"round-robin\"", ", placement auto started round-robin");
        var (_, _, done) = PlacementCounts(lines);
        Assert.True(done >= 2, $"expected at least the two moves that co-locate the pairs, got {done}:\n{string.Join('\n', lines)}");
        long faults = RemoteFaults(lines);
        Assert.True(faults < PairRounds, $"{faults} remote faults for {PairRounds} rounds: the pairs were not co-located for long\n{string.Join('\n', lines)}");
    }

    /// <summary>
    /// placement = "auto" as it starts by default: every thread on its creator's node (node 0). par_pairs's four threads
    /// then crowd node 0, each pair meeting at its own semaphores: node 0 spreads one whole pair to node 1 once two windows
    /// in a row propose it ("spread 1" in --stats, its two moves done), the pairs are never split (fewer remote faults
    /// than a quarter of the rounds), and the output is qemu-aarch64's.
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public void PairsStartedTogetherAreSpreadAsPairs(string transport)
    {
        // long enough for two sampling windows to agree even on a busy machine, where a window may see a starved thread
        // as idle (the pairs hand over every ~12-35 us: 200,000 rounds take 2.5-7 s)
        const int rounds = 200_000;
        var lines = RunOnTwoNodesWithStats(ThreadedGuests.LoadBench("par_pairs"), [$"{rounds / 1000}"], transport, "placement = \"auto\"",
            ", placement auto");
        var (_, _, done) = PlacementCounts(lines);
        Assert.True(done >= 2, $"expected one pair (two moves) spread to node 1, got {done} moves:\n{string.Join('\n', lines)}");
        Assert.True(SumOver(lines, @"crowded \d+, spread (\d+)") >= 1, $"no spread counted:\n{string.Join('\n', lines)}");
        long faults = RemoteFaults(lines);
        Assert.True(faults < rounds / 4, $"{faults} remote faults for {rounds} rounds: a pair was split\n{string.Join('\n', lines)}");
    }

    /// <summary>
    /// placement = "auto", default start: par_mandel's two threads compute their bands without ever meeting (no futex
    /// word, no shared page), both on node 0 at first; node 0 spreads one to node 1 (a move done, "spread" counted) and
    /// the checksum is qemu-aarch64's.
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public void ThreadsThatNeverMeetAreSpreadByAutoPlacement(string transport)
    {
        var lines = RunOnTwoNodesWithStats(ThreadedGuests.LoadBench("par_mandel"), ["2"], transport, "placement = \"auto\"", ", placement auto");
        var (_, _, done) = PlacementCounts(lines);
        Assert.True(done >= 1, $"neither thread was spread to node 1:\n{string.Join('\n', lines)}");
        Assert.True(SumOver(lines, @"crowded \d+, spread (\d+)") >= 1, $"no spread counted:\n{string.Join('\n', lines)}");
    }

    /// <summary>
    /// Placement hints: the same pairs, round-robin placement, each thread calls dqemu_hint(GROUP, its pair): exactly one
    /// thread of each pair moves (a pair's first caller stays unless its node already holds a group; the second follows
    /// it), with qemu-aarch64's output; and mt_pairs (true data sharing checked word by word) gives qemu's output with
    /// its hint calls.
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public void HintedPairsAreColocated(string transport)
    {
        var lines = RunOnTwoNodesWithStats(ThreadedGuests.LoadBench("par_pairs"), [$"{PairRounds / 1000}", "hint"], transport, "", ", hinted");
        var (hints, asked, done) = PlacementCounts(lines);
        Assert.True(hints == 4 && asked == 2 && done == 2, $"4 group hints should move 2 threads, got hints {hints}, asked {asked}, done {done}:\n{string.Join('\n', lines)}");
        long faults = RemoteFaults(lines);
        Assert.True(faults < PairRounds / 4, $"{faults} remote faults for {PairRounds} rounds of co-located pairs\n{string.Join('\n', lines)}");
        lines = RunOnTwoNodesWithStats(ThreadedGuests.Load("mt_pairs"), ["hint"], transport, "", ", mt_pairs hinted");
        Assert.Equal(2, PlacementCounts(lines).Done);
    }

    /// <summary>
    /// [[placement]] rules: the pairs placed together by thread index (threads 1 and 2 on node 1, 3 and 4 on node 0),
    /// round-robin for the rest: nothing moves, and the pairs fault no more than co-located pairs do; qemu-aarch64's
    /// output. The same pairs without rules (both split) fault at least once a round.
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public void PlacementRulesPlaceThreadsByIndex(string transport)
    {
        var args = new[] { "5" };
        var ruled = RunOnTwoNodesWithStats(ThreadedGuests.LoadBench("par_pairs"), args, transport,
            "[[placement]]\nthreads = [1, 2]\nnode = 1\n[[placement]]\nthread = 3\nnode = 0\n[[placement]]\nthread = 4\nnode = 0", ", placement rules");
        var split = RunOnTwoNodesWithStats(ThreadedGuests.LoadBench("par_pairs"), args, transport, "", ", round-robin");
        long ruledFaults = RemoteFaults(ruled), splitFaults = RemoteFaults(split);
        Assert.True(splitFaults >= 5000, $"round-robin split both pairs, yet only {splitFaults} remote faults in 5000 rounds");
        Assert.True(ruledFaults < 1000, $"the rules co-located both pairs, yet {ruledFaults} remote faults in 5000 rounds\n{string.Join('\n', ruled)}");
    }

    /// <summary>
    /// Live migration keeps a thread exact: mt_migrate's threads ask to move to node (round mod 3) 40 times each while
    /// computing with FP and NEON registers, TLS, their stacks, a mutex and atomics, and while main signals them
    /// (pthread_kill finds a thread wherever it went); qemu-aarch64's output, and node 0 counts the moves.
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public void MigratedThreadsStayExact(string transport)
    {
        var lines = RunOnTwoNodesWithStats("mt_migrate", transport, "", ", moving threads");
        var (hints, _, done) = PlacementCounts(lines);
        Assert.True(hints == 120 && done >= 40, $"3 threads x 40 node hints on 2 nodes: expected 120 hints and at least 40 moves, got {hints} and {done}");
    }

    /// <summary>
    /// A thread's data follows it when its node empties: mt_handover's worker fills 512 pages on node 1, moves to node 0
    /// (a NODE hint), sleeps, and reads them in a scrambled order. Node 1, left without a guest thread, hands the pages
    /// over and node 0 asks for them all at once, so node 0 reads them with few remote faults; with forward_pages =
    /// false nothing is handed over and each page costs node 0 a remote fault. qemu-aarch64's output both ways.
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public void AThreadsDataFollowsItWhenItsNodeEmpties(string transport)
    {
        const int pages = 512;
        var on = RunOnTwoNodesWithStats("mt_handover", transport, "", ", pages handed over");
        long handed = SumOver(on, @"pages handed over (\d+)"), asked = SumOver(on, @"asked for when handed over (\d+)");
        long node0 = Node0RemoteFaults(on);
        Assert.True(handed >= pages && asked >= pages,
            $"node 1 emptied holding the worker's {pages} pages: handed over {handed}, asked for {asked}\n{string.Join('\n', on)}");
        Assert.True(node0 < pages / 4, $"node 0 read {pages} handed-over pages with {node0} remote faults\n{string.Join('\n', on)}");

        var off = RunOnTwoNodesWithStats("mt_handover", transport, "forward_pages = false", ", forward_pages off");
        Assert.Equal(0, SumOver(off, @"pages handed over (\d+)"));
        long node0Off = Node0RemoteFaults(off);
        Assert.True(node0Off >= pages, $"without forwarding node 0 read {pages} pages of node 1 with only {node0Off} remote faults");
    }

    /// <summary>Node 0's remote faults (its "remote faults" line comes first in the cluster block).</summary>
    private static long Node0RemoteFaults(string[] lines) =>
        SumOver(lines.Where(l => l.Contains("remote faults: read", StringComparison.Ordinal)).Take(1).ToArray(), @"remote faults: read (\d+) .*; write (\d+) ");

    /// <summary>
    /// --stats on 2 nodes: node 0 prints a cluster block naming the transport, with one line per node (after its own
    /// statistics).
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public void StatsOnTwoNodesPrintAPerNodeBlock(string transport)
    {
        var lines = RunOnTwoNodesWithStats("mt_condvar", transport, "", " with --stats");
        int header = Array.FindIndex(lines, l => l.Contains("cluster stats", StringComparison.Ordinal));
        Assert.True(header >= 0, $"no line containing 'cluster stats' in stderr:\n{string.Join('\n', lines)}");
        Assert.True(lines[header].Contains($"({transport}, 2 nodes", StringComparison.Ordinal),
            $"the cluster stats header does not name transport {transport} and 2 nodes: '{lines[header]}'");
        var block = lines.Skip(header + 1).ToList();
        for (int i = 0; i < 2; i++)
        {
            string prefix = $"  node {i}";
            // "  node 1" must not be satisfied by "  node 10"
            Assert.True(block.Any(l => l.StartsWith(prefix, StringComparison.Ordinal) && (l.Length == prefix.Length || !char.IsAsciiDigit(l[prefix.Length]))),
                $"no line starting with '{prefix}' after the '{lines[header]}' line:\n{string.Join('\n', lines)}");
        }
    }
}

/// <summary>
/// The threaded guests and their reference results, shared by the loopback and the network-namespace tests:
/// names (mt_X and mt_X.lse for each tests/guests/mt_X.c), the run directives from the source, and
/// qemu-aarch64's stdout and status (run once per guest per test process).
/// </summary>
internal static class ThreadedGuests
{
    public const string None = "(no threaded guests found)";
    const string LseSuffix = ".lse";

    static readonly ConcurrentDictionary<string, Lazy<ProcessResult>> references = new();

    public sealed record Guest(string Name, string Binary, string Source, GuestSpec Spec, Dictionary<string, string> Env, TimeSpan ClusterTimeout);

    public static IEnumerable<string> Names()
    {
        var root = GuestRunner.RepoRoot;
        var dir = root == null ? null : Path.Combine(root, "tests", "guests");
        var names = dir != null && Directory.Exists(dir)
            ? Directory.EnumerateFiles(dir, "mt_*.c").Select(f => Path.GetFileNameWithoutExtension(f)!).Order(StringComparer.Ordinal).ToList()
            : [];
        if (names.Count == 0) return [None];
        return names.SelectMany(n => new[] { n, n + LseSuffix });
    }

    /// <summary>The guest's binary, source directives and environment; fails the test when something is missing.</summary>
    public static Guest Load(string name)
    {
        if (name == None) Assert.Fail($"no tests/guests/mt_*.c found (repository root: {GuestRunner.RepoRoot ?? "not found"})");
        GuestRunner.RequireRepoRoot();
        string sourceName = name.EndsWith(LseSuffix, StringComparison.Ordinal) ? name[..^LseSuffix.Length] : name;
        var source = Path.Combine(GuestRunner.GuestSourceDir, sourceName + ".c");
        var binary = Path.Combine(GuestRunner.GuestBinaryDir, name);
        if (!File.Exists(binary))
            Assert.Fail($"guest binary {binary} is missing; run ./build.sh (or toolchains/build-guests.sh)");
        if (File.GetLastWriteTimeUtc(binary) < File.GetLastWriteTimeUtc(source))
            Assert.Fail($"guest binary {binary} is older than {source}; run ./build.sh (or toolchains/build-guests.sh)");
        if (!File.Exists(LoopbackCluster.Binary))
            Assert.Fail($"{LoopbackCluster.Binary} is missing; run ./build.sh");
        var spec = GuestSpec.Parse(File.ReadAllLines(source));
        var env = new Dictionary<string, string>(GuestRunner.StandardGuestEnvironment);
        foreach (var (k, v) in spec.Env) env[k] = v;
        var timeout = TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("DQEMU_CLUSTER_TIMEOUT"), out var s) && s > 0 ? s : 120);
        if (spec.Timeout is { } own && own > timeout) timeout = own;
        return new Guest(name, binary, source, spec, env, timeout);
    }

    /// <summary>qemu-aarch64's result for the guest (its stdout and status are the expected ones), run with
    /// <paramref name="args"/> instead of its // ARGS when given.</summary>
    public static ProcessResult Expected(Guest g, IReadOnlyList<string>? args = null)
    {
        var qemu = GuestRunner.FindOnPath("qemu-aarch64");
        if (qemu == null)
            Assert.Fail("qemu-aarch64 not found on PATH; run toolchains/install.sh (Debian package qemu-user) or ./build.sh");
        args ??= g.Spec.Args;
        var r = references.GetOrAdd(g.Binary + "\0" + string.Join('\0', args), _ => new Lazy<ProcessResult>(() =>
            RunIn(qemu, [g.Binary, .. args], g.Env, g.Spec.Stdin, g.Spec.Timeout ?? GuestRunner.DefaultTimeout))).Value;
        if (r.TimedOut)
            Assert.Fail($"the reference run (qemu-aarch64 {g.Name}) timed out; the guest program itself is broken\n{Tail(r.Stderr)}");
        return r;
    }

    static readonly ConcurrentDictionary<string, Lazy<string>> benches = new();

    /// <summary>bench/parallel/<paramref name="name"/>.c built static for AArch64 (build/bench/NAME.aarch64 when it is up
    /// to date, else into a temporary directory).</summary>
    public static string Bench(string name) => benches.GetOrAdd(name, n => new Lazy<string>(() => BuildBench(n))).Value;

    static string BuildBench(string name)
    {
        var root = GuestRunner.RequireRepoRoot();
        var src = Path.Combine(root, "bench", "parallel", name + ".c");
        if (!File.Exists(src)) Assert.Fail($"{src} is missing");
        var built = Path.Combine(root, "build", "bench", name + ".aarch64");
        if (File.Exists(built) && File.GetLastWriteTimeUtc(built) >= File.GetLastWriteTimeUtc(src)) return built;
        var cc = GuestRunner.FindOnPath("aarch64-linux-gnu-gcc");
        if (cc == null) Assert.Fail("aarch64-linux-gnu-gcc not found; run toolchains/install.sh (Debian package gcc-aarch64-linux-gnu)");
        var dir = GuestRunner.CreateTempDirectory(name);
        var bin = Path.Combine(dir, name + ".aarch64");
        var r = GuestRunner.Run(cc, ["-O2", "-static", "-pthread", "-o", bin, src], null, null, null, TimeSpan.FromSeconds(120));
        if (r.ExitCode != 0) Assert.Fail($"building {src} failed: {r.Describe()}\n{r.Stderr}");
        return bin;
    }

    /// <summary>A bench/parallel guest as a <see cref="Guest"/> (no directives; the standard environment).</summary>
    public static Guest LoadBench(string name)
    {
        if (!File.Exists(LoopbackCluster.Binary)) Assert.Fail($"{LoopbackCluster.Binary} is missing; run ./build.sh");
        var root = GuestRunner.RequireRepoRoot();
        return new Guest(name, Bench(name), Path.Combine(root, "bench", "parallel", name + ".c"), GuestSpec.Parse([]),
            new Dictionary<string, string>(GuestRunner.StandardGuestEnvironment), TimeSpan.FromSeconds(120));
    }

    /// <summary>One run in a fresh working directory (guests may create files there). The emulator runs with
    /// DQEMU_DIAGNOSE=1: a run that times out gets every node's diagnosis and native stacks in its stderr before it is
    /// killed (<see cref="ClusterDiagnosis"/>).</summary>
    public static ProcessResult RunIn(string exe, IEnumerable<string> args, IReadOnlyDictionary<string, string> env, string? stdin, TimeSpan timeout)
    {
        var dir = GuestRunner.CreateTempDirectory("mt-run");
        try { return GuestRunner.Run(exe, args, ClusterDiagnosis.Environment(env), stdin, dir, timeout, ClusterDiagnosis.Collect); }
        finally { GuestRunner.DeleteDirectory(dir); }
    }

    /// <summary>Fails unless <paramref name="actual"/> finished in time with the reference's stdout bytes and status.</summary>
    public static void AssertSameResult(ProcessResult expected, ProcessResult actual, string what, string exe, IEnumerable<string> args, TimeSpan timeout)
    {
        var problems = new List<string>();
        if (actual.TimedOut)
            problems.Add($"timed out after {timeout.TotalSeconds:F0} s and was killed (with its children)");
        else if (actual.ExitCode != expected.ExitCode)
            problems.Add($"exit status differs: qemu-aarch64 {expected.Describe()}, cluster {actual.Describe()}");
        if (!expected.StdoutBytes.AsSpan().SequenceEqual(actual.StdoutBytes))
            problems.Add("stdout differs:\n" + FirstDifference(expected.StdoutBytes, actual.StdoutBytes));
        if (problems.Count == 0) return;
        var msg = new StringBuilder();
        msg.AppendLine($"{what}: not the qemu-aarch64 result");
        msg.AppendLine($"  command: {exe} {string.Join(' ', args)}");
        foreach (var p in problems) msg.AppendLine("- " + p);
        msg.AppendLine("stderr (tail):");
        msg.AppendLine(ClusterDiagnosis.ForReport(actual.Stderr, Tail));
        Assert.Fail(msg.ToString());
    }

    public static string Tail(string s) => GuestProgramTests.Tail(s, 30);

    static string FirstDifference(byte[] expectedBytes, byte[] actualBytes) => GuestProgramTests.FirstDifference(expectedBytes, actualBytes);
}
