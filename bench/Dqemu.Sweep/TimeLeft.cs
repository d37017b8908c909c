namespace Dqemu.Sweep;

/// <summary>
/// The estimated time left of a sweep: each run still to come is expected to take the median wall time of the
/// finished runs of its configuration, or, for a configuration with none finished yet, the median of all finished
/// runs; the run under way counts with that estimate less the time it has already taken. Thread-safe: the live
/// display asks from its own thread while the sweep adds finished runs.
/// </summary>
internal sealed class TimeLeft(IReadOnlyList<PlannedRun> plan)
{
    private readonly Dictionary<int, List<double>> _walls = new();
    private readonly List<double> _all = new();
    private readonly Lock _lock = new();

    public void Finished(PlannedRun run, double? wall)
    {
        if (wall is not double w) return;
        lock (_lock)
        {
            if (!_walls.TryGetValue(run.Config, out var list)) _walls[run.Config] = list = new();
            list.Add(w);
            _all.Add(w);
        }
    }

    /// <summary>The time left from run <paramref name="current"/> on (an index into the plan), or null until some run has finished.</summary>
    public TimeSpan? Estimate(int current, TimeSpan currentElapsed)
    {
        lock (_lock)
        {
            if (_all.Count == 0) return null;
            double overall = Stats.Median(_all)!.Value;
            var medians = _walls.ToDictionary(kv => kv.Key, kv => Stats.Median(kv.Value)!.Value);
            double Expected(int config) => medians.TryGetValue(config, out double m) ? m : overall;
            double left = 0;
            for (int i = current; i < plan.Count; i++) left += Expected(plan[i].Config);
            if (current < plan.Count) left -= Math.Min(currentElapsed.TotalSeconds, Expected(plan[current].Config));
            return TimeSpan.FromSeconds(Math.Max(0, left));
        }
    }
}
