namespace Dqemu.Sweep;

/// <summary>
/// One row of summary.csv: a configuration's runs reduced to medians. Only runs that matched the reference count
/// towards the times and stats (a timed-out or crashed run's wall time measures nothing); <see cref="Failed"/> says
/// how many did not, and <see cref="FirstFailure"/> why.
/// </summary>
internal sealed record ConfigSummary(
    SweepConfig Config, string Size, int Runs, int Failed,
    double? MedianS, double? MinS, double? MedianRoiS, double? MedianUserS, double? MedianSysS,
    double? Faults, double? BytesMoved, double? FaultMeanUs, double? FaultP99Us, double? FaultWaitS,
    string FirstFailure)
{
    /// <summary>median(1 node, 1 thread) / median: the speed-up over the sequential baseline.</summary>
    public double? SpeedupVsBaseline { get; init; }

    /// <summary>median(1 node, same threads) / median: what adding nodes gained (null for 1 node).</summary>
    public double? SpeedupVsOneNode { get; init; }

    /// <summary>The same as <see cref="SpeedupVsBaseline"/> for the time in the region of interest (<see cref="RoiTime"/>): the parallel phase's speed-up.</summary>
    public double? RoiSpeedupVsBaseline { get; init; }

    public static List<ConfigSummary> From(IReadOnlyList<SweepConfig> configs, IReadOnlyList<RunRecord> records)
    {
        var rows = configs.Select(c =>
        {
            var runs = records.Where(r => r.Config == c).ToList();
            var ok = runs.Where(r => r.Ok).ToList();
            return new ConfigSummary(c, runs.FirstOrDefault()?.Size ?? "", runs.Count, runs.Count - ok.Count,
                Stats.Median(ok.Select(r => r.WallS)), Stats.Min(ok.Select(r => r.WallS)), Stats.Median(ok.Select(r => r.RoiS)),
                Stats.Median(ok.Select(r => r.UserS)), Stats.Median(ok.Select(r => r.SysS)),
                Stats.Median(ok.Select(r => r.Stats?.Faults)), Stats.Median(ok.Select(r => r.Stats?.BytesMoved)),
                Stats.Median(ok.Select(r => r.Stats?.FaultMeanUs)), Stats.Median(ok.Select(r => r.Stats?.FaultP99Us)),
                Stats.Median(ok.Select(r => r.Stats?.FaultWaitSeconds)),
                runs.FirstOrDefault(r => !r.Ok)?.Reason ?? "");
        }).ToList();

        ConfigSummary? OneNode(ProgramSpec p, int threads) =>
            rows.FirstOrDefault(s => s.Config.Program == p && s.Config.Nodes == 1 && s.Config.Threads == threads);
        return rows.Select(s => s with
        {
            SpeedupVsBaseline = Ratio(OneNode(s.Config.Program, 1)?.MedianS, s.MedianS),
            SpeedupVsOneNode = s.Config.Nodes == 1 ? null : Ratio(OneNode(s.Config.Program, s.Config.Threads)?.MedianS, s.MedianS),
            RoiSpeedupVsBaseline = Ratio(OneNode(s.Config.Program, 1)?.MedianRoiS, s.MedianRoiS),
        }).ToList();
    }

    private static double? Ratio(double? a, double? b) => a is double x && b is double y && y > 0 ? x / y : null;
}
