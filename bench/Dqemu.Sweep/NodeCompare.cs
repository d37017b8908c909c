using System.Globalization;
using System.Text;
using Spectre.Console;
using static Dqemu.Sweep.Format;

namespace Dqemu.Sweep;

/// <summary>
/// --compare: one node, no cluster. Each program with 1 and 2 threads (those its thread policy accepts) as native
/// x86-64, under qemu-aarch64 and under plain ./dqemu-native, --runs times each, alternating like the sweep; every
/// run checked against qemu-aarch64's reference output. Writes compare-runs.csv (one row per run), compare.csv and
/// compare.md (medians), and prints the table.
/// </summary>
internal static class NodeCompare
{
    private static readonly int[] ThreadCounts = [1, 2];
    private static readonly string[] Tools = ["native", "qemu", "dqemu"];

    private sealed record Config(ProgramSpec Program, int Threads, string Tool)
    {
        public string Label => $"{Program.Name} {Tool} {Threads} thread{(Threads == 1 ? "" : "s")}";
    }

    private sealed record Record(Config Config, int Run, double? WallS, double? UserS, double? SysS, bool Ok, string Reason);

    private sealed record Row(ProgramSpec Program, int Threads, double? Native, double? Qemu, double? Dqemu, int Failed, string FirstFailure)
    {
        /// <summary>qemu time / dqemu time: how many times faster dqemu-native runs the guest than qemu-aarch64.</summary>
        public double? SpeedupVsQemu => Qemu is double q && Dqemu is double d && d > 0 ? q / d : null;

        /// <summary>dqemu time / native time: how many times slower than the native x86-64 build.</summary>
        public double? SlowdownVsNative => Native is double n && Dqemu is double d && n > 0 ? d / n : null;
    }

    public static int Run(SweepOptions o, ProgramManifest manifest)
    {
        var (programs, layout, qemu) = Preflight.All(o, manifest, native: true);
        Directory.CreateDirectory(o.Out);

        var configs = programs.SelectMany(p => ThreadCounts.Where(p.AcceptsThreads).SelectMany(t => Tools.Select(tool => new Config(p, t, tool)))).ToList();
        var refs = new ReferenceOutputs(qemu, layout, o.Size, o.Timeout, Path.Combine(o.Out, "reference"));
        Selection.MakeReferences(refs, configs.Select(c => (c.Program, c.Threads)));
        Console.WriteLine($"compare: {configs.Count} configurations × {o.Runs} runs, size {o.Size}, one node; output in {o.Out}");

        var records = new List<Record>();
        ProgressView.Run(RunPlan.Alternating(configs.Select(c => c.Label).ToList(), o.Runs), run =>
        {
            var c = configs[run.Config];
            string guest = layout.Aarch64(c.Program.Name);
            IReadOnlyList<string> command = c.Tool switch
            {
                "native" => [layout.X86_64(c.Program.Name)],
                "qemu" => [qemu, guest],
                _ => [o.Dqemu, guest],
            };
            var outcome = GuestRun.Run(command, c.Program, c.Program.ExpandArgs(o.Size, c.Threads, layout.Inputs(c.Program.Name)), o.Timeout);
            string? reason = GuestRun.Verdict(c.Program, refs.Get(c.Program, c.Threads), outcome, o.Timeout);
            var p = outcome.Process;
            var r = new Record(c, run.Round, p.WallSeconds, p.UserSeconds, p.SysSeconds, reason == null, reason ?? "");
            records.Add(r);
            return new RunDone(r.WallS, r.Ok, r.Ok ? $"{r.WallS:0.000} s (user {r.UserS:0.00} s, sys {r.SysS:0.00} s)" : r.Reason);
        });

        var rows = programs.SelectMany(p => ThreadCounts.Where(p.AcceptsThreads).Select(t =>
        {
            var mine = records.Where(r => r.Config.Program == p && r.Config.Threads == t).ToList();
            double? Median(string tool) => Stats.Median(mine.Where(r => r.Config.Tool == tool && r.Ok).Select(r => r.WallS));
            return new Row(p, t, Median("native"), Median("qemu"), Median("dqemu"), mine.Count(r => !r.Ok),
                           mine.FirstOrDefault(r => !r.Ok) is { } f ? $"{f.Config.Tool}: {f.Reason}" : "");
        })).ToList();

        WriteRuns(Path.Combine(o.Out, "compare-runs.csv"), records, o.Size);
        WriteCsv(Path.Combine(o.Out, "compare.csv"), rows, o.Size);
        WriteMarkdown(Path.Combine(o.Out, "compare.md"), rows, o);
        Print(rows);
        int failed = records.Count(r => !r.Ok);
        Console.WriteLine(failed == 0
            ? $"all {records.Count} runs matched the reference; files in {o.Out}"
            : $"{failed} of {records.Count} runs failed or did not match (compare-runs.csv); files in {o.Out}");
        return failed == 0 ? ExitStatus.Ok : ExitStatus.RunFailed;
    }

    private static void WriteRuns(string path, IEnumerable<Record> records, string size)
    {
        using var w = new StreamWriter(path);
        w.WriteLine("program,size,tool,threads,run,wall_s,user_s,sys_s,ok,reason");
        foreach (var r in records)
            w.WriteLine(Csv.Line(Csv.Text(r.Config.Program.Name), Csv.Text(size), r.Config.Tool, Csv.Num(r.Config.Threads), Csv.Num(r.Run),
                Csv.Num(r.WallS, "0.0000"), Csv.Num(r.UserS, "0.000"), Csv.Num(r.SysS, "0.000"), r.Ok ? "1" : "0", Csv.Text(r.Reason)));
    }

    private static void WriteCsv(string path, IEnumerable<Row> rows, string size)
    {
        using var w = new StreamWriter(path);
        w.WriteLine("program,size,threads,native_s,qemu_s,dqemu_s,dqemu_speedup_vs_qemu,dqemu_slowdown_vs_native,failed_runs,first_failure");
        foreach (var r in rows)
            w.WriteLine(Csv.Line(Csv.Text(r.Program.Name), Csv.Text(size), Csv.Num(r.Threads), Csv.Num(r.Native, "0.0000"), Csv.Num(r.Qemu, "0.0000"),
                Csv.Num(r.Dqemu, "0.0000"), Csv.Num(r.SpeedupVsQemu, "0.000"), Csv.Num(r.SlowdownVsNative, "0.000"), Csv.Num(r.Failed), Csv.Text(r.FirstFailure)));
    }

    private static readonly string[] Columns =
        ["program", "threads", "native s", "qemu s", "dqemu s", "vs qemu", "vs native", "failed", "notes"];

    private const string Legend =
        "Medians of the runs that matched qemu-aarch64's output. vs qemu = qemu time / dqemu time (dqemu-native's speed-up " +
        "over qemu-aarch64; above 1 it is faster); vs native = dqemu time / native x86-64 time (how many times slower than native).";

    /// <summary>program and notes are text; the rest are numbers.</summary>
    private static bool IsText(int column) => column is 0 or 8;

    private static string[] Cells(Row r) =>
        [r.Program.Name, Int(r.Threads), F(r.Native, "0.000"), F(r.Qemu, "0.000"), F(r.Dqemu, "0.000"),
         X(r.SpeedupVsQemu), X(r.SlowdownVsNative), Int(r.Failed),
         Short(r.FirstFailure)];

    private static void WriteMarkdown(string path, IEnumerable<Row> rows, SweepOptions o)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# PARSEC on one node: native vs qemu-aarch64 vs dqemu-native ({DateTime.Now:yyyy-MM-dd HH:mm})");
        sb.AppendLine();
        sb.AppendLine($"Size {o.Size}, {o.Runs} alternating runs each, {Environment.ProcessorCount} host CPUs.");
        sb.AppendLine();
        ResultTable.AppendMarkdown(sb, Columns, IsText, rows.Select(Cells));
        sb.AppendLine();
        sb.AppendLine(Legend);
        File.WriteAllText(path, sb.ToString());
    }

    private static void Print(IReadOnlyList<Row> rows)
    {
        ResultTable.Print(Columns, IsText, rows.Select(r => Cells(r).Select(Markup.Escape).ToArray()));
        foreach (var r in rows.Where(r => r.Failed > 0))
            AnsiConsole.MarkupLine($"[red]{r.Failed} failed[/] {Markup.Escape(r.Program.Name)} {r.Threads} thread(s): {Markup.Escape(r.FirstFailure)}");
        AnsiConsole.WriteLine(Legend);
    }
}
