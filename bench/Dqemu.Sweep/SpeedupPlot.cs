using ScottPlot;

namespace Dqemu.Sweep;

/// <summary>
/// speedup-&lt;program&gt;.svg: speed-up over 1 node with 1 thread against the node count, one line per transport and
/// thread count (each starting at the 1-node run with that thread count), and the ideal line nodes × cores per node
/// (every host CPU the cluster was given fully used).
/// </summary>
internal static class SpeedupPlot
{
    public static void Save(string path, string program, IReadOnlyList<ConfigSummary> rows, int coresPerNode)
    {
        var plot = new Plot();
        plot.Font.Set("DejaVu Sans");
        var oneNode = rows.Where(r => r.Config.Nodes == 1).ToDictionary(r => r.Config.Threads);
        var transports = rows.Where(r => r.Config.Nodes > 1).Select(r => r.Config.Column).Distinct().ToList();
        var threads = rows.Select(r => r.Config.Threads).Distinct().Order().ToList();
        int maxNodes = rows.Max(r => r.Config.Nodes);
        var palette = new ScottPlot.Palettes.Category10();
        var markers = new[] { MarkerShape.FilledCircle, MarkerShape.FilledSquare, MarkerShape.FilledTriangleUp, MarkerShape.FilledDiamond };
        double top = coresPerNode * maxNodes;

        // with --nodes 1 only there is no transport: one line per thread count of its 1-node point
        var lines = transports.Count > 0 ? transports : [SweepConfig.NoTransport];
        for (int ti = 0; ti < lines.Count; ti++)
            for (int hi = 0; hi < threads.Count; hi++)
            {
                int t = threads[hi];
                var points = new List<(double X, double Y)>();
                if (oneNode.TryGetValue(t, out var one) && one.SpeedupVsBaseline is double y1) points.Add((1, y1));
                foreach (var r in rows.Where(r => r.Config.Nodes > 1 && r.Config.Column == lines[ti] && r.Config.Threads == t).OrderBy(r => r.Config.Nodes))
                    if (r.SpeedupVsBaseline is double y) points.Add((r.Config.Nodes, y));
                if (points.Count == 0) continue;
                var s = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
                s.LegendText = $"{(lines[ti] == SweepConfig.NoTransport ? "1 node" : lines[ti])}, {t} thread{(t == 1 ? "" : "s")}";
                s.Color = palette.GetColor(hi);
                s.MarkerShape = markers[ti % markers.Length];
                s.MarkerSize = 8;
                s.LineWidth = 2;
                top = Math.Max(top, points.Max(p => p.Y));
            }

        // solid and grey: Skia's SVG writer does not support dash patterns
        var ideal = plot.Add.Scatter(new double[] { 1, maxNodes }, new double[] { coresPerNode, coresPerNode * maxNodes });
        ideal.LegendText = $"ideal (nodes × {coresPerNode} core{(coresPerNode == 1 ? "" : "s")} per node)";
        ideal.Color = Colors.Gray;
        ideal.MarkerSize = 0;
        ideal.LineWidth = 1;

        var ticks = Enumerable.Range(1, maxNodes).Select(n => (double)n).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks, ticks.Select(n => n.ToString("0")).ToArray());
        plot.Axes.SetLimits(0.8, maxNodes + 0.2, 0, top * 1.15);
        plot.Title($"{program}: speed-up over 1 node with 1 thread (median wall time)");
        plot.XLabel("nodes");
        plot.YLabel("speed-up (×)");
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SaveSvg(path, 800, 500);
    }
}
