using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Cluster;

/// <summary>
/// Two nodes in two network namespaces joined by a link with latency (2 ms ± 0.5 ms each way; and a variant that
/// also drops 0.5% of the packets), see <see cref="NetnsCluster"/>: the worker is started by hand in namespace B
/// (<c>start = false</c>), node 0 runs the guest in namespace A. Every threaded guest (both builds) must give
/// qemu-aarch64's stdout and status; losing node 1 mid-run (SIGKILL, or its link taken down) must end node 0 with
/// 69 and one line naming node 1, and leave no process behind. Runs per guest: DQEMU_NETNS_RUNS (default 1).
/// </summary>
[Collection(MultiNodeCollection.Name)]
public partial class NetnsClusterTests(ITestOutputHelper output)
{
    static readonly TimeSpan Leftover = TimeSpan.FromSeconds(10);

    static int Runs => int.TryParse(Environment.GetEnvironmentVariable("DQEMU_NETNS_RUNS"), out var n) && n > 0 ? n : 1;

    public static TheoryData<string, string> GuestsAndLinks()
    {
        var d = new TheoryData<string, string>();
        // packet loss makes TCP wait for retransmission timeouts: that variant is opt-in (DQEMU_NETNS_LOSS=1)
        var links = Environment.GetEnvironmentVariable("DQEMU_NETNS_LOSS") == "1" ? new[] { "delay", "delay+loss" } : new[] { "delay" };
        foreach (var link in links)
            foreach (var g in ThreadedGuests.Names())
                d.Add(g, link);
        return d;
    }

    [Theory]
    [MemberData(nameof(GuestsAndLinks))]
    public void ThreadedGuestOnTwoNamespacedNodesEqualsQemu(string guest, string link)
    {
        var g = ThreadedGuests.Load(guest);
        var expected = ThreadedGuests.Expected(g);
        using var cluster = new NetnsCluster(NetnsLink.Parse(link));
        output.WriteLine(cluster.LinkDescription);
        int runs = Runs;
        for (int run = 1; run <= runs; run++)
        {
            using var worker = cluster.StartWorker(g.Env);
            var options = new List<string> { g.Binary };
            options.AddRange(g.Spec.Args);
            var r = cluster.RunNode0(options, g.Env, g.Spec.Stdin, g.ClusterTimeout * 2); // every page moves over the slower link
            bool workerDone = worker.WaitForExit(TimeSpan.FromSeconds(10));
            output.WriteLine($"{guest} over {link}, run {run}/{runs}: node 0 {r.Describe()}, {r.StdoutBytes.Length} bytes out, {r.Elapsed.TotalSeconds:F2} s; " +
                $"worker {(workerDone ? "exit " + worker.ExitCode : "still running")}");
            if (cluster.DelayLine is { } line)
                output.WriteLine($"delay line: {line.Forwarded} frames passed on, {line.Dropped} dropped");
            if (r.Stderr.Length > 0) output.WriteLine("node 0 stderr:\n" + r.Stderr);
            if (worker.Stderr.Length > 0) output.WriteLine("worker stderr:\n" + worker.Stderr);

            ThreadedGuests.AssertSameResult(expected, r, $"{guest} on 2 namespaced nodes ({cluster.LinkDescription}), run {run} of {runs}",
                $"ip netns exec {cluster.NsA} {LoopbackCluster.Binary}", ["--cluster", cluster.ConfigPath, .. options], g.ClusterTimeout * 2);
            Assert.False(r.Stderr.Contains(" lost: ", StringComparison.Ordinal), $"a node was reported lost:\n{r.Stderr}");
            Assert.True(workerDone, $"worker 1 still runs 10 s after node 0 exited; its stderr:\n{worker.Stderr}");
            Assert.True(worker.ExitCode == 0, $"worker 1 exited {worker.ExitCode}; its stderr:\n{worker.Stderr}");
            var left = cluster.WaitForNoProcesses(Leftover);
            Assert.True(left.Count == 0, $"processes of {cluster.ConfigPath} still running: {string.Join(", ", left)}");
        }
    }

    /// <summary>The link really has the latency the other tests claim (TCP round trips of one byte, A to B).</summary>
    [Fact]
    public void TheLinkHasTheConfiguredLatency()
    {
        using var cluster = new NetnsCluster(NetnsLink.Delay);
        output.WriteLine(cluster.LinkDescription);
        var rtts = cluster.MeasureRoundTripsMs(30);
        var sorted = rtts.Order().ToList();
        double median = sorted[sorted.Count / 2];
        output.WriteLine($"round trips (ms): min {sorted[0]:F2}, median {median:F2}, max {sorted[^1]:F2}");
        // 2 ms ± 0.5 ms each way: a round trip takes at least 3 ms; far more means the link is broken (or the host
        // is swamped)
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
    [Theory]
    [InlineData("kill")]
    [InlineData("link-down")]
    public void LosingNode1MidRunEndsNode0With69NamingIt(string how)
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
        using var cluster = new NetnsCluster(NetnsLink.Delay, $"node_timeout = {nodeTimeout}");
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
        else cluster.CutLink();
        var limit = TimeSpan.FromSeconds(kill ? 5 : nodeTimeout + 4);
        bool exited = node0.WaitForExit(limit + TimeSpan.FromSeconds(10));
        double seconds = sw.Elapsed.TotalSeconds;
        bool workerExited = worker.WaitForExit(TimeSpan.FromSeconds(nodeTimeout + 8));
        var errors = node0.StderrLines.Where(l => !StraceLine().IsMatch(l)).ToList();
        output.WriteLine($"node 0: {(exited ? "exit " + node0.ExitCode : "still running")} {seconds:F2} s after the {how}; " +
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
        var left = cluster.WaitForNoProcesses(Leftover);
        Assert.True(left.Count == 0, $"processes of {cluster.ConfigPath} still running: {string.Join(", ", left)}");
    }

    [GeneratedRegex(@"^\d+ [a-z_0-9]+\(")]
    private static partial Regex StraceLine();

    static readonly Lazy<string> parMandel = new(BuildParMandel);

    /// <summary>bench/parallel/par_mandel built for AArch64 (build/bench/par_mandel.aarch64 when it is up to date).</summary>
    static string ParMandel() => parMandel.Value;

    static string BuildParMandel()
    {
        var root = GuestRunner.RequireRepoRoot();
        var src = Path.Combine(root, "bench", "parallel", "par_mandel.c");
        if (!File.Exists(src)) Assert.Fail($"{src} is missing");
        var built = Path.Combine(root, "build", "bench", "par_mandel.aarch64");
        if (File.Exists(built) && File.GetLastWriteTimeUtc(built) >= File.GetLastWriteTimeUtc(src)) return built;
        var cc = GuestRunner.FindOnPath("aarch64-linux-gnu-gcc");
        if (cc == null) Assert.Fail("aarch64-linux-gnu-gcc not found; run toolchains/install.sh (Debian package gcc-aarch64-linux-gnu)");
        var dir = GuestRunner.CreateTempDirectory("par-mandel");
        var bin = Path.Combine(dir, "par_mandel.aarch64");
        var r = GuestRunner.Run(cc, ["-O2", "-static", "-pthread", "-o", bin, src], null, null, null, TimeSpan.FromSeconds(120));
        if (r.ExitCode != 0) Assert.Fail($"building {src} failed: {r.Describe()}\n{r.Stderr}");
        return bin;
    }
}
