using Dqemu.Sweep;
using Xunit;

namespace Dqemu.Tests.Sweep;

/// <summary>The sweep's plan: which configurations, in which order, the cluster files, the options and the time-left estimate.</summary>
public class SweepPlanTests
{
    private static readonly ProgramManifest Sample = ProgramManifest.Load(SweepTestFiles.Path("sample-programs.toml"));

    private static SweepOptions Options(params string[] args) => SweepOptions.Parse(args, "/repo");

    [Fact]
    public void RoundRStartsAtConfigurationRModCount()
    {
        var plan = RunPlan.Alternating(["a", "b", "c"], 4);
        Assert.Equal([0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 1, 2], plan.Select(p => p.Config));
        Assert.Equal([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4], plan.Select(p => p.Round));
        Assert.All(plan, p => Assert.Equal(4, p.Rounds));
        Assert.Equal("b", plan[3].Label);
    }

    [Fact]
    public void ConfigurationsRunOneNodeOnceAndSkipThreadCountsPow2Rejects()
    {
        var o = Options("--threads", "2,3,4", "--nodes", "2,3", "--transports", "tcp,ucx");
        var labels = SweepConfig.All(Sample.Programs, o).Select(c => $"{c.Program.Name} {c.Transport} {c.Nodes} {c.Threads}").ToList();
        Assert.Equal([
            // 1 node, with the 1-thread baseline added although --threads lacks it and --nodes lacks 1
            "blackscholes - 1 1", "blackscholes - 1 2", "blackscholes - 1 3", "blackscholes - 1 4",
            "blackscholes tcp 2 2", "blackscholes tcp 2 3", "blackscholes tcp 2 4",
            "blackscholes tcp 3 2", "blackscholes tcp 3 3", "blackscholes tcp 3 4",
            "blackscholes ucx 2 2", "blackscholes ucx 2 3", "blackscholes ucx 2 4",
            "blackscholes ucx 3 2", "blackscholes ucx 3 3", "blackscholes ucx 3 4",
            // fluidanimate is "pow2": no 3 threads
            "fluidanimate - 1 1", "fluidanimate - 1 2", "fluidanimate - 1 4",
            "fluidanimate tcp 2 2", "fluidanimate tcp 2 4", "fluidanimate tcp 3 2", "fluidanimate tcp 3 4",
            "fluidanimate ucx 2 2", "fluidanimate ucx 2 4", "fluidanimate ucx 3 2", "fluidanimate ucx 3 4",
        ], labels);
    }

    /// <summary>--variant: every configuration of more than one node once more per variant (the base first), labelled
    /// and shown as "transport name"; lines of one name accumulate; a variant's placement replaces round-robin.</summary>
    [Fact]
    public void VariantsRepeatTheMultiNodeConfigurations()
    {
        var o = Options("--threads", "2", "--nodes", "2", "--transports", "tcp", "--programs", "blackscholes",
            "--variant", "auto=placement = \"auto\"", "--variant", "nofwd=forward_pages = false", "--variant", "auto=split_pages = true");
        var configs = SweepConfig.All(Sample.Programs.Where(p => p.Name == "blackscholes"), o);
        Assert.Equal(["- 1 1", "- 1 2", "tcp 2 2", "tcp auto 2 2", "tcp nofwd 2 2"], configs.Select(c => $"{c.Column} {c.Nodes} {c.Threads}"));
        Assert.Equal("blackscholes tcp auto 2 nodes 2 threads", configs[3].Label);
        Assert.Equal("placement = \"auto\"\nsplit_pages = true", configs[3].Cluster.Lines);
        string auto = ClusterFile.Text("tcp", [1, 2], 1, 2, configs[3].Cluster.Lines);
        Assert.Contains("placement = \"auto\"\nsplit_pages = true\n[[node]]", auto);
        Assert.DoesNotContain("round-robin", auto);
        Assert.Contains("placement = \"round-robin\"\nforward_pages = false\n", ClusterFile.Text("tcp", [1, 2], 1, 2, configs[4].Cluster.Lines));
        foreach (var bad in new[] { "x", "=a = 1", "a b=c = 1", "a=nothing" })
            Assert.Contains("--variant", Assert.Throws<UsageException>(() => Options("--variant", bad)).Message);
    }

    [Fact]
    public void DefaultsAreTheDocumentedOnes()
    {
        var o = Options();
        Assert.Equal(["tcp", "ucx"], o.Transports);
        Assert.Equal([1, 2, 3], o.Nodes);
        Assert.Equal([1, 2, 4], o.Threads);
        Assert.Equal((3, 1, "bench", false), (o.Runs, o.Cores, o.Size, o.Compare));
        Assert.Null(o.Programs);
        Assert.Equal("/repo/dqemu-native", o.Dqemu);
        Assert.Equal("/repo/bench/parsec/programs.toml", o.Manifest);
        Assert.Matches(@"^/repo/build/sweep/\d{4}-\d\d-\d\d-\d{4}$", o.Out);
        var c = Options("--compare", "--runs=5", "--programs", "a,b", "--size", "test", "--out", "/tmp/x", "--timeout", "60");
        Assert.Equal((true, 5, "test", "/tmp/x", 60.0), (c.Compare, c.Runs, c.Size, c.Out, c.Timeout.TotalSeconds));
        Assert.Equal(["a", "b"], c.Programs);
    }

    [Theory]
    [InlineData("--nodes", "0", "--nodes: '0' is not a whole number from 1 to 64")]
    [InlineData("--threads", "1,x", "--threads: 'x' is not a whole number")]
    [InlineData("--transports", "tcp,rdma", "--transports: 'rdma' is not tcp or ucx")]
    [InlineData("--threads", ",", "--threads needs a comma-separated list")]
    [InlineData("--runs", "", "--runs: '' is not a whole number from 1 to 1000")]
    [InlineData("--frobnicate", "1", "unknown option '--frobnicate'")]
    public void BadOptionsAreUsageErrors(string option, string value, string expected)
    {
        var e = Assert.Throws<UsageException>(() => Options(option, value));
        Assert.Contains(expected, e.Message);
        Assert.Contains("needs a value", Assert.Throws<UsageException>(() => Options("--runs")).Message);
    }

    [Fact]
    public void ClusterFilePinsNodeIToItsOwnCpus()
    {
        string two = ClusterFile.Text("ucx", [21000, 21001], 1, 2);
        Assert.Equal("""
            [cluster]
            transport = "ucx"
            placement = "round-robin"
            [[node]]
            id = 0
            address = "127.0.0.1:21000"
            cores = 1
            cpus = "0"
            [[node]]
            id = 1
            address = "127.0.0.1:21001"
            cores = 1
            cpus = "1"

            """.Replace("\r\n", "\n"), two);
        // 3 nodes of 2 CPUs on a 4-CPU host: CPUs 0,1 / 2,3 / 0,1 (mod the host's count)
        string three = ClusterFile.Text("tcp", [1, 2, 3], 2, 4);
        Assert.Equal(["0,1", "2,3", "0,1"], three.Split('\n').Where(l => l.StartsWith("cpus")).Select(l => l.Split('"')[1]));
        Assert.Equal(3, three.Split('\n').Count(l => l == "cores = 2"));
    }

    [Fact]
    public void TimeLeftUsesEachConfigurationsMedianElseTheOverallOne()
    {
        var plan = RunPlan.Alternating(["a", "b"], 3); // a b | b a | a b
        var left = new TimeLeft(plan);
        Assert.Null(left.Estimate(0, TimeSpan.Zero));
        left.Finished(plan[0], 10); // a: 10 s
        // b has not run: it counts with the median of all (10); 5 runs to go from index 1
        Assert.Equal(50, left.Estimate(1, TimeSpan.Zero)!.Value.TotalSeconds, 6);
        left.Finished(plan[1], 2);  // b: 2 s
        left.Finished(plan[2], 4);  // b: 2, 4 → median 3
        // from index 3: a b a b... plan[3..] = a, a, b → 10 + 10 + 3, less the 4 s the current run (a) has taken
        Assert.Equal(19, left.Estimate(3, TimeSpan.FromSeconds(4))!.Value.TotalSeconds, 6);
        left.Finished(plan[3], null); // a skipped run changes nothing
        Assert.Equal(13, left.Estimate(4, TimeSpan.Zero)!.Value.TotalSeconds, 6);
    }

    [Fact]
    public void MedianOfEvenCountsIsTheMeanOfTheMiddleTwo()
    {
        Assert.Equal(2.5, Stats.Median(new double[] { 4, 1, 3, 2 }));
        Assert.Equal(3, Stats.Median(new double[] { 5, 1, 3 }));
        Assert.Null(Stats.Median(Array.Empty<double>()));
        Assert.Equal(2, Stats.Median(new double?[] { null, 2, null }));
    }

    [Fact]
    public void VerdictNamesTimeoutsExitsMissingFilesAndDifferences()
    {
        var bs = Sample.Get("blackscholes");
        var reference = new Reference("1.0\n"u8.ToArray(), 0, null);
        GuestOutcome Run(int exit, string? output, bool timedOut = false, string stderr = "") =>
            new(new ProcessOutcome(exit, timedOut, [], stderr, 1, 1, 0), output == null ? null : System.Text.Encoding.ASCII.GetBytes(output));
        var t = TimeSpan.FromSeconds(30);

        Assert.Null(GuestRun.Verdict(bs, reference, Run(0, "1.0000001\n"), t));
        Assert.Equal("timed out after 30 s", GuestRun.Verdict(bs, reference, Run(-1, null, timedOut: true), t));
        Assert.Equal("exit 1 (reference 0): dqemu-native: node 1 died",
                     GuestRun.Verdict(bs, reference, Run(1, "1.0\n", stderr: "guest line\ndqemu-native: node 1 died\ndqemu-native stats:\n  wall time 1 ms\n"), t));
        Assert.Equal("no output file 'prices.txt'", GuestRun.Verdict(bs, reference, Run(0, null), t));
        Assert.StartsWith("output differs: token 1 (line 1) differs", GuestRun.Verdict(bs, reference, Run(0, "2.0\n"), t));
        Assert.Equal("no reference: qemu-aarch64 timed out", GuestRun.Verdict(bs, new Reference(null, -1, "qemu-aarch64 timed out"), Run(0, "1.0\n"), t));
    }
}
