namespace Dqemu.Sweep;

/// <summary>One run of the plan: configuration <paramref name="Config"/> (an index into the caller's list), its run <paramref name="Round"/> of <paramref name="Rounds"/>.</summary>
internal sealed record PlannedRun(int Config, string Label, int Round, int Rounds);

/// <summary>What one run came to, for the progress display.</summary>
/// <param name="WallSeconds">Its wall time (null when it was skipped), for the time-left estimate.</param>
/// <param name="Ok">Whether it ran and matched the reference.</param>
/// <param name="Text">One line: its times, or why it failed.</param>
internal sealed record RunDone(double? WallSeconds, bool Ok, string Text);

internal static class RunPlan
{
    /// <summary>
    /// Runs alternate between configurations: round r runs every configuration once, starting at configuration
    /// r mod count, so slow drifts of the machine (other work, thermal state) spread over all configurations
    /// instead of landing on whichever ran last, and no configuration always runs right after the same other one.
    /// </summary>
    public static List<PlannedRun> Alternating(IReadOnlyList<string> labels, int runs)
    {
        var plan = new List<PlannedRun>();
        for (int r = 0; r < runs; r++)
            for (int k = 0; k < labels.Count; k++)
            {
                int c = (r + k) % labels.Count;
                plan.Add(new PlannedRun(c, labels[c], r + 1, runs));
            }
        return plan;
    }
}
