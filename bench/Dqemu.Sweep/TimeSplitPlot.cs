using ScottPlot;

namespace Dqemu.Sweep;

/// <summary>
/// time-split.svg: per program and configuration, the guest threads' wall-clock time — median wall time × guest
/// threads, since the threads live for about the whole run — as a stacked bar split into the time they spent waiting
/// for remote page faults (Σ over nodes of faults × mean wait, from --stats) and the rest (computing, syscalls,
/// futex and other waits). It shows how much of a slow-down the fault path explains; the split is approximate,
/// because threads that start late or end early make the bar taller than their real lifetime.
/// </summary>
internal static class TimeSplitPlot
{
    public static void Save(string path, IReadOnlyList<ConfigSummary> rows)
    {
        var plot = new Plot();
        plot.Font.Set("DejaVu Sans");
        var waitColor = Colors.Orange;
        var restColor = Colors.SteelBlue;
        var bars = new List<Bar>();
        var positions = new List<double>();
        var labels = new List<string>();
        double x = 0;
        string? last = null;
        foreach (var r in rows.Where(r => r.MedianS != null))
        {
            if (last != null && last != r.Config.Program.Name) x += 1; // a gap between programs
            last = r.Config.Program.Name;
            double total = r.MedianS!.Value * r.Config.Threads;
            double wait = Math.Min(total, r.FaultWaitS ?? 0);
            bars.Add(new Bar { Position = x, ValueBase = 0, Value = wait, FillColor = waitColor, LineWidth = 0 });
            bars.Add(new Bar { Position = x, ValueBase = wait, Value = total, FillColor = restColor, LineWidth = 0 });
            positions.Add(x);
            var c = r.Config;
            labels.Add($"{c.Program.Name} {(c.Nodes == 1 ? "1 node" : $"{c.Column} {c.Nodes} nodes")} {c.Threads}t");
            x += 1;
        }
        if (bars.Count > 0) plot.Add.Bars(bars);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions.ToArray(), labels.ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = 90;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 10 + 6.5f * Math.Max(10, labels.Count == 0 ? 10 : labels.Max(l => l.Length));
        plot.Axes.Margins(bottom: 0, top: 0.3); // room for the legend above the bars
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "waiting for remote faults (Σ nodes: faults × mean wait)", FillColor = waitColor });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "the rest (computing, syscalls, other waits)", FillColor = restColor });
        plot.ShowLegend(Alignment.UpperLeft);
        plot.Title("Guest thread time (median wall × threads): waiting for remote faults vs the rest");
        plot.YLabel("thread-seconds");
        plot.SaveSvg(path, Math.Max(900, 34 * positions.Count + 200), 650);
    }
}
