namespace Dqemu.Dsm;

/// <summary>
/// The check on <see cref="SharingPlanner"/>'s crowding moves: the stalled shares they rest on are estimates, so each
/// crowding is a trial. It records every thread it touches (the ones it moves and the ones already on the target
/// node, which now share their cores) with the node each ran on and their summed progress before; once the moved
/// threads have settled, the same threads' progress is compared, and if it fell the moved threads go back where they
/// were and none of the trial's threads is crowded again. Pure bookkeeping: the caller supplies the clock, the
/// progress figures (any rate that grows with useful work, e.g. blocks run per second) and does the moves. Not thread
/// safe.
/// </summary>
public sealed class CrowdingTrials
{
    private sealed record Trial(Dictionary<int, int> Home, double Before, long Started);

    private readonly List<Trial> _open = new();
    private readonly HashSet<int> _refused = new();
    private readonly long _settleMs, _giveUpMs;

    /// <param name="settleMs">How long after the start a trial waits before it is judged (the moved threads fetch
    /// their pages again meanwhile).</param>
    /// <param name="giveUpMs">A trial whose threads have not all reported a progress figure this long after its start
    /// (ended, or waiting) is dropped without a verdict.</param>
    public CrowdingTrials(long settleMs, long giveUpMs)
    {
        if (settleMs < 0 || giveUpMs < settleMs) throw new ArgumentOutOfRangeException(nameof(giveUpMs), "need 0 <= settle <= give-up");
        (_settleMs, _giveUpMs) = (settleMs, giveUpMs);
    }

    /// <summary>Trials started and not judged or dropped yet.</summary>
    public int Open => _open.Count;

    /// <summary>Trials whose crowding was undone.</summary>
    public long Undone { get; private set; }

    /// <summary>Whether <paramref name="tid"/> was in a crowding that did not pay: the planner must not crowd it
    /// again (its stalled share is taken as 0).</summary>
    public bool Refused(int tid) => _refused.Contains(tid);

    /// <summary>
    /// Starts a trial at <paramref name="now"/> (milliseconds) for the crowding <paramref name="moves"/> (all to one
    /// node) and <paramref name="alreadyThere"/> (the active threads on that node). <paramref name="rate"/> gives each
    /// thread's progress in the window the moves were planned in. Returns false, starting nothing, when a rate is
    /// unknown (NaN) or negative: without a baseline there is nothing to compare with, and the caller should not move.
    /// </summary>
    public bool Start(IReadOnlyList<ThreadMove> moves, IEnumerable<int> alreadyThere, Func<int, double> rate, long now)
    {
        if (moves.Count == 0 || moves.Any(m => m.To != moves[0].To))
            throw new ArgumentException("a trial covers crowding moves to one node", nameof(moves));
        var home = moves.ToDictionary(m => m.Tid, m => m.From);
        foreach (int tid in alreadyThere) home.TryAdd(tid, moves[0].To);
        double before = 0;
        foreach (int tid in home.Keys)
        {
            double r = rate(tid);
            if (!(r >= 0)) return false;
            before += r;
        }
        _open.Add(new Trial(home, before, now));
        return true;
    }

    /// <summary>
    /// Judges the trials that have settled and whose threads all have a progress figure in <paramref name="rate"/>
    /// (absent or NaN: not known this window). <paramref name="location"/> says where each thread runs now. Returns
    /// the moves that undo the failed ones: every thread of such a trial that is not on the node it ran on before goes
    /// back there.
    /// </summary>
    public IReadOnlyList<ThreadMove> Judge(IReadOnlyDictionary<int, double> rate, IReadOnlyDictionary<int, int> location, long now,
        Action<string>? log = null)
    {
        var undo = new List<ThreadMove>();
        for (int i = _open.Count - 1; i >= 0; i--)
        {
            var t = _open[i];
            if (now - t.Started < _settleMs) continue;
            if (!t.Home.Keys.All(tid => rate.TryGetValue(tid, out double r) && r >= 0))
            {
                if (now - t.Started >= _giveUpMs) _open.RemoveAt(i);
                continue;
            }
            _open.RemoveAt(i);
            double after = t.Home.Keys.Sum(tid => rate[tid]);
            log?.Invoke($"crowding of {string.Join(",", t.Home.Keys.Order())}: {t.Before:0} before, {after:0} after");
            if (after >= t.Before) continue;
            Undone++;
            foreach (var (tid, home) in t.Home.OrderBy(kv => kv.Key))
            {
                _refused.Add(tid);
                if (location.TryGetValue(tid, out int now_) && now_ != home) undo.Add(new ThreadMove(tid, now_, home));
            }
        }
        return undo;
    }
}
