using System.Globalization;
using System.Text;
using Spectre.Console;
using static Dqemu.Sweep.Format;

namespace Dqemu.Sweep;

/// <summary>summary.csv, summary.md and the console table: one row per configuration (<see cref="ConfigSummary"/>).</summary>
internal static class SummaryReport
{
    public const string CsvHeader =
        "program,size,transport,nodes,threads,runs,failed,median_s,min_s,speedup_vs_1node_1thread,speedup_vs_1node_same_threads," +
        "median_roi_s,roi_speedup_vs_1node_1thread," +
        "median_user_s,median_sys_s,median_faults,median_bytes_moved,median_fault_mean_us,median_fault_p99_us,median_fault_wait_s,first_failure";

    private const string Legend =
        "Medians of the runs that matched qemu-aarch64's output (failed runs are counted, not timed). speed-up = median(1 node, " +
        "1 thread) / median; vs 1 node = median(1 node, same threads) / median. user/sys: CPU seconds of all nodes (getrusage of " +
        "the reaped children). faults: remote faults of all nodes per run; mean us: their count-weighted mean wait; p99: the " +
        "largest per-node p99 (reads or writes); MB moved: transport body bytes sent by all nodes. ROI: seconds in the " +
        "program's region of interest (its parallel phase, from PARSEC's hooks) and its speed-up over 1 node, 1 thread. 1-node runs (transport -) " +
        "use a tcp cluster file and open no connection.";

    public static void WriteCsv(string path, IEnumerable<ConfigSummary> rows)
    {
        using var w = new StreamWriter(path);
        w.WriteLine(CsvHeader);
        foreach (var s in rows)
        {
            var c = s.Config;
            w.WriteLine(Csv.Line(Csv.Text(c.Program.Name), Csv.Text(s.Size), Csv.Text(c.Column), Csv.Num(c.Nodes), Csv.Num(c.Threads),
                Csv.Num(s.Runs), Csv.Num(s.Failed), Csv.Num(s.MedianS, "0.0000"), Csv.Num(s.MinS, "0.0000"),
                Csv.Num(s.SpeedupVsBaseline, "0.000"), Csv.Num(s.SpeedupVsOneNode, "0.000"),
                Csv.Num(s.MedianRoiS, "0.0000"), Csv.Num(s.RoiSpeedupVsBaseline, "0.000"),
                Csv.Num(s.MedianUserS, "0.000"), Csv.Num(s.MedianSysS, "0.000"), Csv.Num(s.Faults, "0"), Csv.Num(s.BytesMoved, "0"),
                Csv.Num(s.FaultMeanUs, "0.0"), Csv.Num(s.FaultP99Us, "0.0"), Csv.Num(s.FaultWaitS, "0.000"), Csv.Text(s.FirstFailure)));
        }
    }

    private static readonly string[] Columns =
        ["program", "transport", "nodes", "threads", "ok", "median s", "min s", "speed-up", "vs 1 node", "ROI s", "ROI speed-up",
         "user s", "sys s", "faults", "mean us", "p99 us", "MB moved", "notes"];

    /// <summary>program, transport and notes are text; the rest are numbers.</summary>
    private static bool IsText(int column) => column is 0 or 1 or 17;

    private static string[] Cells(ConfigSummary s)
    {
        var c = s.Config;
        return [c.Program.Name, c.Column, Int(c.Nodes), Int(c.Threads), $"{s.Runs - s.Failed}/{s.Runs}",
                F(s.MedianS, "0.000"), F(s.MinS, "0.000"), X(s.SpeedupVsBaseline), X(s.SpeedupVsOneNode),
                F(s.MedianRoiS, "0.000"), X(s.RoiSpeedupVsBaseline),
                F(s.MedianUserS, "0.00"), F(s.MedianSysS, "0.00"), F(s.Faults, "0"), F(s.FaultMeanUs, "0.0"), F(s.FaultP99Us, "0.0"),
                F(s.BytesMoved / 1e6, "0.0"), Short(s.FirstFailure)];
    }

    public static void WriteMarkdown(string path, IEnumerable<ConfigSummary> rows, SweepOptions o)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# PARSEC cluster sweep ({DateTime.Now:yyyy-MM-dd HH:mm})");
        sb.AppendLine();
        sb.AppendLine($"Size {o.Size}, {o.Runs} alternating runs per configuration, {o.Cores} host CPU(s) per node " +
                      $"(of {Environment.ProcessorCount}), transports {string.Join(", ", o.Transports)}.");
        sb.AppendLine();
        ResultTable.AppendMarkdown(sb, Columns, IsText, rows.Select(Cells));
        sb.AppendLine();
        sb.AppendLine(Legend);
        File.WriteAllText(path, sb.ToString());
    }

    /// <summary>The table (<see cref="ResultTable.Print"/>), a failed configuration's ok cell in red, then one line per configuration with failures.</summary>
    public static void Print(IEnumerable<ConfigSummary> rows, SweepOptions o)
    {
        ResultTable.Print(Columns, IsText, rows.Select(s =>
        {
            var cells = Cells(s).Select(Markup.Escape).ToArray();
            if (s.Failed > 0) cells[4] = $"[red]{cells[4]}[/]";
            return cells;
        }));
        foreach (var s in rows.Where(s => s.Failed > 0))
            AnsiConsole.MarkupLine($"[red]{s.Failed} of {s.Runs} failed[/] {Markup.Escape(s.Config.Label)}: {Markup.Escape(s.FirstFailure)}");
        AnsiConsole.WriteLine(Legend);
    }
}
