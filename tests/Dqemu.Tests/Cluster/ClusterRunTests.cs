using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Cluster;

/// <summary>
/// Milestone 1 of the cluster: node 0 starts its local workers, they connect over loopback and stay idle while
/// the guest runs on node 0, and everyone leaves when the guest ends — with exactly the one-node output and
/// status. Plus the failures: a bad cluster file (78, file:line), a node that never joins (69, named), a
/// worker killed mid-run (69 within seconds, named), a ucx_tls UCX cannot use (69, one line), and never a process
/// left behind. Every case that runs nodes runs on each transport (tcp and ucx).
/// </summary>
public partial class ClusterRunTests(ITestOutputHelper output)
{
    static readonly TimeSpan Leftover = TimeSpan.FromSeconds(5);

    public static TheoryData<string, int, string> GuestsSizesAndTransports()
    {
        var d = new TheoryData<string, int, string>();
        foreach (var g in new[] { "demo", "printf_fmt", "dup_fcntl", "mt_condvar", "mt_exit_while_running", "abort_sig", "undef_insn" })
            foreach (int n in new[] { 2, 3 })
                foreach (var t in LoopbackCluster.Transports)
                    d.Add(g, n, t);
        return d;
    }

    public static TheoryData<string> Transports() => LoopbackCluster.TransportData();

    [Theory]
    [MemberData(nameof(GuestsSizesAndTransports))]
    public void ClusterRunEqualsOneNodeRun(string guest, int nodes, string transport)
    {
        var (binary, spec, env) = Guest(guest);
        using var cluster = new LoopbackCluster(transport, nodes);

        var one = RunIn(LoopbackCluster.Binary, [binary, .. spec.Args], env, spec.Stdin);
        var many = RunIn(LoopbackCluster.Binary, ["--cluster", cluster.ConfigPath, binary, .. spec.Args], env, spec.Stdin);
        output.WriteLine($"one node: {one.Describe()} in {one.Elapsed.TotalMilliseconds:F0} ms; {nodes} nodes over {transport}: {many.Describe()} in {many.Elapsed.TotalMilliseconds:F0} ms");
        output.WriteLine(many.Stderr);

        Assert.False(many.TimedOut, "the cluster run timed out");
        Assert.Equal(one.ExitCode, many.ExitCode);
        Assert.Equal(one.Stdout, many.Stdout);
        Assert.Equal(one.StdoutBytes, many.StdoutBytes);
        Assert.DoesNotContain("lost", many.Stderr);
        Assert.Empty(cluster.WaitForNoProcesses(Leftover));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void StatsPrintEveryNodesTransportCounters(string transport)
    {
        var (binary, spec, env) = Guest("demo");
        using var cluster = new LoopbackCluster(transport, 3);
        var r = RunIn(LoopbackCluster.Binary, ["--cluster", cluster.ConfigPath, "--stats", binary], env, null);
        output.WriteLine(r.Stderr);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("dqemu-native stats:", r.Stderr);        // node 0's own, as in a one-node run
        Assert.Contains($"dqemu-native cluster stats ({transport}, 3 nodes", r.Stderr);
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
        using var cluster = new LoopbackCluster("tcp", 2);
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

    [Theory]
    [MemberData(nameof(Transports))]
    public void ANodeThatNeverJoinsExits69NamingIt(string transport)
    {
        var (binary, _, env) = Guest("demo");
        // node 1 is "started by hand" (start = false), and nobody does
        using var cluster = new LoopbackCluster(transport, 2, "connect_timeout = 1", i => i == 1 ? "start = false" : null);
        var r = RunIn(LoopbackCluster.Binary, ["--cluster", cluster.ConfigPath, binary], env, null);
        output.WriteLine(r.Stderr);
        Assert.Equal(69, r.ExitCode);
        Assert.Contains($"node 1 at 127.0.0.1:{cluster.Ports[1]}", r.Stderr);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.InRange(r.Elapsed.TotalSeconds, 0.9, 10);
        Assert.Empty(r.StdoutBytes);
        Assert.Empty(cluster.WaitForNoProcesses(Leftover));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void AWorkerThatCannotListenStopsTheStartWith69(string transport)
    {
        var (binary, _, env) = Guest("demo");
        using var cluster = new LoopbackCluster(transport, 3, "connect_timeout = 5");
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

    /// <summary>Who starts the workers in <see cref="KillingAWorkerMidRunEndsEveryNodeWith69"/>.</summary>
    public const string ByNode0 = "started by node 0", ByHand = "started by hand";

    public static TheoryData<int, int, string, string> KillCases()
    {
        var d = new TheoryData<int, int, string, string>();
        foreach (var t in LoopbackCluster.Transports)
            foreach (var workers in new[] { ByNode0, ByHand })
                foreach (var (nodes, victim) in new[] { (2, 1), (3, 1), (3, 2) })
                    d.Add(nodes, victim, t, workers);
        return d;
    }

    /// <summary>
    /// A worker SIGKILLed while the guest runs: every other node prints one line naming it and exits 69 within
    /// seconds, and nothing is left. Workers node 0 started share its stderr (each line's tag says which node printed
    /// it, and node 0's status is the one visible); workers started by hand (<c>start = false</c>) have their own
    /// stderr and status, so each one's single line and its 69 are checked too.
    /// </summary>
    [Theory]
    [MemberData(nameof(KillCases))]
    public void KillingAWorkerMidRunEndsEveryNodeWith69(int nodes, int victim, string transport, string workers)
    {
        var (binary, _, env) = Guest("stdin_echo");
        bool byHand = workers == ByHand;
        using var cluster = new LoopbackCluster(transport, nodes, "", i => byHand && i > 0 ? "start = false" : null);
        var hand = new Dictionary<int, CapturedProcess>();
        try
        {
            if (byHand)
                for (int i = 1; i < nodes; i++)
                    hand[i] = CapturedProcess.Start(LoopbackCluster.Binary, ["--cluster", cluster.ConfigPath, "--node", i.ToString()], env, cluster.Dir, holdStdinOpen: false);
            // stdin_echo blocks reading a stdin that stays open: a guest that runs until something stops it.
            // --strace shows when the guest is running (so the cluster is connected).
            using var run = RunningNode0.Start(cluster, binary, env);
            var node0 = run.Process;
            run.WaitForGuest();
            int pid = byHand ? hand[victim].Pid : cluster.WaitForWorker(victim, TimeSpan.FromSeconds(5));
            Thread.Sleep(200);
            var sw = Stopwatch.StartNew();
            Process.GetProcessById(pid).Kill(); // SIGKILL
            bool exited = node0.WaitForExit(TimeSpan.FromSeconds(10));
            double seconds = sw.Elapsed.TotalSeconds;
            if (exited) node0.WaitForExit();
            var survivors = hand.Where(h => h.Key != victim).ToList();
            var workersExited = survivors.ToDictionary(h => h.Key, h => h.Value.WaitForExit(TimeSpan.FromSeconds(10)));
            double workerSeconds = sw.Elapsed.TotalSeconds;
            output.WriteLine($"{transport}, workers {workers}: node 0 exited {(exited ? node0.ExitCode.ToString() : "not")} {seconds:F2} s after the kill");
            output.WriteLine(run.Stderr);
            foreach (var (n, p) in survivors)
                output.WriteLine($"worker {n}: {(workersExited[n] ? "exit " + p.ExitCode : "still running")}; stderr:\n{p.Stderr}");

            Assert.True(exited, "node 0 did not exit within 10 s of the worker's death");
            Assert.Equal(69, node0.ExitCode);
            Assert.InRange(seconds, 0, 5);
            string prefix = $"dqemu-native: node {victim} (127.0.0.1:{cluster.Ports[victim]}) lost: ";
            // node 0's stderr: its --strace lines, and the lost lines of every node that shares it (node 0 and the
            // workers it started), nothing else
            var node0Lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !StraceLine().IsMatch(l)).ToList();
            var printers = byHand ? new[] { 0 } : Enumerable.Range(0, nodes).Where(n => n != victim).ToArray();
            AssertOneLostLineEach(node0Lines, printers, prefix, "node 0's stderr");
            foreach (var (n, p) in survivors)
            {
                Assert.True(workersExited[n], $"worker {n} still runs 10 s after node {victim} was killed; its stderr:\n{p.Stderr}");
                Assert.True(p.ExitCode == 69, $"worker {n} exited {p.ExitCode}, not 69; its stderr:\n{p.Stderr}");
                AssertOneLostLineEach(p.StderrLines.Where(l => l.Length > 0).ToList(), [n], prefix, $"worker {n}'s stderr");
            }
            if (survivors.Count > 0) Assert.InRange(workerSeconds, 0, 5);
            Assert.Empty(cluster.WaitForNoProcesses(Leftover));
        }
        finally
        {
            foreach (var p in hand.Values) p.Dispose();
        }
    }

    /// <summary>
    /// A worker SIGKILLed while an optimization is at work (2 nodes, node 0 starts the workers): node 0 prints one
    /// line naming it, exits 69 within 5 s, prints nothing else but strace lines (no trace, no second report), and
    /// nothing is left. "split": par_false_sharing's two threads on different nodes, their page split after 4
    /// hand-offs; "forward": par_prodcons with read-ahead and forward_wakes (every round a wake naming 8 pages and the
    /// consumer's node fetching them); "migrate": par_pairs under placement = "auto" started round-robin, whose first
    /// plans (50-150 ms in) move a thread of each pair, the kill coming 150 ms after the first clone, around those moves;
    /// "crowd": par_prodcons under placement = "auto" started round-robin (its two threads are crowded onto one node
    /// after 2-3 windows); "spread": par_pairs under placement = "auto" started locally, one pair spread to node 1 about
    /// 150 ms in, the kill coming then. Apart from
    /// "migrate" and "spread" the kill comes 300 ms after the guest created its first thread.
    /// </summary>
    [Theory]
    [InlineData("split", "tcp")]
    [InlineData("split", "ucx")]
    [InlineData("forward", "tcp")]
    [InlineData("forward", "ucx")]
    [InlineData("migrate", "tcp")]
    [InlineData("migrate", "ucx")]
    [InlineData("crowd", "tcp")]
    [InlineData("spread", "tcp")]
    public void KillingAWorkerWhileAnOptimizationWorksEndsNode0With69(string optimization, string transport)
    {
        var (binary, args, extra) = optimization switch
        {
            "split" => (ThreadedGuests.LoadBench("par_false_sharing").Binary, new[] { "2", "40000000000" }, "split_pages = true\nsplit_after = 4"),
            "forward" => (ThreadedGuests.LoadBench("par_prodcons").Binary, new[] { "10000000" }, "forward_pages = true\nforward_wakes = true"),
            "migrate" => (ThreadedGuests.LoadBench("par_pairs").Binary, new[] { "100000" }, "placement = \"auto\"\nauto_start = \"round-robin\""),
            "crowd" => (ThreadedGuests.LoadBench("par_prodcons").Binary, new[] { "10000000" }, "placement = \"auto\"\nauto_start = \"round-robin\""),
            "spread" => (ThreadedGuests.LoadBench("par_pairs").Binary, new[] { "1000" }, "placement = \"auto\""),
            _ => throw new ArgumentException(optimization),
        };
        var env = new Dictionary<string, string>(GuestRunner.StandardGuestEnvironment);
        using var cluster = new LoopbackCluster(transport, 2, extra);
        using var run = RunningNode0.Start(cluster, binary, env, args, readyMarker: "clone(");
        var node0 = run.Process;
        run.WaitForGuest();
        int pid = cluster.WaitForWorker(1, TimeSpan.FromSeconds(5));
        Thread.Sleep(optimization is "migrate" or "spread" ? 150 : 300);
        Assert.False(node0.HasExited, $"the guest ended before the kill; make it run longer:\n{run.Stderr}");
        var sw = Stopwatch.StartNew();
        Process.GetProcessById(pid).Kill(); // SIGKILL
        bool exited = node0.WaitForExit(TimeSpan.FromSeconds(10));
        double seconds = sw.Elapsed.TotalSeconds;
        if (exited) node0.WaitForExit();
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !StraceLine().IsMatch(l)).ToList();
        output.WriteLine($"{optimization} over {transport}: node 0 exited {(exited ? node0.ExitCode.ToString() : "not")} {seconds:F2} s after the kill");
        output.WriteLine(string.Join('\n', lines));
        Assert.True(exited, "node 0 did not exit within 10 s of the worker's death");
        Assert.Equal(69, node0.ExitCode);
        Assert.InRange(seconds, 0, 5);
        AssertOneLostLineEach(lines, [0], $"dqemu-native: node 1 (127.0.0.1:{cluster.Ports[1]}) lost: ", "node 0's stderr");
        Assert.Empty(cluster.WaitForNoProcesses(Leftover));
    }

    /// <summary>
    /// <paramref name="lines"/> are exactly one lost line per node in <paramref name="printers"/>, each starting with
    /// <paramref name="prefix"/> (the killed node's name) and tagged with the node that printed it.
    /// </summary>
    static void AssertOneLostLineEach(List<string> lines, int[] printers, string prefix, string where)
    {
        string all = string.Join('\n', lines);
        Assert.True(lines.Count == printers.Length,
            $"{where}: expected {printers.Length} line(s) (one per node {string.Join(", ", printers)}), got {lines.Count}:\n{all}");
        Assert.All(lines, l => Assert.StartsWith(prefix, l));
        foreach (int n in printers)
        {
            int count = lines.Count(l => l.EndsWith($"[seen by node {n}]", StringComparison.Ordinal) || l.EndsWith($"reported to node {n}]", StringComparison.Ordinal));
            Assert.True(count == 1, $"{where}: {count} lines printed by node {n}, expected 1:\n{all}");
        }
    }

    [GeneratedRegex(@"^\d+ [a-z_0-9]+\(")]
    private static partial Regex StraceLine();

    [Theory]
    [MemberData(nameof(Transports))]
    public void KillingNode0EndsTheWorkers(string transport)
    {
        var (binary, _, env) = Guest("stdin_echo");
        using var cluster = new LoopbackCluster(transport, 3);
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

    /// <summary>
    /// transport = "ucx" with a ucx_tls UCX cannot use: a transport it does not have ("no_such_tl"), or one that
    /// cannot reach another process ("self"). Node 0 must end with 69 and exactly one stderr line naming the problem
    /// (the workers it started must not add lines of their own: the mistake is the cluster file's, one report is
    /// enough) within seconds, print nothing on stdout and leave no process. Each case runs <see cref="BadTlsRuns"/>
    /// times, fresh each time: what the workers manage to print before node 0 stops them depends on timing.
    /// </summary>
    [Theory]
    [InlineData("no_such_tl", 2)]
    [InlineData("no_such_tl", 3)]
    [InlineData("self", 3)]
    public void AnUnusableUcxTlsEndsNode0With69InOneLine(string tls, int nodes)
    {
        var (binary, _, env) = Guest("demo");
        LoopbackCluster.RequireTransport("ucx");
        for (int run = 1; run <= BadTlsRuns; run++)
        {
            using var cluster = new LoopbackCluster("ucx", nodes, $"ucx_tls = \"{tls}\"\nconnect_timeout = 5");
            var r = RunIn(LoopbackCluster.Binary, ["--cluster", cluster.ConfigPath, binary], env, null);
            var left = cluster.WaitForNoProcesses(Leftover);
            string what = $"ucx_tls \"{tls}\" on {nodes} nodes, run {run} of {BadTlsRuns}";
            output.WriteLine($"{what}: {r.Describe()} in {r.Elapsed.TotalMilliseconds:F0} ms; stderr:\n{r.Stderr}");
            // every problem of the run at once: this is a report for whoever mends the transport
            var problems = new List<string>();
            if (r.TimedOut) problems.Add("node 0 did not end within 60 s (killed)");
            else if (r.ExitCode != 69) problems.Add($"node 0 {r.Describe()}, expected exit 69");
            var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (lines.Length != 1) problems.Add($"expected one line on stderr, got {lines.Length}");
            if (lines.Length > 0 && !(lines[0].StartsWith("dqemu-native: ", StringComparison.Ordinal) && lines[0].Contains("ucx_tls", StringComparison.Ordinal)))
                problems.Add("the first line does not start with 'dqemu-native: ' and name ucx_tls");
            if (r.Elapsed.TotalSeconds > 4) problems.Add($"node 0 took {r.Elapsed.TotalSeconds:F1} s (more than 4)");
            if (r.StdoutBytes.Length > 0) problems.Add($"{r.StdoutBytes.Length} bytes on stdout");
            if (left.Count > 0) problems.Add($"processes of {cluster.ConfigPath} still running {Leftover.TotalSeconds} s later: {string.Join(", ", left)}");
            if (problems.Count > 0)
                Assert.Fail($"{what}:\n- {string.Join("\n- ", problems)}\nstderr:\n{r.Stderr}");
        }
    }

    const int BadTlsRuns = 10;

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

        RunningNode0(Process p, string readyMarker)
        {
            Process = p;
            p.ErrorDataReceived += (_, e) =>
            {
                if (e.Data == null) return;
                lock (_stderr) _stderr.AppendLine(e.Data);
                if (e.Data.Contains(readyMarker)) _guestRunning.Set();
            };
            p.BeginErrorReadLine();
            _stdout = p.StandardOutput.ReadToEndAsync();
        }

        /// <summary>Starts node 0 with --strace; <see cref="WaitForGuest"/> waits for a strace line holding
        /// <paramref name="readyMarker"/> (stdin_echo's ioctl: the cluster is connected and the guest runs).</summary>
        public static RunningNode0 Start(LoopbackCluster cluster, string binary, Dictionary<string, string> env,
            IEnumerable<string>? guestArgs = null, string readyMarker = "ioctl(")
        {
            var psi = new ProcessStartInfo(LoopbackCluster.Binary)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = cluster.Dir,
            };
            foreach (var a in new[] { "--cluster", cluster.ConfigPath, "--strace", binary }.Concat(guestArgs ?? [])) psi.ArgumentList.Add(a);
            psi.Environment.Clear();
            foreach (var (k, v) in env) psi.Environment[k] = v;
            return new RunningNode0(Process.Start(psi)!, readyMarker);
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

    /// <summary>One run in a fresh working directory (guests may create files there); a run that times out gets the
    /// diagnosis of its processes in its stderr (<see cref="ClusterDiagnosis"/>).</summary>
    static ProcessResult RunIn(string exe, IEnumerable<string> args, Dictionary<string, string> env, string? stdin)
    {
        var dir = GuestRunner.CreateTempDirectory("cluster-run");
        try { return GuestRunner.Run(exe, args, ClusterDiagnosis.Environment(env), stdin, dir, TimeSpan.FromSeconds(60), ClusterDiagnosis.Collect); }
        finally { GuestRunner.DeleteDirectory(dir); }
    }
}
