using Spectre.Console;

namespace Dqemu.Sweep;

/// <summary>
/// The cluster sweep: every configuration (<see cref="SweepConfig.All"/>) --runs times, alternating, each run a
/// loopback cluster of ./dqemu-native with --stats, checked against qemu-aarch64's output; then runs.csv,
/// summary.csv, summary.md and the plots in --out, and the summary table on the console.
/// </summary>
internal static class ClusterSweep
{
    private const int ConfigRefused = 78;   // ./dqemu-native's exit status for a cluster file it refuses (EX_CONFIG)
    private const int Unavailable = 69;     // ... and for a node that could not listen or be reached (EX_UNAVAILABLE)
    private const int PortAttempts = 3;

    public static int Run(SweepOptions o, ProgramManifest manifest)
    {
        var (programs, layout, qemu) = Preflight.All(o, manifest, native: false);

        var configs = SweepConfig.All(programs, o);
        Directory.CreateDirectory(o.Out);
        string clusterDir = Directory.CreateTempSubdirectory("dqemu-sweep-cluster-").FullName;
        try
        {
            var refs = new ReferenceOutputs(qemu, layout, o.Size, o.Timeout, Path.Combine(o.Out, "reference"));
            Selection.MakeReferences(refs, configs.Select(c => (c.Program, c.Threads)));

            int cpus = Environment.ProcessorCount;
            Console.WriteLine($"sweep: {configs.Count} configurations × {o.Runs} runs, size {o.Size}, transports {string.Join(",", o.Transports)}, " +
                              $"{o.Cores} CPU(s) per node of {cpus}; output in {o.Out}");
            var records = new List<RunRecord>();
            var unavailable = new Dictionary<string, string>(); // transport → why its runs are skipped
            var ports = new PortPool();
            var plan = RunPlan.Alternating(configs.Select(c => c.Label).ToList(), o.Runs);

            ProgressView.Run(plan, run =>
            {
                var c = configs[run.Config];
                RunRecord r;
                if (unavailable.TryGetValue(c.Transport, out var why))
                    r = new RunRecord(c, o.Size, run.Round, null, null, null, null, null, false, $"skipped: {why}");
                else
                {
                    r = RunOnce(c, run.Round, o, layout, refs.Get(c.Program, c.Threads), ports, clusterDir, cpus, out bool refused);
                    if (refused) unavailable[c.Transport] = r.Reason;
                }
                records.Add(r);
                return new RunDone(r.WallS, r.Ok, r.Ok ? Describe(r) : r.Reason);
            });

            var summary = ConfigSummary.From(configs, records);
            RunsCsv.Write(Path.Combine(o.Out, "runs.csv"), records);
            SummaryReport.WriteCsv(Path.Combine(o.Out, "summary.csv"), summary);
            SummaryReport.WriteMarkdown(Path.Combine(o.Out, "summary.md"), summary, o);
            foreach (var p in programs)
                SpeedupPlot.Save(Path.Combine(o.Out, $"speedup-{p.Name}.svg"), p.Name, summary.Where(s => s.Config.Program == p).ToList(), o.Cores);
            TimeSplitPlot.Save(Path.Combine(o.Out, "time-split.svg"), summary);
            SummaryReport.Print(summary, o);

            int failed = records.Count(r => !r.Ok);
            Console.WriteLine(failed == 0
                ? $"all {records.Count} runs matched the reference; files in {o.Out}"
                : $"{failed} of {records.Count} runs failed or did not match (reason column of {Path.Combine(o.Out, "runs.csv")}); files in {o.Out}");
            return failed == 0 ? ExitStatus.Ok : ExitStatus.RunFailed;
        }
        finally
        {
            Directory.Delete(clusterDir, recursive: true);
        }
    }

    /// <summary>
    /// One cluster run on fresh ports. Node 0 exiting with "cannot listen ... in use" (something took a port between
    /// the check and the bind) is retried on other ports. <paramref name="refused"/> is set when ./dqemu-native
    /// refused the cluster file for a transport other than tcp: that transport is not in this binary, and the sweep
    /// skips its remaining runs (each reported as such).
    /// </summary>
    private static RunRecord RunOnce(SweepConfig c, int round, SweepOptions o, ParsecLayout layout, Reference reference,
                                     PortPool ports, string clusterDir, int cpus, out bool refused)
    {
        refused = false;
        string transport = c.Transport == SweepConfig.NoTransport ? "tcp" : c.Transport;
        var args = c.Program.ExpandArgs(o.Size, c.Threads, layout.Inputs(c.Program.Name));
        GuestOutcome run;
        int attempt = 0;
        while (true)
        {
            int[] taken;
            try { taken = ports.Take(c.Nodes, TimeSpan.FromSeconds(60)); }
            catch (TimeoutException e) { return new RunRecord(c, o.Size, round, null, null, null, null, null, false, e.Message); }
            string file = Path.Combine(clusterDir, $"cluster-{transport}-{c.Nodes}.toml");
            File.WriteAllText(file, ClusterFile.Text(transport, taken, o.Cores, cpus, c.Nodes == 1 ? "" : c.Cluster.Lines));
            run = GuestRun.Run([o.Dqemu, "--cluster", file, "--stats", layout.Aarch64(c.Program.Name)], c.Program, args, o.Timeout);
            bool portTaken = run.Process.ExitCode == Unavailable && run.Process.Stderr.Contains("already in use", StringComparison.OrdinalIgnoreCase);
            if (!portTaken || ++attempt == PortAttempts) break;
        }

        var p = run.Process;
        var stats = StatsParser.Parse(p.Stderr);
        string? reason = GuestRun.Verdict(c.Program, reference, run, o.Timeout);
        if (p.ExitCode == ConfigRefused && reference.ExitCode != ConfigRefused && transport != "tcp")
        {
            refused = true;
            reason = $"transport {transport} not available: {GuestRun.LastError(p.Stderr)}";
        }
        return new RunRecord(c, o.Size, round, p.WallSeconds, RoiTime.Parse(p.Stderr), p.UserSeconds, p.SysSeconds, stats, reason == null, reason ?? "");
    }

    private static string Describe(RunRecord r)
    {
        var s = r.Stats;
        string faults = s?.Faults is long f && r.Config.Nodes > 1
            ? $", {f} faults{(s.FaultMeanUs is double m ? $" mean {m:0.0} us" : "")}, {(s.BytesMoved ?? 0) / 1e6:0.0} MB moved"
            : "";
        string roi = r.RoiS is double x ? $", ROI {x:0.000} s" : "";
        return $"{r.WallS:0.000} s (user {r.UserS:0.00} s, sys {r.SysS:0.00} s{roi}{faults})";
    }
}
