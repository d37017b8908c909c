using System.Diagnostics;
using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Cluster;

/// <summary>
/// Milestone 1 of the cluster: node 0 starts its local workers, they connect over loopback and stay idle while
/// the guest runs on node 0, and everyone leaves when the guest ends — with exactly the one-node output and
/// status. Plus the failures: a bad cluster file (78, file:line), a node that never joins (69, named), a
/// worker killed mid-run (69 within seconds, named), and never a process left behind.
/// </summary>
public class ClusterRunTests(ITestOutputHelper output)
{
    static readonly TimeSpan Leftover = TimeSpan.FromSeconds(5);

    public static TheoryData<string, int> GuestsAndSizes()
    {
        var d = new TheoryData<string, int>();
        foreach (var g in new[] { "demo", "printf_fmt", "dup_fcntl", "mt_condvar", "mt_exit_while_running", "abort_sig", "undef_insn" })
            foreach (int n in new[] { 2, 3 })
                d.Add(g, n);
        return d;
    }

    [Theory]
    [MemberData(nameof(GuestsAndSizes))]
    public void ClusterRunEqualsOneNodeRun(string guest, int nodes)
    {
        var (binary, spec, env) = Guest(guest);
        using var cluster = new LoopbackCluster(nodes);

        var one = RunIn(LoopbackCluster.Binary, [binary, .. spec.Args], env, spec.Stdin);
        var many = RunIn(LoopbackCluster.Binary, ["--cluster", cluster.ConfigPath, binary, .. spec.Args], env, spec.Stdin);
        output.WriteLine($"one node: {one.Describe()} in {one.Elapsed.TotalMilliseconds:F0} ms; {nodes} nodes: {many.Describe()} in {many.Elapsed.TotalMilliseconds:F0} ms");
        output.WriteLine(many.Stderr);

        Assert.False(many.TimedOut, "the cluster run timed out");
        Assert.Equal(one.ExitCode, many.ExitCode);
        Assert.Equal(one.Stdout, many.Stdout);
        Assert.Equal(one.StdoutBytes, many.StdoutBytes);
        Assert.DoesNotContain("lost", many.Stderr);
        Assert.Empty(cluster.WaitForNoProcesses(Leftover));
    }

    [Fact]
    public void StatsPrintEveryNodesTransportCounters()
    {
        var (binary, spec, env) = Guest("demo");
        using var cluster = new LoopbackCluster(3);
        var r = RunIn(LoopbackCluster.Binary, ["--cluster", cluster.ConfigPath, "--stats", binary], env, null);
        output.WriteLine(r.Stderr);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("dqemu-native stats:", r.Stderr);        // node 0's own, as in a one-node run
        Assert.Contains("dqemu-native cluster stats", r.Stderr);
        long sent = 0, received = 0;
        for (int i = 0; i < 3; i++)
        {
            var m = System.Text.RegularExpressions.Regex.Match(r.Stderr,
                $@"node {i} \(127\.0\.0\.1:{cluster.Ports[i]}\)\s+sent\s+(\d+) msgs\s+\d+ B\s+received\s+(\d+) msgs\s+\d+ B");
            Assert.True(m.Success, $"no transport line for node {i}");
            sent += long.Parse(m.Groups[1].Value);
            received += long.Parse(m.Groups[2].Value);
        }
        // every message sent was received; a worker's counters are taken before it sends its Stopped answer,
        // which node 0 does count: one message more received than sent per worker
        Assert.Equal(sent + 2, received);
        Assert.Empty(cluster.WaitForNoProcesses(Leftover));
    }

    [Fact]
    public void BadClusterFileExits78WithFileAndLine()
    {
        var (binary, _, env) = Guest("demo");
        using var cluster = new LoopbackCluster(2);
        File.WriteAllText(cluster.ConfigPath, "[cluster]\ntransport = \"tcp\"\n[[node]]\nid = 0\naddress = \"127.0.0.1:1\"\ncores = many\n");
        var r = RunIn(LoopbackCluster.Binary, ["--cluster", cluster.ConfigPath, binary], env, null);
        Assert.Equal(78, r.ExitCode);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith($"dqemu-native: {cluster.ConfigPath}:6:", lines[0]);
        Assert.Empty(r.StdoutBytes);

        // a worker started by hand reads the same file and fails the same way
        var w = RunIn(LoopbackCluster.Binary, ["--cluster", cluster.ConfigPath, "--node", "1"], env, null);
        Assert.Equal(78, w.ExitCode);
        Assert.Contains($"{cluster.ConfigPath}:6:", w.Stderr);
    }

    [Fact]
    public void ANodeThatNeverJoinsExits69NamingIt()
    {
        var (binary, _, env) = Guest("demo");
        // node 1 is "started by hand" (start = false), and nobody does
        using var cluster = new LoopbackCluster(2, "connect_timeout = 1", i => i == 1 ? "start = false" : null);
        var r = RunIn(LoopbackCluster.Binary, ["--cluster", cluster.ConfigPath, binary], env, null);
        output.WriteLine(r.Stderr);
        Assert.Equal(69, r.ExitCode);
        Assert.Contains($"node 1 at 127.0.0.1:{cluster.Ports[1]}", r.Stderr);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.InRange(r.Elapsed.TotalSeconds, 0.9, 10);
        Assert.Empty(r.StdoutBytes);
        Assert.Empty(cluster.WaitForNoProcesses(Leftover));
    }

    [Fact]
    public void AWorkerThatCannotListenStopsTheStartWith69()
    {
        var (binary, _, env) = Guest("demo");
        using var cluster = new LoopbackCluster(3, "connect_timeout = 5");
        // node 1's port is taken by a plain listener that never handshakes: worker 1 (which accepts node 2)
        // cannot listen and gives up, and node 0 names it at once instead of waiting out the timeout
        using var squatter = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, cluster.Ports[1]);
        squatter.Start();
        var r = RunIn(LoopbackCluster.Binary, ["--cluster", cluster.ConfigPath, binary], env, null);
        output.WriteLine(r.Stderr);
        Assert.Equal(69, r.ExitCode);
        Assert.Contains($"node 1 (127.0.0.1:{cluster.Ports[1]})", r.Stderr);
        Assert.Contains("cannot listen", r.Stderr);
        Assert.InRange(r.Elapsed.TotalSeconds, 0, 4);
        Assert.Empty(r.StdoutBytes);
        Assert.Empty(cluster.WaitForNoProcesses(Leftover));
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(3, 1)]
    [InlineData(3, 2)]
    public void KillingAWorkerMidRunEndsEveryNodeWith69(int nodes, int victim)
    {
        var (binary, _, env) = Guest("stdin_echo");
        using var cluster = new LoopbackCluster(nodes);
        // stdin_echo blocks reading a stdin that stays open: a guest that runs until something stops it.
        // --strace shows when the guest is running (so the cluster is connected).
        using var run = RunningNode0.Start(cluster, binary, env);
        var node0 = run.Process;
        run.WaitForGuest();
        int pid = cluster.WaitForWorker(victim, TimeSpan.FromSeconds(5));
        Thread.Sleep(200);
        var sw = Stopwatch.StartNew();
        Process.GetProcessById(pid).Kill(); // SIGKILL
        bool exited = node0.WaitForExit(TimeSpan.FromSeconds(10));
        double seconds = sw.Elapsed.TotalSeconds;
        if (exited) node0.WaitForExit();
        output.WriteLine($"node 0 exited {(exited ? node0.ExitCode.ToString() : "not")} {seconds:F2} s after the kill");
        output.WriteLine(run.Stderr);
        Assert.True(exited, "node 0 did not exit within 10 s of the worker's death");
        Assert.Equal(69, node0.ExitCode);
        Assert.InRange(seconds, 0, 5);
        var lost = run.Stderr.Split('\n').Where(l => l.StartsWith("dqemu-native: ", StringComparison.Ordinal) && l.Contains(" lost: ")).ToList();
        // node 0 and every surviving worker print one line each, all naming the killed node
        Assert.Equal(nodes - 1, lost.Count);
        Assert.All(lost, l => Assert.StartsWith($"dqemu-native: node {victim} (127.0.0.1:{cluster.Ports[victim]}) lost: ", l));
        Assert.Contains(lost, l => l.EndsWith("reported to node 0]", StringComparison.Ordinal) || l.EndsWith("[seen by node 0]", StringComparison.Ordinal));
        Assert.Empty(cluster.WaitForNoProcesses(Leftover));
    }

    [Fact]
    public void KillingNode0EndsTheWorkers()
    {
        var (binary, _, env) = Guest("stdin_echo");
        using var cluster = new LoopbackCluster(3);
        using var run = RunningNode0.Start(cluster, binary, env);
        var node0 = run.Process;
        run.WaitForGuest();
        Assert.Equal(3, cluster.Processes().Count);
        var sw = Stopwatch.StartNew();
        node0.Kill(); // SIGKILL: no goodbye; the workers see the connection close (and the parent-death signal)
        Assert.True(node0.WaitForExit(TimeSpan.FromSeconds(10)));
        var left = cluster.WaitForNoProcesses(TimeSpan.FromSeconds(5));
        output.WriteLine($"workers gone {sw.Elapsed.TotalSeconds:F2} s after node 0's death");
        Assert.Empty(left);
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>
    /// Node 0 running stdin_echo-like guests under --strace, with stdin held open; stderr is collected and
    /// the first ioctl( line shows the guest is running (so the cluster is connected). Dispose kills what is left.
    /// </summary>
    sealed class RunningNode0 : IDisposable
    {
        readonly StringBuilder _stderr = new();
        readonly ManualResetEventSlim _guestRunning = new();
        readonly Task<string> _stdout;
        public Process Process { get; }

        RunningNode0(Process p)
        {
            Process = p;
            p.ErrorDataReceived += (_, e) =>
            {
                if (e.Data == null) return;
                lock (_stderr) _stderr.AppendLine(e.Data);
                if (e.Data.Contains("ioctl(")) _guestRunning.Set();
            };
            p.BeginErrorReadLine();
            _stdout = p.StandardOutput.ReadToEndAsync();
        }

        public static RunningNode0 Start(LoopbackCluster cluster, string binary, Dictionary<string, string> env)
        {
            var psi = new ProcessStartInfo(LoopbackCluster.Binary)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = cluster.Dir,
            };
            foreach (var a in new[] { "--cluster", cluster.ConfigPath, "--strace", binary }) psi.ArgumentList.Add(a);
            psi.Environment.Clear();
            foreach (var (k, v) in env) psi.Environment[k] = v;
            return new RunningNode0(Process.Start(psi)!);
        }

        public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

        public void WaitForGuest() => Assert.True(_guestRunning.Wait(TimeSpan.FromSeconds(30)), "the guest did not start: " + Stderr);

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            try { Process.StandardInput.Close(); } catch (IOException) { }
            _stdout.Wait(TimeSpan.FromSeconds(5));
            Process.Dispose();
        }
    }

    static (string Binary, GuestSpec Spec, Dictionary<string, string> Env) Guest(string name)
    {
        GuestRunner.RequireRepoRoot();
        var binary = Path.Combine(GuestRunner.GuestBinaryDir, name);
        if (!File.Exists(binary)) Assert.Fail($"guest binary {binary} is missing; run ./build.sh (or toolchains/build-guests.sh)");
        if (!File.Exists(LoopbackCluster.Binary)) Assert.Fail($"{LoopbackCluster.Binary} is missing; run ./build.sh");
        var spec = GuestSpec.Parse(File.ReadAllLines(Path.Combine(GuestRunner.GuestSourceDir, name + ".c")));
        var env = new Dictionary<string, string>(GuestRunner.StandardGuestEnvironment);
        foreach (var (k, v) in spec.Env) env[k] = v;
        return (binary, spec, env);
    }

    /// <summary>One run in a fresh working directory (guests may create files there).</summary>
    static ProcessResult RunIn(string exe, IEnumerable<string> args, Dictionary<string, string> env, string? stdin)
    {
        var dir = GuestRunner.CreateTempDirectory("cluster-run");
        try { return GuestRunner.Run(exe, args, env, stdin, dir, TimeSpan.FromSeconds(60)); }
        finally { GuestRunner.DeleteDirectory(dir); }
    }
}
