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
    private string[] RunOnTwoNodesWithStats(string guest, string transport, string clusterExtra, string what)
    {
        var g = ThreadedGuests.Load(guest);
        var expected = ThreadedGuests.Expected(g);
        using var cluster = new LoopbackCluster(transport, 2, clusterExtra);
        var args = new List<string> { "--cluster", cluster.ConfigPath, "--stats", g.Binary };
        args.AddRange(g.Spec.Args);
        var r = ThreadedGuests.RunIn(LoopbackCluster.Binary, args, g.Env, g.Spec.Stdin, g.ClusterTimeout);
        output.WriteLine(r.Stderr);
        ThreadedGuests.AssertSameResult(expected, r, $"{guest} on 2 loopback nodes over {transport}{what}", LoopbackCluster.Binary, args, g.ClusterTimeout);
        Assert.Empty(cluster.WaitForNoProcesses(Leftover));
        return r.Stderr.Split('\n');
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
            var lines = RunOnTwoNodesWithStats("mt_false_sharing", transport, split ? "split_pages = true\nsplit_after = 4" : "split_pages = false",
                $", split_pages {split}");
            var line = lines.FirstOrDefault(l => l.Contains("pages split ", StringComparison.Ordinal));
            if (!split)
            {
                Assert.True(line == null, $"split_pages = false, yet a page-splitting line: {line}");
                continue;
            }
            Assert.True(line != null, $"no 'pages split' line in node 0's --stats:\n{string.Join('\n', lines)}");
            var m = System.Text.RegularExpressions.Regex.Match(line!, @"pages split (\d+), merged (\d+)");
            Assert.True(m.Success && int.Parse(m.Groups[1].Value) >= 1 && int.Parse(m.Groups[2].Value) >= 1,
                $"expected at least one split and one merge: {line}");
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
            reads[forward] = lines.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"remote faults: read (\d+) "))
                .Where(m => m.Success).Sum(m => long.Parse(m.Groups[1].Value));
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

    /// <summary>qemu-aarch64's result for the guest (its stdout and status are the expected ones).</summary>
    public static ProcessResult Expected(Guest g)
    {
        var qemu = GuestRunner.FindOnPath("qemu-aarch64");
        if (qemu == null)
            Assert.Fail("qemu-aarch64 not found on PATH; run toolchains/install.sh (Debian package qemu-user) or ./build.sh");
        var r = references.GetOrAdd(g.Name, _ => new Lazy<ProcessResult>(() =>
        {
            var args = new List<string> { g.Binary };
            args.AddRange(g.Spec.Args);
            return RunIn(qemu, args, g.Env, g.Spec.Stdin, g.Spec.Timeout ?? GuestRunner.DefaultTimeout);
        })).Value;
        if (r.TimedOut)
            Assert.Fail($"the reference run (qemu-aarch64 {g.Name}) timed out; the guest program itself is broken\n{Tail(r.Stderr)}");
        return r;
    }

    /// <summary>One run in a fresh working directory (guests may create files there).</summary>
    public static ProcessResult RunIn(string exe, IEnumerable<string> args, IReadOnlyDictionary<string, string> env, string? stdin, TimeSpan timeout)
    {
        var dir = GuestRunner.CreateTempDirectory("mt-run");
        try { return GuestRunner.Run(exe, args, env, stdin, dir, timeout); }
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
        msg.AppendLine(Tail(actual.Stderr));
        Assert.Fail(msg.ToString());
    }

    public static string Tail(string s) => GuestProgramTests.Tail(s, 30);

    static string FirstDifference(byte[] expectedBytes, byte[] actualBytes) => GuestProgramTests.FirstDifference(expectedBytes, actualBytes);
}
