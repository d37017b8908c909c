using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Cluster;

/// <summary>
/// Two nodes in two network namespaces joined by a link with latency (0.2 ms ± 0.05 ms each way; and an opt-in
/// variant that also drops 0.5% of the packets), see <see cref="NetnsCluster"/>: the worker is started by hand in
/// namespace B (<c>start = false</c>), node 0 runs the guest in namespace A; on each transport (tcp, and ucx with
/// <c>ucx_tls = "tcp"</c>, so that UCX's messages cross the link rather than shared memory). Every threaded guest
/// (both builds) must give qemu-aarch64's stdout and status, and its messages must be seen crossing the link;
/// losing node 1 mid-run (SIGKILL, or its link taken down) must end node 0 with 69 and one line naming node 1, and
/// leave no process behind. Runs per guest: DQEMU_NETNS_RUNS (default 1).
/// </summary>
[Collection(MultiNodeCollection.Name)]
public partial class NetnsClusterTests(ITestOutputHelper output)
{
    static readonly TimeSpan Leftover = TimeSpan.FromSeconds(10);

    static int Runs => int.TryParse(Environment.GetEnvironmentVariable("DQEMU_NETNS_RUNS"), out var n) && n > 0 ? n : 1;

    public static TheoryData<string, string, string> GuestsLinksAndTransports()
    {
        var d = new TheoryData<string, string, string>();
        // packet loss makes TCP wait for retransmission timeouts: that variant is opt-in (DQEMU_NETNS_LOSS=1)
        var links = Environment.GetEnvironmentVariable("DQEMU_NETNS_LOSS") == "1" ? new[] { "delay", "delay+loss" } : new[] { "delay" };
        foreach (var link in links)
            foreach (var g in ThreadedGuests.Names())
                foreach (var t in LoopbackCluster.Transports)
                    d.Add(g, link, t);
        return d;
    }

    /// <summary>
    /// One guest on the two namespaced nodes, with --stats (on stderr; stdout and status are compared as usual), and
    /// proof that the nodes' messages crossed the delayed link: the link's end in namespace A counted at least the
    /// body bytes node 1 sent and received (so they did not go through shared memory), and node 1's remote faults
    /// waited at least one round trip of the link (their median is at least twice the shortest one-way delay).
    /// </summary>
    [Theory]
    [MemberData(nameof(GuestsLinksAndTransports))]
    public void ThreadedGuestOnTwoNamespacedNodesEqualsQemu(string guest, string link, string transport)
    {
        var g = ThreadedGuests.Load(guest);
        var expected = ThreadedGuests.Expected(g);
        using var cluster = new NetnsCluster(NetnsLink.Parse(link), transport);
        output.WriteLine(cluster.LinkDescription);
        int runs = Runs;
        for (int run = 1; run <= runs; run++)
        {
            var linkBefore = cluster.LinkBytes();
            using var worker = cluster.StartWorker(g.Env);
            var options = new List<string> { "--stats", g.Binary };
            options.AddRange(g.Spec.Args);
            var r = cluster.RunNode0(options, g.Env, g.Spec.Stdin, g.ClusterTimeout * 2); // every page moves over the slower link
            bool workerDone = worker.WaitForExit(TimeSpan.FromSeconds(10));
            var linkAfter = cluster.LinkBytes();
            long linkBytes = linkAfter.Received - linkBefore.Received + linkAfter.Sent - linkBefore.Sent;
            output.WriteLine($"{guest} over {link} on {transport}, run {run}/{runs}: node 0 {r.Describe()}, {r.StdoutBytes.Length} bytes out, {r.Elapsed.TotalSeconds:F2} s; " +
                $"worker {(workerDone ? "exit " + worker.ExitCode : "still running")}; {linkBytes} bytes crossed the link");
            if (cluster.DelayLine is { } line)
                output.WriteLine($"delay line: {line.Forwarded} frames passed on, {line.Dropped} dropped");
            if (r.Stderr.Length > 0) output.WriteLine("node 0 stderr:\n" + r.Stderr);
            if (worker.Stderr.Length > 0) output.WriteLine("worker stderr:\n" + worker.Stderr);

            ThreadedGuests.AssertSameResult(expected, r, $"{guest} on 2 namespaced nodes ({cluster.LinkDescription}), run {run} of {runs}",
                $"ip netns exec {cluster.NsA} {LoopbackCluster.Binary}", ["--cluster", cluster.ConfigPath, .. options], g.ClusterTimeout * 2);
            Assert.False(r.Stderr.Contains(" lost: ", StringComparison.Ordinal), $"a node was reported lost:\n{r.Stderr}");
            Assert.True(workerDone, $"worker 1 still runs 10 s after node 0 exited; its stderr:\n{worker.Stderr}");
            Assert.True(worker.ExitCode == 0, $"worker 1 exited {worker.ExitCode}; its stderr:\n{worker.Stderr}");
            AssertTrafficCrossedTheLink(cluster, r.Stderr, linkBytes);
            var left = cluster.WaitForNoProcesses(Leftover);
            Assert.True(left.Count == 0, $"processes of {cluster.ConfigPath} still running: {string.Join(", ", left)}");
        }
    }

    /// <summary>
    /// ucx with no ucx_tls across two namespaces of one kernel: node 0 and the worker see each other's boot id with a
    /// different network namespace and leave shared memory out (UCX's shared-memory wake-ups do not cross namespaces),
    /// so the guest gives qemu's result, its messages cross the link, and node 1's route in --stats names no
    /// shared-memory transport.
    /// </summary>
    [Fact]
    public void UcxWithoutUcxTlsLeavesSharedMemoryOutBetweenNamespaces()
    {
        const string guest = "mt_condvar";
        var g = ThreadedGuests.Load(guest);
        var expected = ThreadedGuests.Expected(g);
        using var cluster = new NetnsCluster(NetnsLink.Delay, "ucx", ucxTls: null);
        var linkBefore = cluster.LinkBytes();
        using var worker = cluster.StartWorker(g.Env);
        var options = new List<string> { "--stats", g.Binary };
        options.AddRange(g.Spec.Args);
        var r = cluster.RunNode0(options, g.Env, g.Spec.Stdin, g.ClusterTimeout * 2);
        bool workerDone = worker.WaitForExit(TimeSpan.FromSeconds(10));
        var linkAfter = cluster.LinkBytes();
        long linkBytes = linkAfter.Received - linkBefore.Received + linkAfter.Sent - linkBefore.Sent;
        output.WriteLine($"{guest} on ucx without ucx_tls: node 0 {r.Describe()}; worker {(workerDone ? "exit " + worker.ExitCode : "still running")}; " +
                         $"{linkBytes} bytes crossed the link\nnode 0 stderr:\n{r.Stderr}\nworker stderr:\n{worker.Stderr}");
        ThreadedGuests.AssertSameResult(expected, r, $"{guest} on 2 namespaced nodes over ucx without ucx_tls",
            $"ip netns exec {cluster.NsA} {LoopbackCluster.Binary}", ["--cluster", cluster.ConfigPath, .. options], g.ClusterTimeout * 2);
        Assert.True(workerDone && worker.ExitCode == 0, $"worker 1: {(workerDone ? "exit " + worker.ExitCode : "still running")}; its stderr:\n{worker.Stderr}");
        AssertTrafficCrossedTheLink(cluster, r.Stderr, linkBytes);
        var route = UcxRoute().Match(r.Stderr);
        Assert.True(route.Success, $"no UCX route for node 1 in node 0's --stats:\n{r.Stderr}");
        Assert.Contains("tcp", route.Groups["lanes"].Value);
        foreach (var sm in new[] { "sysv", "posix", "cma", "knem", "xpmem" })
            Assert.DoesNotContain(sm, route.Groups["lanes"].Value);
        var left = cluster.WaitForNoProcesses(Leftover);
        Assert.True(left.Count == 0, $"processes of {cluster.ConfigPath} still running: {string.Join(", ", left)}");
    }

    [GeneratedRegex(@"node 1 \([0-9.]+:\d+\)\s+sent[^\n]*\(ucx (?<lanes>[^\n]*)\)")]
    private static partial Regex UcxRoute();

    /// <summary>Remote faults fewer than this say little about the link's latency (their median is not checked).</summary>
    const int FaultsForLatency = 20;

    /// <summary>
    /// Node 1's line in node 0's cluster stats shows messages both ways, the link carried at least their body bytes,
    /// and (with enough remote faults) node 1's median wait for a page is at least the link's shortest round trip (for
    /// reads and writes only when nothing read ahead was used: a fault can join a read-ahead already on its way).
    /// </summary>
    void AssertTrafficCrossedTheLink(NetnsCluster cluster, string stderr, long linkBytes)
    {
        var t = NodeTransportLine().Match(stderr);
        Assert.True(t.Success && t.Groups["addr"].Value == $"{cluster.AddressB}:{NetnsCluster.Port1}",
            $"no transport line for node 1 ({cluster.AddressB}:{NetnsCluster.Port1}) in node 0's --stats:\n{stderr}");
        long sentMsgs = long.Parse(t.Groups["sm"].Value), sentBytes = long.Parse(t.Groups["sb"].Value);
        long recvMsgs = long.Parse(t.Groups["rm"].Value), recvBytes = long.Parse(t.Groups["rb"].Value);
        Assert.True(sentMsgs > 0 && recvMsgs > 0, $"node 1 exchanged no messages ({cluster.Transport}):\n{t.Value}");
        Assert.True(linkBytes >= sentBytes + recvBytes,
            $"the link carried {linkBytes} bytes, less than the {sentBytes + recvBytes} body bytes node 1 sent and received over " +
            $"{cluster.Transport}: its messages went another way (shared memory?)\n{t.Value}");

        var f = RemoteFaultsLine().Match(stderr, t.Index + t.Length);
        Assert.True(f.Success, $"no remote-faults line under node 1's transport line:\n{stderr}");
        long reads = long.Parse(f.Groups["rn"].Value), writes = long.Parse(f.Groups["wn"].Value);
        double p50Read = double.Parse(f.Groups["rp"].Value, CultureInfo.InvariantCulture);
        double p50Write = double.Parse(f.Groups["wp"].Value, CultureInfo.InvariantCulture);
        double leastRoundTripUs = 2 * (cluster.Link.DelayMs - cluster.Link.JitterMs) * 1000;
        output.WriteLine($"node 1: {sentMsgs} msgs / {sentBytes} B sent, {recvMsgs} msgs / {recvBytes} B received; remote faults: " +
            $"read {reads} (p50 {p50Read} us), write {writes} (p50 {p50Write} us); shortest round trip {leastRoundTripUs:F0} us");
        // a read or write that joined a read-ahead request already on its way (data forwarding, which also takes pages
        // ahead for writing) waits less than a round trip
        var ahead = ReadAheadLine().Match(stderr, t.Index + t.Length);
        bool readAhead = ahead.Success && long.Parse(ahead.Groups["used"].Value) > 0;
        // quantiles are bucket midpoints, within about 3%
        if (reads >= FaultsForLatency && !readAhead)
            Assert.True(p50Read >= 0.95 * leastRoundTripUs, $"node 1's read faults took {p50Read} us (median), less than the link's round trip of {leastRoundTripUs:F0} us\n{f.Value}");
        if (writes >= FaultsForLatency && !readAhead)
            Assert.True(p50Write >= 0.95 * leastRoundTripUs, $"node 1's write faults took {p50Write} us (median), less than the link's round trip of {leastRoundTripUs:F0} us\n{f.Value}");
    }

    [GeneratedRegex(@"node 1 \((?<addr>[0-9.]+:\d+)\)\s+sent\s+(?<sm>\d+) msgs\s+(?<sb>\d+) B\s+received\s+(?<rm>\d+) msgs\s+(?<rb>\d+) B")]
    private static partial Regex NodeTransportLine();

    [GeneratedRegex(@"forwarding: pages read ahead \d+, used (?<used>\d+)")]
    private static partial Regex ReadAheadLine();

    [GeneratedRegex(@"remote faults: read (?<rn>\d+) mean [0-9.]+ us p50 (?<rp>[0-9.]+) p99 [0-9.]+ max [0-9.]+; write (?<wn>\d+) mean [0-9.]+ us p50 (?<wp>[0-9.]+)")]
    private static partial Regex RemoteFaultsLine();

    /// <summary>The link really has the latency the other tests claim (TCP round trips of one byte, A to B).</summary>
    [Fact]
    public void TheLinkHasTheConfiguredLatency()
    {
        using var cluster = new NetnsCluster(NetnsLink.Delay, "tcp");
        output.WriteLine(cluster.LinkDescription);
        var rtts = cluster.MeasureRoundTripsMs(30);
        var sorted = rtts.Order().ToList();
        double median = sorted[sorted.Count / 2];
        output.WriteLine($"round trips (ms): min {sorted[0]:F2}, median {median:F2}, max {sorted[^1]:F2}");
        // 0.2 ms ± 0.05 ms each way: a round trip takes at least 0.3 ms; far more means the link is broken (or the
        // host is swamped)
        double least = 2 * (NetnsLink.Delay.DelayMs - NetnsLink.Delay.JitterMs);
        Assert.InRange(sorted[0], least - 0.05, double.MaxValue);
        Assert.InRange(median, least, 50);
    }

    /// <summary>
    /// Node 1 is lost while the guest runs: SIGKILLed while par_mandel (2 threads) computes, or its link taken down
    /// (no FIN, only silence) while stdin_echo waits for input. Node 0 must exit 69 with exactly one stderr line
    /// naming node 1 (<c>dqemu-native: node 1 (10.x.y.2:7401) lost: ...</c>) within a few seconds (node_timeout = 2
    /// s for the silent case), and no process may be left.
    /// </summary>
    public static TheoryData<string, string> LossesAndTransports()
    {
        var d = new TheoryData<string, string>();
        foreach (var how in new[] { "kill", "link-down", "partition" })
            foreach (var t in LoopbackCluster.Transports)
                d.Add(how, t);
        return d;
    }

    [Theory]
    [MemberData(nameof(LossesAndTransports))]
    public void LosingNode1MidRunEndsNode0With69NamingIt(string how, string transport)
    {
        const int nodeTimeout = 2;
        bool kill = how == "kill";
        string binary;
        List<string> guestArgs;
        if (kill)
        {
            binary = ParMandel();
            guestArgs = ["2"];
        }
        else
        {
            binary = Path.Combine(GuestRunner.GuestBinaryDir, "stdin_echo"); // reads a stdin that stays open: runs until stopped
            if (!File.Exists(binary)) Assert.Fail($"guest binary {binary} is missing; run ./build.sh (or toolchains/build-guests.sh)");
            guestArgs = [];
        }
        var env = new Dictionary<string, string>(GuestRunner.StandardGuestEnvironment);
        using var cluster = new NetnsCluster(NetnsLink.Delay, transport, $"node_timeout = {nodeTimeout}");
        output.WriteLine(cluster.LinkDescription);

        using var worker = cluster.StartWorker(env);
        // --strace: its first line shows the guest runs, so the mesh is up
        using var node0 = cluster.StartNode0(["--strace", binary, .. guestArgs], env, holdStdinOpen: true);
        bool started = node0.WaitForStderrLine(l => StraceLine().IsMatch(l), TimeSpan.FromSeconds(30));
        Assert.True(started, $"the guest did not start within 30 s; node 0 stderr:\n{node0.Stderr}\nworker stderr:\n{worker.Stderr}");
        Thread.Sleep(100);
        if (node0.HasExited) Assert.Fail($"node 0 exited ({node0.ExitCode}) before node 1 was lost (the guest was too short?)\n{node0.Stderr}");

        var sw = Stopwatch.StartNew();
        if (kill) worker.Kill();
        else if (how == "partition") cluster.Partition();
        else cluster.CutLink();
        var limit = TimeSpan.FromSeconds(kill ? 5 : nodeTimeout + 4);
        bool exited = node0.WaitForExit(limit + TimeSpan.FromSeconds(10));
        double seconds = sw.Elapsed.TotalSeconds;
        bool workerExited = worker.WaitForExit(TimeSpan.FromSeconds(nodeTimeout + 8));
        var errors = node0.StderrLines.Where(l => !StraceLine().IsMatch(l)).ToList();
        output.WriteLine($"{transport}: node 0: {(exited ? "exit " + node0.ExitCode : "still running")} {seconds:F2} s after the {how}; " +
            $"worker: {(workerExited ? "exit " + worker.ExitCode : "still running")}");
        output.WriteLine("node 0 stderr without strace lines:\n" + string.Join('\n', errors));
        output.WriteLine("worker stderr:\n" + worker.Stderr);

        Assert.True(exited, $"node 0 did not exit within {(limit + TimeSpan.FromSeconds(10)).TotalSeconds} s of node 1's loss");
        Assert.Equal(69, node0.ExitCode);
        Assert.InRange(seconds, 0, limit.TotalSeconds);
        var naming = errors.Where(l => l.Contains("node 1", StringComparison.Ordinal)).ToList();
        Assert.True(naming.Count == 1, $"expected one line naming node 1 on node 0's stderr, got {naming.Count}:\n{string.Join('\n', errors)}");
        Assert.StartsWith($"dqemu-native: node 1 ({cluster.AddressB}:{NetnsCluster.Port1}) lost: ", naming[0]);
        Assert.True(workerExited, $"worker 1 still runs after its link went down; its stderr:\n{worker.Stderr}");
        if (!kill) Assert.Equal(69, worker.ExitCode); // it lost node 0 the same way
        if (how == "partition")
        {
            Assert.Contains("node 0", worker.Stderr);
            cluster.Heal(); // the link comes back after both gave up: nothing may start again
            Thread.Sleep(500);
        }
        var left = cluster.WaitForNoProcesses(Leftover);
        Assert.True(left.Count == 0, $"processes of {cluster.ConfigPath} still running: {string.Join(", ", left)}");
    }

    /// <summary>
    /// A partition shorter than node_timeout: every frame is dropped both ways for 2 s while two threads on the two nodes
    /// hand a mutex and a condition variable back and forth (par_pingpong), then the link comes back. TCP (and UCX's
    /// TCP transport) retransmit what was lost: the guest ends with qemu-aarch64's output and no node is reported lost.
    /// </summary>
    [Theory]
    [MemberData(nameof(TransportNames))]
    public void APartitionShorterThanTheNodeTimeoutIsRiddenOut(string transport)
    {
        const int nodeTimeout = 10;
        string binary = ThreadedGuests.Bench("par_pingpong");
        string[] args = ["2", PartitionRounds.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        var env = new Dictionary<string, string>(GuestRunner.StandardGuestEnvironment);
        var qemu = GuestRunner.FindOnPath("qemu-aarch64") ?? throw new Xunit.Sdk.XunitException("qemu-aarch64 not found; run toolchains/install.sh");
        var expected = GuestRunner.Run(qemu, [binary, .. args], env, null, null, TimeSpan.FromSeconds(120));
        Assert.Equal(0, expected.ExitCode);

        using var cluster = new NetnsCluster(NetnsLink.Delay, transport, $"node_timeout = {nodeTimeout}");
        output.WriteLine(cluster.LinkDescription);
        using var worker = cluster.StartWorker(env);
        using var node0 = cluster.StartNode0([binary, .. args], env, holdStdinOpen: false);
        // the hand-offs are under way once pages cross the link steadily
        var start = cluster.LinkBytes();
        bool flowing = SpinWait.SpinUntil(() =>
        {
            Thread.Sleep(20);
            var now = cluster.LinkBytes();
            return now.Received - start.Received + now.Sent - start.Sent > 400_000 || node0.HasExited;
        }, TimeSpan.FromSeconds(60));
        Assert.True(flowing && !node0.HasExited,
            $"the guest did not get going across the link (node 0 {(node0.HasExited ? "exited " + node0.ExitCode : "runs")})\n{node0.Stderr}\n{worker.Stderr}");
        cluster.Partition();
        var before = cluster.LinkBytes();
        Thread.Sleep(2000);
        var during = cluster.LinkBytes();
        cluster.Heal();
        bool cutWhileRunning = !node0.HasExited;
        bool exited = node0.WaitForExit(TimeSpan.FromSeconds(120));
        bool workerExited = worker.WaitForExit(TimeSpan.FromSeconds(15));
        output.WriteLine($"{transport}: node 0 {(exited ? "exit " + node0.ExitCode : "still running")}, worker " +
                         $"{(workerExited ? "exit " + worker.ExitCode : "still running")}; during the partition {during.Received - before.Received} bytes " +
                         $"reached node 0's end; {cluster.DelayLine?.Dropped} frames dropped in all");
        output.WriteLine("node 0 stderr:\n" + node0.Stderr + "\nworker stderr:\n" + worker.Stderr);
        Assert.True(cutWhileRunning, "the guest ended during the partition: it was too short to show anything");
        Assert.True(exited, "node 0 did not end within 120 s of the link coming back");
        Assert.Equal(expected.ExitCode, node0.ExitCode);
        Assert.Equal(expected.Stdout, node0.Stdout);
        Assert.DoesNotContain(" lost: ", node0.Stderr + worker.Stderr);
        Assert.True(workerExited && worker.ExitCode == 0, $"worker: {(workerExited ? "exit " + worker.ExitCode : "still running")}\n{worker.Stderr}");
        var left = cluster.WaitForNoProcesses(Leftover);
        Assert.True(left.Count == 0, $"processes of {cluster.ConfigPath} still running: {string.Join(", ", left)}");
    }

    /// <summary>par_pingpong's rounds in the partition test: a few seconds over the delayed link (the cut comes after some 50).</summary>
    const int PartitionRounds = 8000;

    public static TheoryData<string> TransportNames()
    {
        var d = new TheoryData<string>();
        foreach (var t in LoopbackCluster.Transports) d.Add(t);
        return d;
    }

    [GeneratedRegex(@"^\d+ [a-z_0-9]+\(")]
    private static partial Regex StraceLine();

    /// <summary>bench/parallel/par_mandel built for AArch64.</summary>
    static string ParMandel() => ThreadedGuests.Bench("par_mandel");
}
